"""The instructor's round trip, end to end through nbgrader: generated submissions are
graded with `python -m autograde grade`, and grades.csv and the feedback say the right
thing."""
from __future__ import annotations

import json
import pathlib
import zipfile

import pytest

from autograde import course
from autograde.authoring import synthetic
from autograde.authoring.assemble import release_links
from autograde.boundary.trusted import loopback
from autograde.checks import CheckFailed
from helpers import exercises as points
from helpers import grade, page_text, write

pytestmark = pytest.mark.slow  # kernels for many notebooks: `make test` only

CHAPTERS = course.chapters()
CH04 = next(c for c in CHAPTERS if c.number == 4)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, released):
    c, _ = released
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("out")
    for ch in CHAPTERS:
        write(subs, "untouched", ch, synthetic.submission(ch, "untouched"))
        write(subs, "perfect", ch, synthetic.submission(ch, "reference"))
        for mistake, (exercise, _, _) in synthetic.mistakes(ch).items():
            write(subs, f"{ch.assignment}-{mistake}", ch, synthetic.submission(ch, {exercise: mistake}))
    # a correct answer that prints a harmless warning on stderr
    nb = synthetic.submission(CH04, "reference")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax":
            cell.source = cell.source.replace("    e = np.exp(", "    import warnings\n    warnings.warn('harmless', RuntimeWarning)\n    e = np.exp(", 1)
    write(subs, "warns", CH04, nb)
    # a correct answer whose learner deleted a test cell
    nb = synthetic.submission(CH04, "reference")
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_rnn_forward"]
    write(subs, "deleted-test", CH04, nb)
    # files that are not notebooks
    (subs / "broken").mkdir()
    (subs / "broken" / CH04.path.name).write_text('{"cells": [')
    (subs / "empty").mkdir()
    (subs / "empty" / CH04.path.name).write_text("")
    (subs / "stray").mkdir()
    (subs / "stray" / "my_homework.ipynb").write_text("{}")
    rows, proc = grade(c.root, subs, out)
    return rows, out, proc


def test_untouched_scores_zero_and_reference_full_marks(graded):
    rows, _, _ = graded
    for ch in CHAPTERS:
        untouched, perfect = rows[("untouched", ch.assignment)], rows[("perfect", ch.assignment)]
        total = sum(points(ch).values())
        assert untouched["status"] == "graded" and float(untouched["score"]) == 0
        assert float(untouched["max_score"]) == total
        assert perfect["status"] == "graded" and float(perfect["score"]) == total, perfect
        for name, pts in points(ch).items():
            assert float(perfect[f"{ch.assignment}:{name}"]) == pts
            assert float(untouched[f"{ch.assignment}:{name}"]) == 0


CASES = [(ch, m) for ch in CHAPTERS for m in synthetic.mistakes(ch)]


@pytest.mark.parametrize("chapter,mistake", CASES, ids=[f"{c.assignment}-{m}" for c, m in CASES])
def test_each_mistake_loses_only_its_exercise(graded, chapter, mistake):
    rows, out, _ = graded
    row = rows[(f"{chapter.assignment}-{mistake}", chapter.assignment)]
    wrong = synthetic.mistakes(chapter)[mistake][0]
    for name, pts in points(chapter).items():
        expected = 0.0 if name == wrong else pts
        assert float(row[f"{chapter.assignment}:{name}"]) == expected, (name, row)
    assert float(row["score"]) == sum(points(chapter).values()) - points(chapter)[wrong]
    # the learner is told what it looks like, in the feedback: the diagnosis the hidden
    # check gives this mistake when run on its own (through the boundary, without a sandbox)
    own = _diagnosis(chapter, wrong, synthetic.submission(chapter, {wrong: mistake}))
    text = page_text((out / "feedback" / row["student_id"] / f"{chapter.notebook}.html").read_text())
    assert own in text, (own, text[:2000])
    assert f"{wrong} 0 / {points(chapter)[wrong]:g}" in text


