"""What the coordinator-side steps of one run share: the course, the settings, one
gradebook connection, the journal, a bounded process for heavy steps of its own, and
the released notebooks (read once)."""
from __future__ import annotations

import contextlib
import dataclasses

import nbformat

from autograde import course
from autograde.execution.budget import BoundedPool, stop_forkserver
from autograde.nbgrader_glue.coursedir import Course
from autograde.saving import gradebook
from autograde.saving.journal import Journal
from autograde.settings import GradeSettings


@dataclasses.dataclass
class Context:
    course: Course
    settings: GradeSettings
    journal: Journal
    gradebook: gradebook.SharedGradebook
    """one connection for every step of the run (nbgrader's own code uses it too: ``patch``)"""
    bounded: BoundedPool
    """a long-lived process for the coordinator's one heavy step (the run plan), under a budget"""
    worker: dict
    """what every worker step gets (``GradeSettings.worker_settings``: plain data)"""
    done: dict = dataclasses.field(default_factory=dict)
    """the journal's entries as the run started (empty with ``force``): what is already graded"""
    config: object = None
    released: dict = dataclasses.field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.course.gradebook_url

    def release_of(self, ch: course.Chapter):
        """The chapter's released notebook (read once per run)."""
        if ch.assignment not in self.released:
            self.released[ch.assignment] = nbformat.read(self.course.released_path(ch), as_version=4)
        return self.released[ch.assignment]

    def released_markdown(self, ch: course.Chapter) -> frozenset:
        return frozenset(c.source for c in self.release_of(ch).cells if c.cell_type == "markdown")


@contextlib.contextmanager
def opened(c: Course, settings: GradeSettings, journal: Journal, hidden: list[str], tmp_root: str):
    """A run's context, its gradebook connection and bounded process closed at its end.
    ``hidden``: folders no sandbox may see; ``tmp_root``: the run's folder."""
    bounded = BoundedPool(1, settings.step_memory, preload=("autograde.execution.plan",))
    bounded.submit(int, seconds=60)  # its process starts while the first submissions are read
    shared = gradebook.SharedGradebook(c.gradebook_url)
    shared.patch()
    ctx = Context(c, settings, journal, shared, bounded, settings.worker_settings(hidden, tmp_root),
                  done={} if settings.force else journal.entries(), config=c.config())
    try:
        yield ctx
    finally:
        with contextlib.suppress(Exception):
            bounded.close()
            stop_forkserver()
        shared.close()
