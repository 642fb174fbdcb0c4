"""Step ``prepare``: read the stored original (outputs dropped, then the size rules),
register the learner's submission in the gradebook, let nbgrader's sanitize
preprocessors put back every locked and test cell (``autograde.nbgrader_glue.sanitize``),
and cut the hidden test regions out."""
from __future__ import annotations

import logging

from autograde.intake import validate
from autograde.nbgrader_glue import sanitize
from autograde.records import Prepared, Refused, Stored
from autograde.status import Status

log = logging.getLogger("autograde")


def run(stored: Stored, ctx) -> Prepared:
    sub, ch = stored.sub, stored.sub.chapter
    try:
        nb = validate.read(stored.raw)
    except validate.Unreadable as exc:
        raise Refused(Status.UNREADABLE, str(exc)) from None
    try:
        with ctx.gradebook as gb:
            gb.update_or_create_student(sub.student)
            stamp = utc(sub.timestamp)
            gb.update_or_create_submission(ch.assignment, sub.student, **({"timestamp": stamp} if stamp else {}))
        resources = {"nbgrader": {"notebook": ch.notebook, "assignment": ch.assignment, "student": sub.student,
                                  "db_url": ctx.db_url}, "metadata": {"path": str(sub.copy.parent)}}
        nb, warnings = sanitize.sanitize(nb, resources, ctx.config, ctx.release_of(ch))
        sanitize.strip_hidden_tests(nb)
    except Exception as exc:  # noqa: BLE001 - nbgrader refuses the notebook's structure
        raise Refused(Status.UNREADABLE,
                      f"the notebook's structure cannot be graded ({type(exc).__name__}: {exc})") from None
    return Prepared(sub, nb, resources, (*sub.warnings, *warnings))


def utc(stamp: str | None):
    """A submission time as nbgrader stores it (None: none, or unreadable)."""
    if not stamp:
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(stamp)
    except Exception:  # noqa: BLE001 - an unreadable time is no time
        log.warning("cannot read the submission time %r; it is ignored", stamp)
        return None