def _diagnosis(chapter, exercise, nb) -> str:
    import importlib

    ns = {"__name__": "__submission__"}
    exec("import numpy as np", ns)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            exec(compile(cell.source, "<solution cell>", "exec"), ns)
    check = getattr(importlib.import_module(chapter.checks_module), f"check_{exercise}")
    with pytest.raises(CheckFailed) as err, loopback(ns) as window:
        check(window.learner(exercise))
    return err.value.diagnosis or str(err.value)


def test_feedback_never_shows_hidden_code_or_reference(graded):
    rows, out, _ = graded
    files = sorted((out / "feedback").glob("*/*.html"))
    assert len(files) >= len([r for r in rows.values() if r["status"] == "graded"])
    for f in files:
        text = f.read_text()
        for needle in ("BEGIN HIDDEN", "autograde.checks", "run_hidden_check", "from solutions", "BEGIN SOLUTION"):
            assert needle not in text, (f, needle)


def test_feedback_lists_every_exercise_with_points_and_diagnosis(graded):
    _, out, _ = graded
    total = sum(points(CH04).values())
    text = page_text((out / "feedback" / "perfect" / f"{CH04.notebook}.html").read_text())
    assert f"Your results: {total:g} / {total:g}" in text
    for name, pts in points(CH04).items():
        assert f"{name} {pts:g} / {pts:g} passed" in text
    text = page_text((out / "feedback" / "ch04-waa_transposed" / f"{CH04.notebook}.html").read_text())
    assert ("rnn_cell_forward 0 / 3 a_next (activation='tanh') is wrong. "
            "It looks like a_next uses Waa transposed") in text


def test_warning_on_stderr_does_not_zero_a_correct_answer(graded):
    rows, _, _ = graded
    assert float(rows[("warns", "ch04")]["score"]) == sum(points(CH04).values())


def test_deleted_test_cell_is_restored_and_graded(graded):
    rows, _, _ = graded
    row = rows[("deleted-test", "ch04")]
    assert float(row["ch04:rnn_forward"]) == points(CH04)["rnn_forward"]
    assert float(row["max_score"]) == sum(points(CH04).values())


def test_unreadable_files_are_reported_and_do_not_stop_grading(graded):
    rows, _, proc = graded
    assert rows[("broken", "ch04")]["status"] == "unreadable"
    assert "not valid notebook JSON" in rows[("broken", "ch04")]["message"]
    assert rows[("empty", "ch04")]["status"] == "unreadable"
    assert "empty" in rows[("empty", "ch04")]["message"]
    assert float(rows[("broken", "ch04")]["max_score"]) == sum(points(CH04).values())
    assert rows[("stray", "")]["status"] == "unreadable"  # a folder with no notebook of the course
    assert "my_homework.ipynb" in rows[("stray", "")]["message"]
    assert ("perfect", "ch04") in rows  # everyone else graded


def test_lms_zip_and_regrading_is_repeatable(released, tmp_path):
    c, _ = released
    zpath = tmp_path / "submissions.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        # Canvas-style flat names, one of them a re-submission ("-1")
        zf.writestr(f"doejane_1234_5678_{CH04.path.name}", json.dumps(synthetic.submission(CH04, "reference")))
        zf.writestr(f"roejim_LATE_2345_6789_{CH04.notebook}-1.ipynb",
                    json.dumps(synthetic.submission(CH04, {"rnn_forward": "loop_not_from_a0"})))
        # and a folder per student
        zf.writestr(f"moodle/smithann/{CH04.path.name}", json.dumps(synthetic.submission(CH04, "untouched")))
    rows, _ = grade(c.root, zpath, tmp_path / "out1")
    total = sum(points(CH04).values())
    # a Canvas learner is their Canvas user id
    assert float(rows[("1234", "ch04")]["score"]) == total and rows[("1234", "ch04")]["name"] == "doejane"
    assert float(rows[("2345", "ch04")]["score"]) == total - points(CH04)["rnn_forward"]
    # the same submission graded again gives the same score
    rows2, _ = grade(c.root, zpath, tmp_path / "out2")
    assert {k: r["score"] for k, r in rows2.items()} == {k: r["score"] for k, r in rows.items()}


