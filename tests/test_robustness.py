"""Bad input gets a clear status and loses nothing: every case below is graded in one
class, and none of them stops or changes the grading of the others."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from autograde import course
from autograde.authoring import synthetic
from helpers import cli, page_text, rows_of, summary_counts, write

pytestmark = pytest.mark.slow  # kernels for many notebooks: `make test` only

CH04 = next(c for c in course.chapters() if c.number == 4)
FULL = 8.0  # softmax 2 + rnn_cell_forward 3 + rnn_forward 3
TIMEOUTS = ["--cell-timeout", "8", "--notebook-timeout", "60"]


def nb_with(code: str, inside: bool = True):
    """A correct submission whose rnn_cell_forward runs ``code`` first thing when it is
    called (inside=True), or whose solution cell runs it after defining the function."""
    nb = synthetic.submission(CH04, "reference")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "rnn_cell_forward":
            if inside:
                body = "\n".join("    " + line for line in code.split("\n"))
                cell.source = cell.source.replace('    Waa, Wax, Wya = parameters["Waa"]', body + '\n    Waa, Wax, Wya = parameters["Waa"]', 1)
                assert body in cell.source
            else:
                cell.source += "\n" + code
    return nb


def run(course_dir, subs, out, *extra, check=True):
    return cli("--course", course_dir, "-q", "grade", subs, "--out", out, *TIMEOUTS, *extra, check=check)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, released):
    c, _ = released
    subs = tmp_path_factory.mktemp("bad-input")
    out = tmp_path_factory.mktemp("bad-input-out")
    write(subs, "good", CH04, synthetic.submission(CH04, "reference"))
    write(subs, "malformed", CH04, text='{"cells": [')
    write(subs, "empty", CH04, text="")
    write(subs, "not-a-notebook", CH04, text=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3 binary")
    write(subs, "json-not-notebook", CH04, text='{"name": "my essay"}')
    write(subs, "missing", CH04, name="README.txt", text="I forgot to attach it")
    write(subs, "missing", CH04, name="my_homework.ipynb", text="{}")  # a notebook, but none of the course's
    write(subs, "misnamed", CH04, synthetic.submission(CH04, "reference"), name=f"Copy of {CH04.notebook} (1).ipynb")
    nb = synthetic.submission(CH04, "reference")
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_softmax"]
    write(subs, "deleted-test", CH04, nb)
    # a wrong answer whose learner "fixed" the visible test: the original test is put back
    nb = synthetic.submission(CH04, {"rnn_cell_forward": "bias_left_out"})
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_rnn_cell_forward":
            cell.source = "assert True  # all good!"
    write(subs, "edited-locked", CH04, nb)
    # a copied solution cell and a copied test cell (same grade ids, same cell ids)
    nb = synthetic.submission(CH04, "reference")
    i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "test_softmax")
    nb.cells.insert(i + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[i]))))
    nb.cells.insert(i, nbformat.from_dict(json.loads(json.dumps(nb.cells[i - 1]))))
    write(subs, "duplicated", CH04, nb, text=json.dumps(nb))
    nb = synthetic.submission(CH04, "reference")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_rnn_forward":
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    write(subs, "changed-type", CH04, nb, text=json.dumps(nb))
    write(subs, "infinite-loop", CH04, nb_with("while True:\n    pass"))
    write(subs, "ignores-interrupt", CH04, nb_with("import time\nwhile True:\n    try:\n        time.sleep(1)\n"
                                             "    except KeyboardInterrupt:\n        pass"))
    write(subs, "os-exit", CH04, nb_with("import os\nos._exit(1)"))
    write(subs, "segfault", CH04, nb_with("import ctypes\nctypes.string_at(0)"))
    write(subs, "memory-bomb", CH04, nb_with("hog = [bytearray(10**8) for _ in range(200)]"))
    write(subs, "output-flood", CH04, nb_with("for i in range(300_000):\n    print('spam', i)", inside=False))
    started = time.monotonic()
    proc = run(c.root, subs, out)
    return rows_of(out), out, proc, time.monotonic() - started


def status(graded, student):
    return graded[0][(student, "ch04")]


def test_good_submission_is_unaffected(graded):
    r = status(graded, "good")
    assert r["status"] == "graded" and float(r["score"]) == FULL


@pytest.mark.parametrize("student,words", [
    ("malformed", "not valid notebook JSON"),
    ("empty", "empty"),
    ("not-a-notebook", "not valid notebook JSON"),
    ("json-not-notebook", "not a Jupyter notebook"),
])
def test_unreadable_files(graded, student, words):
    r = status(graded, student)
    assert r["status"] == "unreadable" and words in r["message"], r
    assert float(r["score"]) == 0 and float(r["max_score"]) == FULL


def test_missing_notebook(graded):
    r = graded[0][("missing", "")]
    assert r["status"] == "unreadable" and "no notebook of this course" in r["message"]
    assert "README.txt" in r["message"] and "my_homework.ipynb" in r["message"]


def test_misnamed_notebook_is_graded_with_a_warning(graded):
    r = status(graded, "misnamed")
    assert r["status"] == "graded-with-warnings" and float(r["score"]) == FULL
    assert "Copy of" in r["message"]


def test_deleted_test_cell_is_restored(graded):
    r = status(graded, "deleted-test")
    assert r["status"] == "graded-with-warnings" and float(r["score"]) == float(r["max_score"]) == FULL
    assert float(r["ch04:softmax"]) == 2  # the deleted test's own exercise is graded
    assert "deleted" in r["message"]


def test_edited_locked_cell_is_restored(graded):
    r = status(graded, "edited-locked")
    assert r["status"] == "graded-with-warnings" and "edited" in r["message"]
    assert float(r["ch04:rnn_cell_forward"]) == 0 and float(r["score"]) == FULL - 3


def test_duplicated_cells(graded):
    r = status(graded, "duplicated")
    assert r["status"] == "graded-with-warnings" and float(r["score"]) == FULL, r
    assert "copied" in r["message"]


def test_changed_cell_type_is_restored(graded):
    r = status(graded, "changed-type")
    assert r["status"] == "graded-with-warnings" and float(r["score"]) == FULL, r
    assert "type" in r["message"]


@pytest.mark.parametrize("student", ["infinite-loop", "ignores-interrupt"])
def test_infinite_loops_time_out_and_keep_earlier_points(graded, student):
    r = status(graded, student)
    assert r["status"] == "timed-out", r
    # the loop's exercise is lost; softmax, graded before it, keeps its points
    assert float(r["ch04:softmax"]) == 2 and float(r["ch04:rnn_cell_forward"]) == 0
    if student == "infinite-loop":  # interrupted: the notebook goes on, rnn_forward is graded on its own
        assert float(r["ch04:rnn_forward"]) == 3


@pytest.mark.parametrize("student", ["os-exit", "segfault"])
def test_dying_kernels_are_reported_as_crashed(graded, student):
    r = status(graded, student)
    assert r["status"] == "crashed", r
    assert float(r["ch04:softmax"]) == 2 and float(r["ch04:rnn_cell_forward"]) == 0 and float(r["ch04:rnn_forward"]) == 0
    html = (graded[1] / "feedback" / student / f"{CH04.notebook}.html").read_text()
    assert "kernel died" in html and r["message"].startswith("the kernel died")


def test_memory_bomb_is_contained(graded):
    r = status(graded, "memory-bomb")
    assert r["status"] in ("graded-with-warnings", "crashed"), r
    assert float(r["ch04:softmax"]) == 2 and float(r["ch04:rnn_cell_forward"]) == 0
    assert "memory" in r["message"].lower()


def test_output_flood_is_capped(graded, released):
    c, _ = released
    r = status(graded, "output-flood")
    # cut at the cell's bound, which the cell says; no warning: printing is no fault of a correct answer
    assert (r["status"], r["message"]) == ("graded", ""), r
    autograded = c.root / "autograded" / "output-flood" / "ch04" / CH04.path.name
    assert autograded.stat().st_size < 2_000_000  # 300,000 prints would be ~4 MB
    assert "[output truncated by the grader after" in autograded.read_text()


def test_every_case_has_exactly_one_row(graded):
    rows, _, proc, _ = graded
    assert len(rows) == 17
    counts = summary_counts(proc.stdout)["all"]  # the summary table agrees with grades.csv
    assert counts == {s: sum(r["status"] == s for r in rows.values()) for s in counts}, counts
    assert sum(counts.values()) == 17 and counts["graded-with-warnings"] and counts["timed-out"]


def test_class_report(graded):
    _, out, _, _ = graded
    text = page_text((out / "report.html").read_text())
    assert "Score distribution" in text and "Pass rate per exercise" in text
    assert "rnn_cell_forward 0 %" not in text  # most of the class passed it
    assert "Most frequent diagnosed mistakes" in text and "the bias ba was left out" in text
    assert "Submissions that need a look" in text and "segfault" in text
    # several learners handed in the reference's code: flagged for a look, scores untouched
    assert "Similar code:" in text and "of learners flagged" in text
    similar = (out / "similarity" / "ch04.html").read_text()  # (the course's other tests' learners too)
    assert re.search(r"<td>(<a [^>]*>)?good(</a>)?</td><td>misnamed</td><td>100 %</td><td>100 %</td>", similar), \
        page_text(similar)[:2000]


def test_feedback_and_export_commands_redo_the_outputs(graded, released, tmp_path):
    c, _ = released
    proc = cli("--course", c.root, "feedback")
    page = c.root / "feedback" / "os-exit" / "ch04" / f"{CH04.notebook}.html"
    assert str(page) in proc.stdout and "Your results" in page.read_text() and "crashed" in page.read_text()
    cli("--course", c.root, "export", "--out", tmp_path / "export")
    rows = rows_of(tmp_path / "export")
    assert rows[("segfault", "ch04")]["status"] == "crashed"
    assert rows[("good", "ch04")]["status"] == "graded" and float(rows[("good", "ch04")]["score"]) == FULL
    assert (tmp_path / "export" / "feedback" / "good" / f"{CH04.notebook}.html").exists()


# ---------------------------------------------------------------- crash-safe and repeatable
def test_killed_run_resumes_without_losing_or_duplicating(released, tmp_path):
    c, _ = released
    from autograde.nbgrader_glue.coursedir import Course

    course_dir = tmp_path / "course"
    subs = tmp_path / "subs"
    kinds = ["reference", "untouched", {"softmax": "softmax_wrong_axis"}, {"rnn_forward": "loop_not_from_a0"}]
    for i in range(12):
        write(subs, f"s{i:02d}", CH04, synthetic.submission(CH04, kinds[i % 4]))
    cmd = [sys.executable, "-m", "autograde", "--course", str(course_dir), "-q", "grade", str(subs),
           "--out", str(tmp_path / "out1"), *TIMEOUTS]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    journal = course_dir / "autograde-journal.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 3):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the grader and its workers, mid-class
    proc.wait()
    done_before = len(journal.read_text().splitlines())
    assert 3 <= done_before < 12
    run(course_dir, subs, tmp_path / "out2")
    rows = rows_of(tmp_path / "out2")
    assert len(rows) == 12
    expected = {0: FULL, 1: 0.0, 2: FULL - 2, 3: FULL - 3}
    for i in range(12):
        assert float(rows[(f"s{i:02d}", "ch04")]["score"]) == expected[i % 4]
    with Course(course_dir).gradebook() as gb:
        assert len(gb.assignment_submissions("ch04")) == 12
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len({(e["student"], e["assignment"]) for e in entries}) == 12
    # the second run graded only what the first had not finished
    assert len(entries) <= 12 + 1

    # grading the same submissions again (forced) gives the same scores
    run(course_dir, subs, tmp_path / "out3", "--force")
    rows3 = rows_of(tmp_path / "out3")
    assert {k: r["score"] for k, r in rows3.items()} == {k: r["score"] for k, r in rows.items()}


def test_manual_grades_survive_a_rerun_and_late_work_is_reported(released, tmp_path):
    from autograde.nbgrader_glue.coursedir import Course

    course_dir = tmp_path / "course"
    subs = tmp_path / "subs"
    write(subs, "alice", CH04, synthetic.submission(CH04, {"rnn_forward": "loop_not_from_a0"}))
    write(subs, "bob", CH04, synthetic.submission(CH04, "reference"))
    # the instructor's times decide lateness; a timestamp.txt the learner wrote does not
    (subs / "alice" / "timestamp.txt").write_text("2026-12-05 10:00:00 UTC")
    stamps = tmp_path / "times.csv"
    stamps.write_text("student_id,timestamp\nbob,2026-12-03 10:00:00 UTC\nalice,2026-11-30 10:00:00 UTC\n")
    proc = run(course_dir, subs, tmp_path / "out1", "--due", "2026-12-01 23:59:00 UTC", "--timestamps", stamps)
    rows = rows_of(tmp_path / "out1")
    assert float(rows[("bob", "ch04")]["seconds_late"]) == pytest.approx(34 * 3600 + 60, abs=1)
    assert float(rows[("alice", "ch04")]["seconds_late"]) == 0
    assert "late submissions: 1" in proc.stdout
    # an instructor gives alice 2 of 3 points by hand in the formgrader
    with Course(course_dir).gradebook() as gb:
        grade = gb.find_grade("test_rnn_forward", CH04.notebook, "ch04", "alice")
        grade.manual_score = 2
        gb.db.commit()
    run(course_dir, subs, tmp_path / "out2", "--force", "--timestamps", stamps)
    rows = rows_of(tmp_path / "out2")
    assert float(rows[("alice", "ch04")]["ch04:rnn_forward"]) == 2
    assert float(rows[("alice", "ch04")]["score"]) == FULL - 1
    assert float(rows[("alice", "ch04")]["final_score"]) == FULL - 1  # on time

    # the instructor sets late rules: bob (1 day 10 h late) spends his one grace day, then
    # loses 10 % of what he earned for the second day; no notebook runs again
    (course_dir / "policies.toml").write_text(
        "[late]\npenalty_per_day = 10\npenalty_cap = 50\ngrace_days = 1\n")
    proc = cli("--course", course_dir, "late", "--out", tmp_path / "out3")
    assert "1 final scores changed" in proc.stdout and "bob ch04: 8 -> 7.2" in proc.stdout, proc.stdout
    rows = rows_of(tmp_path / "out3")
    assert float(rows[("bob", "ch04")]["score"]) == FULL and float(rows[("bob", "ch04")]["late_penalty"]) == 0.8
    assert float(rows[("bob", "ch04")]["final_score"]) == FULL - 0.8
    assert "1 grace day used" in rows[("bob", "ch04")]["late"]
    assert float(rows[("alice", "ch04")]["final_score"]) == FULL - 1  # her manual grade kept
    report = page_text((tmp_path / "out3" / "report.html").read_text())
    assert "Grades the late rules changed" in report and "2 days late" in report
    with Course(course_dir).gradebook() as gb:  # nbgrader's own field holds the penalty
        assert gb.find_submission_notebook(CH04.notebook, "ch04", "bob").late_submission_penalty == 0.8
    cli("--course", course_dir, "export", "--format", "canvas", "--out", tmp_path / "out3")
    assert "7.2" in (tmp_path / "out3" / "canvas.csv").read_text()

    # a second grace day forgives bob entirely: the report says so
    (course_dir / "policies.toml").write_text("[late]\npenalty_per_day = 10\ngrace_days = 2\n")
    proc = cli("--course", course_dir, "late", "--out", tmp_path / "out4")
    assert "bob ch04: 7.2 -> 8" in proc.stdout, proc.stdout
    assert float(rows_of(tmp_path / "out4")[("bob", "ch04")]["final_score"]) == FULL
    # a misspelt rule stops at once and changes nothing
    (course_dir / "policies.toml").write_text("[late]\npenalty_per_dya = 10\n")
    proc = cli("--course", course_dir, "late", check=False)
    assert proc.returncode != 0 and "unknown setting 'penalty_per_dya'" in proc.stderr
    proc = run(course_dir, subs, tmp_path / "out5", check=False)
    assert proc.returncode != 0 and "cannot grade" in proc.stderr and "penalty_per_dya" in proc.stderr


def test_regrade_grades_the_stored_originals_again_and_says_what_moved(released, tmp_path):
    """After the hidden checks change, ``grade --regrade ch04`` grades every stored original
    again (the submissions folder may be gone), keeps manual grades, and writes what moved."""
    import shutil

    from autograde.nbgrader_glue.coursedir import Course

    course_dir, subs = tmp_path / "course", tmp_path / "subs"
    write(subs, "alice", CH04, synthetic.submission(CH04, {"rnn_cell_forward": "bias_left_out"}))
    write(subs, "bob", CH04, synthetic.submission(CH04, {"rnn_forward": "loop_not_from_a0"}))
    run(course_dir, subs, tmp_path / "out1")
    shutil.rmtree(subs)
    # as an older, more lenient check would have left it: alice's rnn_cell_forward passed
    journal = course_dir / "autograde-journal.jsonl"
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    for entry in lines:
        if entry["student"] == "alice":
            entry["verdicts"]["rnn_cell_forward"] = {"passed": True, "message": ""}
    journal.write_text("".join(json.dumps(e) + "\n" for e in lines))
    with Course(course_dir).gradebook() as gb:
        gb.find_grade("test_rnn_cell_forward", CH04.notebook, "ch04", "alice").auto_score = 3
        gb.find_grade("test_rnn_forward", CH04.notebook, "ch04", "bob").manual_score = 2  # by hand
        gb.db.commit()
    proc = cli("--course", course_dir, "-q", "grade", "--regrade", "ch04", "--out", tmp_path / "out2", *TIMEOUTS)
    assert "regrade:  1 exercise scores changed" in proc.stdout, proc.stdout
    rows = rows_of(tmp_path / "out2")
    assert float(rows[("alice", "ch04")]["ch04:rnn_cell_forward"]) == 0
    assert float(rows[("bob", "ch04")]["ch04:rnn_forward"]) == 2  # the manual grade kept
    import csv

    [moved] = list(csv.DictReader(open(tmp_path / "out2" / "regrade.csv")))
    assert (moved["student_id"], moved["exercise"], moved["old"], moved["new"]) == ("alice", "rnn_cell_forward", "3", "0")
    assert moved["before"] == "passed" and "bias" in moved["after"], moved
    report = page_text((tmp_path / "out2" / "report.html").read_text())
    assert "What the regrade changed" in report and "rnn_cell_forward" in report
    # asking for both, or for a chapter the course does not have, is refused at once
    proc = cli("--course", course_dir, "grade", tmp_path, "--regrade", "ch04", check=False)
    assert proc.returncode != 0 and "not both" in proc.stderr
    proc = cli("--course", course_dir, "grade", "--regrade", "ch4", check=False)
    assert proc.returncode != 0 and "no chapter 'ch4'" in proc.stderr
