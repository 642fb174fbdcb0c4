"""grades.csv: one row per student and notebook, from the gradebook's scores and the
journal's statuses, and the feedback pages copied beside it."""
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


def _fmt(v) -> str:
    if v == "" or v is None:
        return ""
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.2f}"


def write_grades(results, out: pathlib.Path, feedback_file) -> pathlib.Path:
    """Write ``out/grades.csv`` and copy each feedback page (``feedback_file(student,
    chapter)``) to ``out/feedback/<student>/<notebook>.html``."""
    out.mkdir(parents=True, exist_ok=True)
    columns = [f"{ch.assignment}:{name}" for ch in course.chapters() for name in exercise_points(ch)]
    csv_path = out / "grades.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "chapter", "notebook", "status", "score", "max_score", "seconds_late",
                    *columns, "message"])
        for r in sorted(results, key=lambda r: (r.student, r.chapter.number if r.chapter else 0)):
            if r.chapter is None:
                w.writerow([r.student, "", "", str(r.status), "", "", "", *[""] * len(columns), r.message])
                continue
            max_score = r.max_score or sum(exercise_points(r.chapter).values())
            cells = [r.exercises.get(c.split(":", 1)[1], "") if c.startswith(r.chapter.assignment + ":") else ""
                     for c in columns]
            w.writerow([r.student, r.chapter.assignment, r.chapter.notebook, str(r.status), _fmt(r.score),
                        _fmt(max_score), _fmt(r.seconds_late), *[_fmt(v) for v in cells], r.message])
            page = feedback_file(r.student, r.chapter)
            if page.exists():
                dest = out / "feedback" / r.student / page.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(page, dest)
    return csv_path
