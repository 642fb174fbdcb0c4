"""grades.csv: one row per student and notebook, from the gradebook's scores and the
journal's statuses, and the feedback pages copied beside it; intake.csv: every file of
the submissions and what intake did with it; and the gradebook-import files of two LMSs,
one row per student and one column per chapter:

- Canvas (Grades > Import): ``Student, ID, SIS User ID, SIS Login ID, Section``, then the
  assignments, with a ``Points Possible`` row under the header, as Canvas's own gradebook
  export writes it. Canvas finds each student by ``ID`` (its user id, which its
  submissions zip puts in every file name) or else ``SIS User ID`` (here: the folder
  name as given, when the submissions came as folders); a chapter's column creates the
  assignment, or updates the one of that name. A blank cell changes nothing.
- Moodle (Grades > Import > CSV file): the columns of Moodle's own plain-text grade
  export, ``First name, Last name, ID number, Institution, Department, Email address``,
  then the grade items (without the optional ``Last downloaded from this course``, which
  would make Moodle refuse grades edited there since); on import, map ``ID number``
  (the folder name as given, or the LMS's user id) to the user's ID number, or ``Email
  address`` when those are e-mail addresses, and each chapter's column to a grade item.

Every row carries its own learner's id: rows are keyed by the student id (and the LMS's
id), never by a display name, so two learners of one name stay two rows.
"""
from __future__ import annotations

import csv
import functools
import pathlib
import shutil

import nbformat
from nbgrader import utils

from autograde import course


@functools.cache
def exercise_points(chapter: course.Chapter) -> dict[str, float]:
    """Exercise name -> points, from the chapter's grade cells."""
    nb = nbformat.read(chapter.path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"].removeprefix("test_"): float(c.metadata["nbgrader"].get("points", 0))
            for c in nb.cells if utils.is_grade(c)}


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _text(v) -> str:
    """A free-text cell (a name, a message, a file name) that a spreadsheet must not run:
    one starting like a formula gets a leading apostrophe (OWASP's CSV-injection advice).
    Ids are never changed, so that an LMS import matches them."""
    v = "" if v is None else str(v)
    return "'" + v if v.startswith(_FORMULA) else v


def _fmt(v) -> str:
    if v == "" or v is None:
        return ""
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.2f}"


def write_grades(results, out: pathlib.Path, feedback_file) -> pathlib.Path:
    """Write ``out/grades.csv`` and copy each feedback page (``feedback_file(student,
    chapter)``) to ``out/feedback/<student>/<notebook>.html``. ``student_id`` is the id
    (``autograde.intake.collect.student_id``: the Canvas user id, or the folder name as given
    where it is a safe folder name), ``name`` the learner as the input names them."""
    out.mkdir(parents=True, exist_ok=True)
    columns = [f"{ch.assignment}:{name}" for ch in course.chapters() for name in exercise_points(ch)]
    csv_path = out / "grades.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "name", "chapter", "notebook", "status", "score", "max_score", "seconds_late",
                    "late_penalty", "final_score", *columns, "message", "late"])
        for r in sorted(results, key=lambda r: (r.student, r.chapter.number if r.chapter else 0)):
            if r.chapter is None:
                w.writerow([r.student, _text(r.name or r.student), "", "", str(r.status), "", "", "", "", "",
                            *[""] * len(columns), _text(r.message), ""])
                continue
            max_score = r.max_score or sum(exercise_points(r.chapter).values())
            cells = [r.exercises.get(c.split(":", 1)[1], "") if c.startswith(r.chapter.assignment + ":") else ""
                     for c in columns]
            w.writerow([r.student, _text(r.name or r.student), r.chapter.assignment, r.chapter.notebook, str(r.status),
                        _fmt(r.score),
                        _fmt(max_score), _fmt(r.seconds_late), _fmt(r.penalty), _fmt(r.final),
                        *[_fmt(v) for v in cells], _text(r.message), _text(r.late)])
            page = feedback_file(r.student, r.chapter)
            if page.exists():
                dest = out / "feedback" / r.student / page.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(page, dest)
    return csv_path


CANVAS_ID_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_ID_COLUMNS = ["First name", "Last name", "ID number", "Institution", "Department", "Email address"]


def chapter_column(chapter: course.Chapter) -> str:
    """The LMS assignment (grade item) of a chapter: ``ch04 rnn_forward``."""
    return f"{chapter.assignment} {chapter.notebook}"


INTAKE_COLUMNS = ["file", "student_id", "name", "chapter", "outcome", "reason", "graded_instead"]


def write_intake(rows, out: pathlib.Path) -> pathlib.Path:
    """Write ``out/intake.csv``: every file of the submissions (``IntakeRow``), graded,
    superseded (by which file, and why) or ignored (and why)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "intake.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(INTAKE_COLUMNS)
        for r in rows:
            w.writerow([_text(r.file), r.student, _text(r.name), r.chapter, str(r.outcome), _text(r.reason),
                        _text(r.instead)])
    return path


def _by_student(results) -> list[dict]:
    """One row per learner with a chapter graded: {"student", "name", "lms_id", assignment:
    score}, keyed by the student id and the LMS's id (a name is never a key)."""
    rows: dict[tuple[str, str], dict] = {}
    for r in results:
        if r.chapter is None:
            continue
        row = rows.setdefault((r.student, r.lms_id), {"student": r.student, "lms_id": r.lms_id,
                                                      "name": r.name or r.student})
        row[r.chapter.assignment] = _fmt(r.final)  # after the late rules' penalty
    return [rows[k] for k in sorted(rows)]


def write_lms(results, out: pathlib.Path, lms: str) -> pathlib.Path:
    """Write ``out/canvas.csv`` or ``out/moodle.csv``: the LMS's gradebook-import file."""
    out.mkdir(parents=True, exist_ok=True)
    chapters = course.chapters()
    items = [chapter_column(ch) for ch in chapters]
    rows = _by_student(results)
    path = out / f"{lms}.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if lms == "canvas":
            w.writerow([*CANVAS_ID_COLUMNS, *items])
            w.writerow(["    Points Possible", "", "", "", "",
                        *[_fmt(sum(exercise_points(ch).values())) for ch in chapters]])
            for row in rows:
                # the Canvas user id when the zip gave it, else the folder name as the SIS user id
                w.writerow([row["name"], row["lms_id"], "" if row["lms_id"] else row["name"], "", "",
                            *[row.get(ch.assignment, "") for ch in chapters]])
        elif lms == "moodle":
            w.writerow([*MOODLE_ID_COLUMNS, *items])
            for row in rows:
                given = row["student"] if row["lms_id"] else row["name"]  # the LMS's id, or the folder as given
                email = given if "@" in given else ""
                w.writerow(["", "", given, "", "", email, *[row.get(ch.assignment, "") for ch in chapters]])
        else:
            raise ValueError(f"unknown LMS {lms!r}: canvas or moodle")
    return path


REGRADE_COLUMNS = ["student_id", "chapter", "exercise", "old", "new", "before", "after"]


def write_regrade(rows, out: pathlib.Path) -> pathlib.Path:
    """Write ``out/regrade.csv``: every exercise score a regrade moved, old and new, and what
    its hidden check said before and after."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "regrade.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(REGRADE_COLUMNS)
        for r in rows:
            w.writerow([r["student"], r["chapter"], r["exercise"], _fmt(r["old"]), _fmt(r["new"]),
                        _text(r["before"]), _text(r["after"])])
    return path
