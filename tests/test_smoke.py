"""The fast tier's end-to-end check (`make check`): one chapter released by nbgrader,
graded through the instructor's command line in the sandbox, and what the instructor and
the learners get back. The full class of cases is in test_grading (slow)."""
from __future__ import annotations

import re

import nbformat
import pytest

from autograde import course
from autograde.authoring import synthetic
from autograde.authoring.assemble import PAGES
from helpers import cli, grade, leaks, page_text, secret_lines, summary_counts, write
from helpers import exercises as points

CH04 = next(c for c in course.chapters() if c.number == 4)
MISTAKE = "waa_transposed"


@pytest.fixture(scope="module")
def graded(tmp_path_factory, released):
    c, paths = released
    subs, out = tmp_path_factory.mktemp("submissions"), tmp_path_factory.mktemp("out")
    write(subs, "untouched", CH04, synthetic.submission(CH04, "untouched"))
    write(subs, "perfect", CH04, synthetic.submission(CH04, "reference"))
    exercise = synthetic.mistakes(CH04)[MISTAKE][0]
    write(subs, "one-mistake", CH04, synthetic.submission(CH04, {exercise: MISTAKE}))
    write(subs, "broken", CH04, text='{"cells": [')
    rows, proc = grade(c.root, subs, out)
    return rows, out, proc, exercise


def test_the_release_holds_the_pages_it_links_to(released):
    """Beside the chapter (equal to it as in git but for its links: test_roundtrip) the
    learner gets the glossary and the notation page, which its links now point at; every
    relative link of the release opens a file of the release, and nothing links out of
    the assignment folder."""
    _, paths = released
    folder = paths[CH04].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted([CH04.path.name, *PAGES])
    nb = nbformat.read(paths[CH04], as_version=4)
    texts = [c.source for c in nb.cells if c.cell_type == "markdown"] + [(folder / p).read_text() for p in PAGES]
    links = [u for t in texts for u in re.findall(r"\]\(([^)\s]+)\)", t) if not re.match(r"[a-z]+:", u)]
    assert any(u.startswith("glossary.md#term-") for u in links)
    for url in links:
        target = url.partition("#")[0]
        assert not target or ((folder / target).is_file() and (folder / target).resolve().parent == folder), url


def test_scores_and_statuses(graded):
    rows, _, _, exercise = graded
    total = sum(points(CH04).values())
    assert {k: (r["status"], float(r["score"])) for k, r in rows.items()} == {
        ("untouched", "ch04"): ("graded", 0.0),
        ("perfect", "ch04"): ("graded", total),
        ("one-mistake", "ch04"): ("graded", total - points(CH04)[exercise]),
        ("broken", "ch04"): ("unreadable", 0.0),
    }
    assert rows[("broken", "ch04")]["message"].startswith("the file is not valid notebook JSON")


def test_feedback_names_the_mistake_and_hides_the_checks(graded):
    rows, out, _, exercise = graded
    page = out / "feedback" / "one-mistake" / f"{CH04.notebook}.html"
    text = page_text(page.read_text())
    assert f"{exercise} 0 / {points(CH04)[exercise]:g}" in text
    assert "It looks like a_next uses Waa transposed" in text
    # an untouched notebook's feedback holds no reference line (the others hold the
    # learner's own code, which here is the reference edited)
    assert not leaks(out / "feedback" / "untouched", secret_lines())


def test_the_report_and_the_summary(graded):
    _, out, proc, _ = graded
    report = page_text((out / "report.html").read_text())
    assert "Waa transposed" in report  # the most frequent diagnosis, for the instructor
    counts = summary_counts(proc.stdout)
    assert counts["ch04"] == counts["all"] == {"graded": 3, "graded-with-warnings": 0, "timed-out": 0,
                                               "crashed": 0, "unreadable": 1}


def test_export_for_the_lms(graded, released, tmp_path):
    c, _ = released
    rows, _, _, exercise = graded
    cli("--course", c.root, "-q", "export", "--format", "canvas", "--out", tmp_path)
    lines = (tmp_path / "canvas.csv").read_text().splitlines()
    assert lines[0].startswith("Student,ID,SIS User ID,SIS Login ID,Section,ch01 ")
    assert "perfect,,perfect,,," in "\n".join(lines)
    proc = cli("--course", c.root, "export", "--format", "blackboard", check=False)
    assert proc.returncode == 2 and "invalid choice: 'blackboard'" in proc.stderr
