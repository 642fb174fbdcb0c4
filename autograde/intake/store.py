"""Keep each original: hashed, and copied read-only into the course directory, before
any learner code runs. What is graded is that copy; the original is never written to."""
from __future__ import annotations

import hashlib
import os
import pathlib
import stat

from autograde import course
from autograde.records import Intake, IntakeRow, Outcome, Submission


def store(sub: Submission, course_root: pathlib.Path) -> bytes:
    """Copy ``sub``'s file to ``<course>/submitted/<student>/<chNN>/<notebook>.ipynb``
    (mode 0444), set its hash and copy path, and return its bytes. The student id must be
    one path component (``collect.student_id`` makes it so); anything else is refused
    (OSError), never written elsewhere."""
    if sub.student in ("", ".", "..") or "/" in sub.student or "\0" in sub.student:
        raise OSError(f"the student id {sub.student!r} is not a folder name")
    raw = sub.path.read_bytes()
    sub.sha256 = hashlib.sha256(raw).hexdigest()
    dest = course_root / "submitted" / sub.student / sub.chapter.assignment / sub.chapter.path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    for old in dest.parent.iterdir():  # a previous intake of this student's chapter
        old.chmod(stat.S_IWUSR | stat.S_IRUSR)
        old.unlink()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    sub.copy = dest
    return raw


def stored(course_root: pathlib.Path, assignments, entries: dict) -> Intake:
    """The originals stored at intake for ``assignments`` (chNN), as submissions to grade
    again; ``entries``: the journal's, for each learner's name, LMS id and submission time."""
    subs, rows = [], []
    for assignment in assignments:
        ch = course.by_assignment(assignment)
        for path in sorted((pathlib.Path(course_root) / "submitted").glob(f"*/{assignment}/{ch.path.name}")):
            student = path.parent.parent.name
            entry = entries.get((student, assignment), {})
            source = f"submitted/{student}/{assignment}/{ch.path.name}"
            subs.append(Submission(student, ch, path, timestamp=entry.get("timestamp"), lms_id=entry.get("lms_id", ""),
                                   name=entry.get("name", "") or student, source=source))
            rows.append(IntakeRow(source, Outcome.GRADED, student=student, name=entry.get("name", ""),
                                  chapter=assignment))
    return Intake(subs, [], rows)
