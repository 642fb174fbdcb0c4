"""The options of a grading run, declared once (the command line fills them in)."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class GradeSettings:
    workers: int = 0
    """parallel worker processes on this machine (0: one per core)"""
    scheduler: str | None = None
    """address of a running dask scheduler (tcp://host:port) to grade on its workers instead"""
    cell_timeout: int = 60
    """seconds one cell, or one exercise's hidden check, may run"""
    notebook_timeout: int = 600
    """seconds one notebook may run in all"""
    mem_limit: int | None = 2 * 2**30
    """bytes of address space per learner's kernel (None: no limit)"""
    max_output_bytes: int = 100_000
    """bytes of output one cell may keep"""
    force: bool = False
    """grade again what the journal says is already graded"""
    progress: bool = True
    """print a progress bar"""
    figures: bool = False
    """rasterize figures into the feedback (and run the figure cells that grading can skip)"""

    # budgets: every step of one submission has a time and a memory bound (issue 15)
    prepare_seconds: float = 10
    """seconds the run plan of one notebook may take (past it, every cell runs: no skipping)"""
    save_seconds: float = 30
    """seconds cleaning one executed notebook for feedback may take (sanitising its HTML)"""
    feedback_seconds: float = 60
    """seconds rendering one feedback page may take"""
    step_memory: int = 2**30
    """bytes of address space of each process that runs a bounded step (plan, clean, render)"""
    interrupt_grace: float = 10
    """seconds a cell has to stop after its interrupt; then its sandbox is stopped"""
    stand_in_memory: int = 2**30
    """bytes of address space of the process where the reference answers stand-in calls"""
    worker_memory: int = 4 * 2**30
    """bytes a grading worker process may use before its nanny restarts it (LocalCluster)"""

    def worker_settings(self, hidden: list[str], tmp_root: str) -> dict:
        """What every worker needs, as plain data; ``hidden``: folders no sandbox may see;
        ``tmp_root``: where a worker on this machine keeps its temporary files (removed
        with the run)."""
        return {"cell_timeout": self.cell_timeout, "notebook_timeout": self.notebook_timeout,
                "memory": self.mem_limit, "max_output_bytes": self.max_output_bytes, "figures": self.figures,
                "hidden": sorted(hidden), "tmp_root": tmp_root, "interrupt_grace": self.interrupt_grace,
                "stand_in_memory": self.stand_in_memory, "feedback_seconds": self.feedback_seconds,
                "step_memory": self.step_memory}
