"""What a step of the per-submission pipeline is (``autograde.pipeline.STEPS``)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from autograde.status import Status

COORDINATOR = "coordinator"
"""the step runs in the coordinator's process (it reads or writes the gradebook, the journal or the course)"""
WORKER = "worker"
"""the step runs on a dask worker: ``fn(record, worker_settings)``, records pickled both ways"""


@dataclasses.dataclass(frozen=True)
class Step:
    """One step: ``fn(record, context)`` on the coordinator, ``fn(record, worker_settings)``
    on a worker, returning the next record, or a ``Result`` that ends the walk as it is.

    When it fails, by raising ``Refused`` (its own status and message) or anything else,
    or (on a worker) by losing its worker: with ``recover``, ``recover(record, exc)`` is the
    next record; without, the submission fails closed: status ``fails_as``, the message
    ``says`` (formatted with ``exc`` and ``kind``, the exception's type), every grade 0."""

    name: str
    fn: Callable
    on: str = COORDINATOR
    fails_as: Status = Status.CRASHED
    says: str = "grading stopped at {name} ({kind}: {exc}); it scored 0"
    recover: Callable | None = None
    up_front: bool = False
    """run for every submission of a batch before any submission goes further (so every
    original is hashed and stored before any learner code runs)"""

    def failure(self, exc: BaseException) -> str:
        return self.says.format(name=self.name, kind=type(exc).__name__, exc=exc)[:300]
