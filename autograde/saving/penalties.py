"""The late rules applied to the gradebook: every submission in the journal gets the
penalty ``autograde.policies`` gives it, in nbgrader's own ``late_submission_penalty``
field, from the submission time intake recorded and the scores the gradebook holds now
(manual grades included). No notebook runs again. What was applied last is kept in
``<course>/autograde-late.json``, so a change of the rules says whose final score moved."""
from __future__ import annotations

import datetime
import json
import logging
import pathlib

from autograde import course, policies

log = logging.getLogger("autograde")
STATE = "autograde-late.json"


def _stamp(value) -> datetime.datetime | None:
    if not value:
        return None
    if isinstance(value, datetime.datetime):
        return value
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(value)
    except Exception:  # noqa: BLE001 - an unreadable time is no time
        return None


def _entries(c, journal) -> tuple[list[policies.Entry], dict]:
    """The late rules' view of every submission in the journal, and its notebook rows."""
    entries, rows = [], {}
    with c.gradebook() as gb:
        for (student, assignment), entry in sorted(journal.entries().items()):
            try:
                ch = course.by_assignment(assignment)
                sub = gb.find_submission(assignment, student)
                nb = gb.find_submission_notebook(ch.notebook, assignment, student)
            except Exception:  # noqa: BLE001 - a chapter or submission since removed
                continue
            stamp = _stamp(entry.get("timestamp")) or sub.timestamp
            entries.append(policies.Entry(student, assignment, ch.number, float(nb.score), stamp,
                                          sub.assignment.duedate))
            rows[(student, assignment)] = nb.id
    return entries, rows


def apply(c, journal) -> tuple[list[policies.Late], list[policies.Change]]:
    """Apply ``<course>/policies.toml`` to every submission in the journal; the penalties,
    and the final scores that moved since the last application (PolicyError: the file
    cannot be used, and nothing was changed)."""
    p = policies.load(c.root, [ch.assignment for ch in course.chapters()])
    entries, rows = _entries(c, journal)
    lates = policies.late(p, entries)
    from nbgrader.api import SubmittedNotebook

    with c.gradebook() as gb:
        for a in lates:
            nb = gb.db.get(SubmittedNotebook, rows[(a.student, a.assignment)])
            nb.late_submission_penalty = a.penalty
        gb.db.commit()
    state = pathlib.Path(c.root) / STATE
    before = {}
    if state.exists():
        try:
            before = {(r["student"], r["assignment"]): r for r in json.loads(state.read_text())}
        except (ValueError, KeyError, TypeError):
            log.warning("%s cannot be read; no change of the late rules is reported this time", state)
    moved = policies.changes(before, lates)
    state.write_text(json.dumps([{"student": s, "assignment": a, **v}
                                 for (s, a), v in sorted(policies.applied(lates).items())], indent=1))
    return lates, moved
