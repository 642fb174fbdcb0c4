"""Helpers shared by the tests that grade through the instructor's command line."""
from __future__ import annotations

import csv
import html
import pathlib
import re
import subprocess
import sys

import nbformat


def cli(*args, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``python -m autograde ARGS`` in a subprocess, as an instructor runs it."""
    proc = subprocess.run([sys.executable, "-m", "autograde", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def rows_of(out) -> dict[tuple[str, str], dict]:
    """grades.csv as {(student_id, chapter): row}."""
    with open(pathlib.Path(out) / "grades.csv", newline="") as f:
        return {(r["student_id"], r["chapter"]): r for r in csv.DictReader(f)}


def grade(course_dir, submissions, out, *extra, check: bool = True):
    """Grade ``submissions`` quietly; (rows of grades.csv, the finished process)."""
    proc = cli("--course", course_dir, "-q", "grade", submissions, "--out", out, *extra, check=check)
    return (rows_of(out) if (pathlib.Path(out) / "grades.csv").exists() else {}), proc


def write(folder, student: str, chapter, nb=None, name: str | None = None, text=None) -> pathlib.Path:
    """Put a submission at ``folder/student/<notebook>.ipynb`` (or ``name``)."""
    path = pathlib.Path(folder) / student / (name or chapter.path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    else:
        nbformat.write(nb, path)
    return path


def page_text(page: str) -> str:
    """What a reader sees of an HTML page: tags removed, entities decoded, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def exercises(chapter) -> dict[str, float]:
    """Exercise name -> points, from the chapter's grade cells."""
    nb = nbformat.read(chapter.path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"].removeprefix("test_"): float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
