"""The instructor's round trip, end to end through nbgrader: generated submissions are
graded with `python -m autograde grade`, and grades.csv and the feedback say the right
thing, for every chapter and every classic mistake. Bad input (unreadable files, deleted
or edited test cells), regrading and lateness from a timestamps file are in
test_robustness; the release equals the chapter in test_roundtrip."""
from __future__ import annotations

import json
import pathlib
import zipfile

import pytest

from autograde import course
from autograde.authoring import synthetic
from autograde.boundary.trusted import loopback
from autograde.checks import CheckFailed, run
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
    # the share of its exercise's points the mistake keeps (partial credit; KEEPS, else 0)
    import importlib

    kept = getattr(importlib.import_module(chapter.checks_module), "KEEPS", {}).get(mistake, 0.0)
    for name, pts in points(chapter).items():
        expected = kept * pts if name == wrong else pts
        assert float(row[f"{chapter.assignment}:{name}"]) == pytest.approx(expected, abs=0.01), (name, row)
    assert float(row["score"]) == pytest.approx(sum(points(chapter).values()) - (1 - kept) * points(chapter)[wrong],
                                                abs=0.01)
    # the learner is told what it looks like, in the feedback: the diagnosis the hidden
    # check gives this mistake when run on its own (through the boundary, without a sandbox)
    own = _diagnosis(chapter, wrong, synthetic.submission(chapter, {wrong: mistake}))
    text = page_text((out / "feedback" / row["student_id"] / f"{chapter.notebook}.html").read_text())
    assert own in text, (own, text[:2000])
    assert f"{wrong} {round(kept * points(chapter)[wrong], 2):g} / {points(chapter)[wrong]:g}" in text
    if kept:  # the sub-checks, each with its points
        assert "Sub-checks:" in text and " 0 / " in text.split("Sub-checks:", 1)[1][:200], text[:2000]


def _diagnosis(chapter, exercise, nb) -> str:
    import importlib

    ns = {"__name__": "__submission__"}
    exec("import numpy as np", ns)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            exec(compile(cell.source, "<solution cell>", "exec"), ns)
    module = importlib.import_module(chapter.checks_module)
    with pytest.raises(CheckFailed) as err, loopback(ns) as window:
        run(module, exercise, window.learner(exercise))  # as the runner calls it
    said = err.value.diagnosis
    # a yes/no or multiple-choice answer keeps its diagnosis for the class report only
    return said if said and said in str(err.value) else str(err.value)


def test_feedback_never_shows_hidden_code_or_reference(graded):
    rows, out, _ = graded
    files = sorted((out / "feedback").glob("*/*.html"))
    assert len(files) >= len([r for r in rows.values() if r["status"] == "graded"])
    for f in files:
        text = f.read_text()
        for needle in ("BEGIN HIDDEN", "autograde.checks", "run_hidden_check", "from solutions", "BEGIN SOLUTION"):
            assert needle not in text, (f, needle)


def test_feedback_lists_every_exercise_with_its_points(graded):
    """(A lost exercise with its diagnosis: test_each_mistake_loses_only_its_exercise.)"""
    _, out, _ = graded
    for ch in CHAPTERS:
        total = sum(points(ch).values())
        text = page_text((out / "feedback" / "perfect" / f"{ch.notebook}.html").read_text())
        assert f"Your results: {total:g} / {total:g}" in text
        for name, pts in points(ch).items():
            assert f"{name} {pts:g} / {pts:g} passed" in text


def test_warning_on_stderr_does_not_zero_a_correct_answer(graded):
    rows, _, _ = graded
    assert float(rows[("warns", "ch04")]["score"]) == sum(points(CH04).values())


def test_an_lms_zip_is_graded_by_lms_id_and_dated_by_the_lms(tmp_path):
    """Canvas's flat names give the learner's user id; lateness comes from the dates the
    zip records, never from a timestamp.txt a learner put in it. (A course of its own:
    the due date stays out of the shared one.)"""
    zpath = tmp_path / "submissions.zip"
    on_time, late = (2026, 12, 1, 12, 0, 0), (2026, 12, 2, 12, 0, 0)
    with zipfile.ZipFile(zpath, "w") as zf:
        # Canvas-style flat names, one of them a re-submission ("-1")
        zf.writestr(zipfile.ZipInfo(f"doejane_1234_5678_{CH04.path.name}", on_time),
                    json.dumps(synthetic.submission(CH04, "reference")))
        zf.writestr(zipfile.ZipInfo(f"roejim_LATE_2345_6789_{CH04.notebook}-1.ipynb", late),
                    json.dumps(synthetic.submission(CH04, {"rnn_forward": "loop_not_from_a0"})))
        # and a folder per student, whose learner says when it was handed in
        zf.writestr(zipfile.ZipInfo(f"mallory/{CH04.path.name}", late),
                    json.dumps(synthetic.submission(CH04, "untouched")))
        zf.writestr(zipfile.ZipInfo("mallory/timestamp.txt", late), "2020-01-01 00:00:00 UTC")
    rows, _ = grade(tmp_path / "course", zpath, tmp_path / "out", "--due", "2026-12-01 23:59:00 UTC")
    total = sum(points(CH04).values())
    # a Canvas learner is their Canvas user id
    assert float(rows[("1234", "ch04")]["score"]) == total and rows[("1234", "ch04")]["name"] == "doejane"
    assert float(rows[("2345", "ch04")]["score"]) == total - points(CH04)["rnn_forward"]
    assert float(rows[("1234", "ch04")]["seconds_late"]) == 0
    for late_one in ("2345", "mallory"):
        assert float(rows[(late_one, "ch04")]["seconds_late"]) == pytest.approx(12 * 3600 + 60, abs=1)


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
