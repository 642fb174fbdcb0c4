"""Unit tests of the grading internals that the end-to-end tests reach only through a
subprocess: which file is whose notebook, which files are not notebooks, nbgrader's
warnings in plain words, the statuses, the feedback summary, the summary table and the
LMS import files. Each runs in milliseconds, in `make check`."""
from __future__ import annotations

import csv

import nbformat
import pytest

from autograde import course
from autograde.checks import CheckFailed, diagnose, fail
from autograde.execution.runner import ending
from autograde.intake import collect, validate
from autograde.nbgrader_glue.sanitize import plain_warnings
from autograde.outputs import export
from autograde.outputs.feedback import summary_cell
from autograde.outputs.report import summary_table
from autograde.pipeline.save import final_status, run_warnings
from autograde.records import Result
from autograde.status import STATUSES, Status

CH04 = course.by_assignment("ch04")
CH05 = course.by_assignment("ch05")


# ---------------------------------------------------------------- whose notebook is it
@pytest.mark.parametrize("name,chapter,warned", [
    ("rnn_forward.ipynb", "ch04", False),
    ("rnn_forward-1.ipynb", "ch04", False),              # an LMS's re-submission suffix
    ("rnn_forward-12.ipynb", "ch04", False),
    ("Copy of rnn_forward.ipynb", "ch04", True),         # Jupyter's and Drive's copies
    ("rnn_forward (1).ipynb", "ch04", True),
    ("rnn_forward_final.ipynb", "ch04", True),
    ("simplified_notation.ipynb", "ch05", False),
    ("Copy of simplified_notation.ipynb", "ch05", True),  # holds "notation" (ch02) too
    ("notation (2).ipynb", "ch02", True),
    ("rnn_forward.py", None, False),                    # not a notebook at all
    ("rnn_forward.ipynb.txt", None, False),
    ("homework.ipynb", None, False),
    ("rnn_forward and simplified_notation.ipynb", None, False),  # two chapters: cannot tell
])
def test_notebook_names(name, chapter, warned):
    ch, warning = collect.match_notebook(name)
    assert (ch.assignment if ch else None) == chapter
    assert bool(warning) == warned
    if warned:
        assert warning == f"the file was named {name!r} instead of {ch.path.name!r}"


@pytest.mark.parametrize("name,number", [("rnn_forward.ipynb", 0), ("rnn_forward-1.ipynb", 1),
                                         ("rnn_forward-10.ipynb", 10), ("rnn-forward.ipynb", 0)])
def test_resubmission_number(name, number):
    assert collect.resubmission(name) == number


def test_timestamps_come_from_the_instructors_csv(tmp_path):
    stamps = tmp_path / "times.csv"
    stamps.write_text("student_id,timestamp,chapter\nana,2026-12-02 10:00:00 UTC,ch04\nben,2026-12-01 09:00:00 UTC,\n"
                      ",2026-12-01 09:00:00 UTC,\n")
    assert collect.read_timestamps(stamps) == {("ana", "ch04"): "2026-12-02 10:00:00 UTC",
                                               ("ben", ""): "2026-12-01 09:00:00 UTC"}


# ---------------------------------------------------------------- what is not a notebook
def _notebook_bytes() -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])).encode()


