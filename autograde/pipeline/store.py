"""Step ``store``: hash the learner's original and copy it read-only into the course
(``autograde.intake.store``), before any learner code of the run starts."""
from __future__ import annotations

from autograde.intake import store
from autograde.records import Refused, Stored, Submission
from autograde.status import Status


def run(sub: Submission, ctx) -> Stored:
    try:
        return Stored(sub, store.store(sub, ctx.course.root))
    except OSError as exc:
        raise Refused(Status.UNREADABLE, f"the file cannot be read: {exc}") from None
