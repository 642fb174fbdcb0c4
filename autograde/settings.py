"""The options of a grading run, each declared once: its default, a one-line
description and, for those an instructor sets, its command-line flag. The command line
builds its options from these declarations (``add_arguments``, ``from_arguments``), the
run holds one frozen ``GradeSettings``, and workers get it as plain data
(``worker_settings``)."""
from __future__ import annotations

import argparse
import dataclasses

GIB = 2**30


def option(default, help: str, flag: str | None = None, scale: float = 1, **cli):
    """A declared option: ``flag`` (e.g. ``--cell-timeout``) puts it on the ``grade`` and
    ``serve`` command lines, in units of ``scale`` (GiB for memory; 0 on the command line
    means None)."""
    return dataclasses.field(default=default, metadata={"help": help, "flag": flag, "scale": scale, "cli": cli})


@dataclasses.dataclass(frozen=True)
class GradeSettings:
    workers: int = option(0, "parallel worker processes on this machine (0: one per core)", "--workers")
    scheduler: str | None = option(None, "address of a running dask scheduler (tcp://host:port) to grade on its "
                                         "workers instead", "--scheduler")
    cell_timeout: int = option(60, "seconds one cell, or one exercise's hidden check, may run", "--cell-timeout")
    notebook_timeout: int = option(600, "seconds one notebook may run in all", "--notebook-timeout")
    mem_limit: int | None = option(2 * GIB, "GiB of memory of each learner's sandbox (0: none)", "--mem-limit",
                                   scale=GIB)
    max_output_bytes: int = option(100_000, "bytes of output one cell may keep", "--max-output")
    force: bool = option(False, "grade again what the journal says is already graded", "--force")
    progress: bool = option(True, "print a progress bar")
    figures: bool = option(False, "render the notebooks' figures into the feedback (slower; no grade depends on "
                                  "them)", "--figures")

    # budgets: every step of one submission has a time and a memory bound (issue 15)
    prepare_seconds: float = option(10, "seconds the run plan of one notebook may take (past it, every cell runs)")
    save_seconds: float = option(30, "seconds cleaning one executed notebook for feedback may take")
    feedback_seconds: float = option(60, "seconds rendering one feedback page may take")
    step_memory: int = option(GIB, "bytes of address space of each process that runs a bounded step")
    interrupt_grace: float = option(10, "seconds a cell has to stop after its interrupt; then its sandbox is stopped")
    stand_in_memory: int = option(GIB, "bytes of address space of the process where the reference answers "
                                       "stand-in calls")
    worker_memory: int = option(4 * GIB, "bytes a grading worker process may use before its nanny restarts it")

    @classmethod
    def default(cls, name: str):
        """The declared default of option ``name``."""
        return cls.__dataclass_fields__[name].default

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, names: list[str]) -> None:
        """The command-line options of ``names``, from their declarations."""
        for name in names:
            f = cls.__dataclass_fields__[name]
            meta, default = f.metadata, f.default
            if isinstance(default, bool):
                parser.add_argument(meta["flag"], dest=name, action="store_true", help=meta["help"])
                continue
            if default is None and meta["scale"] == 1:  # a text option with no default
                parser.add_argument(meta["flag"], dest=name, default=None, help=meta["help"])
                continue
            shown = default if meta["scale"] == 1 else (default / meta["scale"] if default is not None else 0)
            kind = float if meta["scale"] != 1 else type(default)
            parser.add_argument(meta["flag"], dest=name, type=kind, default=shown,
                                help=f"{meta['help']} (default: {shown:g})")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace, **more) -> GradeSettings:
        """The settings the parsed command line gives (options it lacks keep their defaults)."""
        given = {}
        for name, f in cls.__dataclass_fields__.items():
            if not hasattr(args, name):
                continue
            value, scale = getattr(args, name), f.metadata["scale"]
            given[name] = (int(value * scale) if value else None) if scale != 1 else value
        return cls(**given, **more)

    def worker_settings(self, hidden: list[str], tmp_root: str) -> dict:
        """What every worker needs, as plain data; ``hidden``: folders no sandbox may see;
        ``tmp_root``: where a worker on this machine keeps its temporary files (removed
        with the run)."""
        return {"cell_timeout": self.cell_timeout, "notebook_timeout": self.notebook_timeout,
                "memory": self.mem_limit, "max_output_bytes": self.max_output_bytes, "figures": self.figures,
                "hidden": sorted(hidden), "tmp_root": tmp_root, "interrupt_grace": self.interrupt_grace,
                "stand_in_memory": self.stand_in_memory, "feedback_seconds": self.feedback_seconds,
                "step_memory": self.step_memory}