@pytest.mark.parametrize("raw,words", [
    (b"", "the file is empty"),
    (b"  \n\t", "the file is empty"),
    (b'{"cells": [', "not valid notebook JSON"),
    (b"\xff\xfe{", "not valid notebook JSON"),
    (b"PK\x03\x04 a zip file", "not valid notebook JSON"),
    (b"[1, 2]", "JSON but not a Jupyter notebook"),
    (b'{"name": "x"}', "JSON but not a Jupyter notebook"),
    (b'{"cells": 5, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "the notebook cannot be read"),
    (b'{"cells": [], "nbformat": 99}', "Unsupported nbformat version 99"),
    (b"[" * 100_000, "not valid notebook JSON"),
])
def test_unreadable_files_are_named_in_plain_words(raw, words):
    assert words in validate.problem(raw)


def test_a_notebook_is_readable_and_a_huge_file_is_not(monkeypatch):
    assert validate.problem(_notebook_bytes()) == ""
    monkeypatch.setattr(validate, "MAX_BYTES", 100)
    assert "larger than the 100 bytes" in validate.problem(_notebook_bytes())


# ---------------------------------------------------------------- nbgrader's warnings
def test_nbgrader_warnings_in_plain_words():
    logged = [
        "Notebook 'rnn_forward' has changed: 'checksum'",
        "Missing grade cell test_softmax",
        "Attribute 'cell_type' for cell softmax has changed! (should be: code, got: markdown)",
        "Attribute 'locked' for cell intro has changed!",
        "Attribute 'points' for cell test_softmax has changed! (should be: 2, got: 200)",
        "Cell id 'softmax' exists multiple times!",
        "Grade cell 'test_bogus' does not exist in the database",
        "Missing grade cell test_rnn_forward",
        "something nbgrader never said before " + "x" * 500,
    ]
    assert plain_warnings(logged) == [
        "a test cell was deleted; it was put back and graded",
        "a cell's type was changed; it was restored",
        "a cell was unlocked; it was locked again",
        "a cell's points were changed; the original points count",
        "a cell was copied (duplicate grade id); the copy was ignored",
        "a cell has an unknown grade id; it was ignored",
        ("something nbgrader never said before " + "x" * 500)[:200],
    ]


# ---------------------------------------------------------------- statuses
def test_a_clean_run_with_something_repaired_is_graded_with_warnings():
    assert final_status("graded", []) == Status.GRADED
    assert final_status("graded", ["a test cell was deleted; it was put back and graded"]) == Status.WARNINGS
    # a stopped or crashed run keeps its own status, warnings or not
    assert final_status("timed-out", ["x"]) == Status.TIMED_OUT
    assert final_status("crashed", ["x"]) == Status.CRASHED
    with pytest.raises(ValueError):
        final_status("passed", [])  # only the one vocabulary


def test_memory_exhausted_is_a_warning_and_output_cut_is_not():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('x' * 10**9)"),
                                         nbformat.v4.new_markdown_cell("text")])
    assert run_warnings(nb, 2**31) == []
    nb.cells[0].metadata["autograde_truncated"] = True  # cut at its bound: honest work may print a lot
    assert run_warnings(nb, 2**31) == []
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="MemoryError", evalue="", traceback=[])]
    assert run_warnings(nb, 2**31) == ["the notebook ran out of memory (limit 2 GiB)"]


def test_how_a_run_that_stopped_early_ends():
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from autograde.boundary.trusted import BoundaryTimeout

    assert ending(DeadKernelError("x"), True, 600) == (Status.TIMED_OUT, "the notebook ran longer than 600 s")
    status, message = ending(CellTimeoutError("A cell timed out"), False, 600)
    assert status == Status.TIMED_OUT and message == "A cell timed out; the notebook was stopped"
    assert ending(BoundaryTimeout("the check of softmax ran past 60 s"), False, 600)[0] == Status.TIMED_OUT
    status, message = ending(DeadKernelError("Kernel died"), False, 600)
    assert status == Status.CRASHED and "(DeadKernelError: Kernel died)" in message
    status, message = ending(RuntimeError("x"), False, 600, lost="the sandbox sent a malformed frame")
    assert status == Status.CRASHED and message.endswith("(the sandbox sent a malformed frame)")
    assert len(ending(RuntimeError("y" * 1000), False, 600)[1]) == 300


def test_every_status_has_its_words():
    assert [s.value for s in STATUSES] == ["graded", "graded-with-warnings", "timed-out", "crashed", "unreadable"]


# ---------------------------------------------------------------- diagnoses
def test_a_diagnosis_is_the_one_classic_mistake_that_matches():
    expected = [1.0, 2.0]
    mistakes = [("the rows are swapped", [2.0, 1.0]), ("the sum is doubled", [2.0, 4.0])]
    with pytest.raises(CheckFailed) as err:
        diagnose([2.0, 4.0], expected, mistakes, "y")
    assert err.value.diagnosis == "the sum is doubled"
    assert str(err.value) == "y is wrong. It looks like the sum is doubled"