def test_release_equals_chapters(released):
    _, paths = released
    for ch, path in paths.items():
        assert path.read_text() == release_links(ch.path.read_text())


def test_plain_nbgrader_autograde_refuses_in_the_course(released, tmp_path):
    """`nbgrader autograde` in the course directory would run the hidden checks in the
    learner's kernel: it stops at once with one line pointing to `python -m autograde grade`,
    grades nothing, and the formgrader's button meets the same refusal."""
    import shutil
    import subprocess
    import sys
    import time

    import nbformat
    from traitlets.config import Config

    from autograde.nbgrader_glue.config import apply
    from autograde.nbgrader_glue.coursedir import Course
    from autograde.nbgrader_glue.refuse import RefuseAutograde

    c, _ = released
    course_dir = tmp_path / "course"
    shutil.copytree(c.root, course_dir, ignore=shutil.ignore_patterns("submitted", "autograded", "feedback", "*.jsonl"))
    Course(course_dir)
    path = course_dir / "submitted" / "right" / "ch04" / CH04.path.name
    path.parent.mkdir(parents=True)
    nbformat.write(synthetic.submission(CH04, "reference"), path)
    started = time.monotonic()
    proc = subprocess.run([str(pathlib.Path(sys.executable).parent / "nbgrader"), "autograde", "ch04", "--force"],
                          cwd=course_dir, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and time.monotonic() - started < 60
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "python -m autograde grade" in lines[0], proc.stderr[-2000:]
    assert not (course_dir / "autograded").exists()
    config = Config()  # what the formgrader's button runs (in its own process, no command line)
    apply(config, str(course_dir / "nbgrader_config.py"))
    assert config.Autograde.sanitize_preprocessors == [RefuseAutograde]


def test_plain_nbgrader_still_grades_the_course(released, tmp_path):
    """The nbgrader source's hidden regions run the same checks inside the kernel, for a
    plain `nbgrader autograde` of the benchmark's baseline (the one course directory where
    it is allowed)."""
    import shutil
    import subprocess
    import sys

    import nbformat

    from autograde.nbgrader_glue.coursedir import Course

    c, _ = released
    course_dir = tmp_path / "course"
    shutil.copytree(c.root, course_dir, ignore=shutil.ignore_patterns("submitted", "autograded", "feedback", "*.jsonl"))
    Course(course_dir)  # its config points at its own folder
    cfg = course_dir / "nbgrader_config.py"  # the benchmark's baseline: allowed in this copy only
    cfg.write_text(cfg.read_text().replace("__file__", "__file__, in_kernel_baseline=True", 1))
    for student, answers in [("right", "reference"), ("wrong", {"rnn_forward": "loop_not_from_a0"})]:
        path = course_dir / "submitted" / student / "ch04" / CH04.path.name
        path.parent.mkdir(parents=True)
        nbformat.write(synthetic.submission(CH04, answers), path)
    proc = subprocess.run([str(pathlib.Path(sys.executable).parent / "nbgrader"), "autograde", "ch04", "--force",
                           "--log-level=ERROR"], cwd=course_dir, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with Course(course_dir).gradebook() as gb:
        scores = {s: {g.name: g.score for g in gb.find_submission_notebook(CH04.notebook, "ch04", s).grades}
                  for s in ("right", "wrong")}
    assert scores["right"] == {f"test_{k}": v for k, v in points(CH04).items()}
    assert scores["wrong"] == dict(scores["right"], test_rnn_forward=0.0)
