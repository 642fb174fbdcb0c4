"""Step ``known``: a submission the journal says is already graded, byte for byte the
same original, is not run again (unless the run is forced): its result comes from the
journal and the gradebook (manual grades included)."""
from __future__ import annotations

import logging

from autograde import course
from autograde.records import Result, Stored
from autograde.status import Status


def run(stored: Stored, ctx) -> Stored | Result:
    sub = stored.sub
    entry = ctx.done.get((sub.student, sub.chapter.assignment))
    if entry and entry.get("sha256") == sub.sha256 and entry.get("done"):
        logging.getLogger("autograde").info("%s %s: already graded (journal), not run again", sub.student,
                                            sub.chapter.assignment)
        with ctx.gradebook as gb:
            return from_journal(ctx.course, sub.student, sub.chapter, entry, gb)
    return stored


def from_journal(c, student: str, ch: course.Chapter, entry: dict, gb) -> Result:
    """The result of a journal entry, with its scores as the gradebook has them now."""
    r = c.result(student, ch, gb)
    r.status, r.message = Status(entry["status"]), entry.get("message", "")
    r.seconds_late = entry.get("seconds_late", 0.0)
    r.diagnoses, r.verdicts = entry.get("diagnoses", []), entry.get("verdicts", {})
    r.lms_id, r.name = entry.get("lms_id", ""), entry.get("name", "")
    return r