def test_two_classic_mistakes_that_both_match_are_not_told_apart():
    """No guess between two explanations of the same output: no diagnosis."""
    mistakes = [("the sum is doubled", [2.0, 4.0]), ("every entry is doubled", [2.0, 4.0])]
    with pytest.raises(CheckFailed) as err:
        diagnose([2.0, 4.0], [1.0, 2.0], mistakes, "y")
    assert err.value.diagnosis is None and err.value.mistake is None


def test_no_matching_mistake_gives_a_general_message_and_no_diagnosis():
    with pytest.raises(CheckFailed) as err:
        diagnose([1.0, 2.5], [1.0, 2.0], [("swapped", [2.0, 1.0])], "y")
    assert err.value.diagnosis is None
    assert "differs from the expected value by up to 0.5" in str(err.value)
    with pytest.raises(CheckFailed) as err:
        fail("plain")
    assert err.value.diagnosis is None and str(err.value) == "plain"


# ---------------------------------------------------------------- the feedback summary
def _result(**kw) -> Result:
    base = dict(student="ana", chapter=CH04, status=Status.GRADED, score=3.0, max_score=7.0,
                exercises={"softmax": 2.0, "rnn_cell_forward": 0.0, "rnn_forward": None},
                points={"softmax": 2.0, "rnn_cell_forward": 3.0, "rnn_forward": 2.0},
                verdicts={"softmax": {"message": "passed"},
                          "rnn_cell_forward": {"message": "a_next is wrong. It looks like Waa is transposed"}})
    return Result(**(base | kw))


def test_the_feedback_summary_lists_every_exercise():
    text = summary_cell(_result()).source
    assert text.startswith("## Your results: 3 / 7\n")
    assert "| softmax | 2 / 2 | passed |" in text
    assert "| rnn&#95;cell&#95;forward | 0 / 3 | a&#95;next is wrong. It looks like Waa is transposed |" in text
    assert "| rnn&#95;forward |  | no verdict |" in text
    assert "**Status:**" not in text and "hours after the due date" not in text


def test_the_feedback_summary_says_the_status_and_lateness_and_escapes_what_it_quotes():
    r = _result(status=Status.CRASHED, message="the kernel died <img src=x onerror=alert(1)> | *bold*",
                seconds_late=5400.0,
                verdicts={"softmax": {"message": "[click](http://evil) `code` \\ <b>"}})
    text = summary_cell(r).source
    assert "**Status:** crashed. the kernel died &lt;img src=x onerror=alert(1)&gt; &#124; &#42;bold&#42;" in text
    assert "Submitted 1.5 hours after the due date." in text
    assert "&#91;click](http://evil) &#96;code&#96; &#92; &lt;b&gt;" in text
    assert "<img" not in text and "[click]" not in text


# ---------------------------------------------------------------- the summary table
def test_the_summary_table_counts_statuses_per_chapter():
    results = [_result(student="a", score=7.0), _result(student="b", score=3.0, status=Status.WARNINGS),
               _result(student="c", score=0.0, status=Status.CRASHED),
               _result(student="d", chapter=CH05, score=1.0, max_score=4.0, status=Status.TIMED_OUT,
                       seconds_late=7200.0),
               Result("e", None, Status.UNREADABLE, message="no notebook")]
    lines = summary_table(results).splitlines()
    assert lines[0].split() == ["chapter", *[s.value for s in STATUSES], "mean", "score"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:] if not line.startswith("late")}
    assert rows["ch04"] == ["1", "1", "0", "1", "0", "3.3", "/", "7"]
    assert rows["ch05"] == ["0", "0", "1", "0", "0", "1.0", "/", "4"]
    assert rows["-"] == ["0", "0", "0", "0", "1"]
    assert rows["all"] == ["1", "1", "1", "1", "1"]
    assert lines[-1] == "late submissions: 1 (d ch05 (2.0 h))"


# ---------------------------------------------------------------- the LMS import files
def _graded_class() -> list[Result]:
    return [_result(student="smithjane", score=7.0, lms_id="12345"),
            _result(student="smithjane", chapter=CH05, score=2.5, max_score=4.0, lms_id="12345"),
            _result(student="s0042", score=0.0, status=Status.UNREADABLE),
            _result(student="ben@uni.edu", chapter=CH05, score=4.0, max_score=4.0),
            Result("nobody", None, Status.UNREADABLE)]


def _read(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_canvas_import_file_has_canvas_columns_and_one_column_per_chapter(tmp_path):
    rows = _read(export.write_lms(_graded_class(), tmp_path, "canvas"))
    chapters = course.chapters()
    # the header Canvas's gradebook export writes, and its import reads
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       *[f"{ch.assignment} {ch.notebook}" for ch in chapters]]
    assert rows[1][0].strip() == "Points Possible" and rows[1][1:5] == ["", "", "", ""]
    assert rows[1][5:] == [export._fmt(sum(export.exercise_points(ch).values())) for ch in chapters]
    body = {r[0]: r for r in rows[2:]}
    assert set(body) == {"smithjane", "s0042", "ben@uni.edu"}  # a student with no notebook has no row
    col = {ch.assignment: 5 + i for i, ch in enumerate(chapters)}
    assert body["smithjane"][1:3] == ["12345", ""]  # Canvas's own user id, from its zip
    assert body["s0042"][1:3] == ["", "s0042"]     # else the student id, as the SIS user id
    assert body["smithjane"][col["ch04"]] == "7" and body["smithjane"][col["ch05"]] == "2.50"
    assert body["s0042"][col["ch04"]] == "0" and body["s0042"][col["ch05"]] == ""  # blank: no change
    assert all(len(r) == len(rows[0]) for r in rows)


def test_moodle_import_file_has_moodle_columns_and_one_column_per_chapter(tmp_path):
    rows = _read(export.write_lms(_graded_class(), tmp_path, "moodle"))
    chapters = course.chapters()
    # the user columns of Moodle's plain-text grade export, which its CSV import maps
    assert rows[0] == ["First name", "Last name", "ID number", "Institution", "Department", "Email address",
                       *[f"{ch.assignment} {ch.notebook}" for ch in chapters]]
    body = {r[2]: r for r in rows[1:]}
    assert set(body) == {"smithjane", "s0042", "ben@uni.edu"}
    assert body["ben@uni.edu"][5] == "ben@uni.edu" and body["smithjane"][5] == ""
    col = {ch.assignment: 6 + i for i, ch in enumerate(chapters)}
    assert body["ben@uni.edu"][col["ch05"]] == "4" and body["ben@uni.edu"][col["ch04"]] == ""
    with pytest.raises(ValueError, match="canvas or moodle"):
        export.write_lms([], tmp_path, "blackboard")


# ---------------------------------------------------------------- what grading runs of chapter 8
def test_grading_chapter_8_skips_the_long_training_and_keeps_every_exercise(tmp_path):
    """Chapter 8 trains for 13,989 steps and samples names in cells that only show results:
    grading runs the exercises and their tests, not the long run; a learner who edits the
    training cell gets it run (it is theirs now), under the cell timeout."""
    from autograde.authoring import synthetic
    from autograde.execution.plan import plan_run
    from autograde.nbgrader_glue.coursedir import Course

    ch08 = course.by_assignment("ch08")
    c = Course(tmp_path / "course")
    c.release([ch08])
    nb = synthetic.submission(ch08, "reference")
    code = {i: cell for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    training = next(i for i, cell in code.items() if "train(schedule" in cell.source)
    sampling = next(i for i, cell in code.items() if "sample(trained" in cell.source)
    graded = [i for i, cell in code.items() if "nbgrader" in cell.metadata]
    skip, _ = plan_run(nb, ch08, c.released_path(ch08))
    assert training in skip and sampling in skip
    assert not set(graded) & set(skip)
    nb.cells[training].source += "\nprint('mine')"
    skip, _ = plan_run(nb, ch08, c.released_path(ch08))
    assert training not in skip
