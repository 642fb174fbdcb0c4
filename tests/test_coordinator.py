"""The coordinator's own steps, without workers: what it saves from a worker's verdicts,
and how a failure of one submission stays that submission's (fail closed, marked, the
class goes on)."""
from __future__ import annotations

import io
import json
import shutil

import nbformat
import pytest

from autograde import course
from autograde.authoring import synthetic
from autograde.coordinator import Dispatch, Grader, Progress
from autograde.intake import store
from autograde.nbgrader_glue.coursedir import Course
from autograde.records import Result, Submission
from autograde.saving import gradebook
from autograde.saving.journal import Journal
from autograde.status import Status
from helpers import exercises, write

CH04 = course.by_assignment("ch04")
FULL = sum(exercises(CH04).values())


@pytest.fixture(scope="module")
def released_ch04(tmp_path_factory):
    """Chapter 4 released once (nbgrader's generate_assignment: seconds); each test grades
    in a copy of its own."""
    c = Course(tmp_path_factory.mktemp("released") / "course")
    c.release([CH04])
    return c.root


@pytest.fixture
def grader(tmp_path, released_ch04):
    shutil.copytree(released_ch04, tmp_path / "course")
    c = Course(tmp_path / "course")  # its config now points at its own folder
    g = Grader(c)
    g.shared = gradebook.SharedGradebook(g.db_url)
    g.shared.patch()
    yield g
    g.shared.close()


def prepared(g, tmp_path, student, answers="reference"):
    path = write(tmp_path / "subs", student, CH04, synthetic.submission(CH04, answers))
    sub = Submission(student, CH04, path)
    nb, plan, resources, warnings = g.prepare(sub, store.store(sub, g.course.root))
    return sub, nb, plan, resources, warnings


def worker_value(nb, plan, passed: bool | dict = True) -> dict:
    verdicts = {gid: {"passed": passed if isinstance(passed, bool) else passed.get(gid, False),
                      "message": "passed", "diagnosis": None} for gid in plan["grade_ids"]}
    return {"nb": json.dumps(nb), "verdicts": verdicts, "status": "graded", "message": "", "warnings": [],
            "seconds": 0.1, "worker": "test:1"}


class _Client:
    """Just enough of a dask client to take the feedback job."""

    def __init__(self):
        self.jobs = []

    def submit(self, fn, *args, **kwargs):
        self.jobs.append((fn, args))
        return type("Future", (), {"key": f"job-{len(self.jobs)}"})()


def dispatch(g):
    d = Dispatch(g, None, {})
    d.client = _Client()
    d.pending = set()
    return d


def test_saved_scores_come_from_the_verdicts(grader, tmp_path):
    sub, nb, plan, res, warnings = prepared(grader, tmp_path, "ann")
    r, _ = grader.save(sub, nb, res, warnings, worker_value(nb, plan, {"test_softmax": True}))
    assert r.exercises == {"softmax": 2.0, "rnn_cell_forward": 0.0, "rnn_forward": 0.0}
    assert r.score == 2.0 and r.status == Status.GRADED


def test_diagnoses_and_the_lms_id_reach_the_result_and_the_journal(grader, tmp_path):
    sub, nb, plan, res, warnings = prepared(grader, tmp_path, "fay")
    sub.lms_id = "4242"
    value = worker_value(nb, plan, {"test_softmax": True, "test_rnn_forward": True})
    value["verdicts"]["test_rnn_cell_forward"].update(message="a_next is wrong. It looks like Waa is transposed",
                                                      diagnosis="Waa is transposed")
    r, _ = grader.save(sub, nb, res, warnings, value)
    assert r.diagnoses == ["rnn_cell_forward: Waa is transposed"]
    assert r.verdicts["rnn_cell_forward"]["message"].endswith("It looks like Waa is transposed")
    grader.record(sub, r)
    entry = grader.journal.entries()[("fay", "ch04")]
    assert entry["diagnoses"] == ["rnn_cell_forward: Waa is transposed"] and entry["lms_id"] == "4242"
    (again,) = [x for x in grader.results_from_records() if x.student == "fay"]
    assert again.diagnoses == r.diagnoses and again.lms_id == "4242" and again.score == FULL - 3


def test_a_verdict_the_kernel_forged_in_its_outputs_counts_for_nothing(grader, tmp_path):
    """The executed notebook is the kernel's: whatever its grade cells show, the scores
    are the verdicts'."""
    sub, nb, plan, res, warnings = prepared(grader, tmp_path, "ben", "untouched")
    executed = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in executed.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1000"}, execution_count=1)]
    value = worker_value(executed, plan, False)
    r, _ = grader.save(sub, nb, res, warnings, value)
    assert r.score == 0.0


def test_a_failure_to_save_one_submission_scores_it_zero_and_marks_it(grader, tmp_path):
    sub, nb, plan, res, warnings = prepared(grader, tmp_path, "cat")
    broken = dict(worker_value(nb, plan), nb="{not json")  # saving it raises
    results: list[Result] = []
    d = dispatch(grader)
    d.executed(sub, (nb, res, warnings), broken, results)
    (r,) = results
    assert r.status == Status.CRASHED and "no verdict could be saved" in r.message
    assert r.score == 0.0 and all(v == 0.0 for v in r.exercises.values())
    # a lost worker is the same: no points, marked, and the journal says so
    sub2, nb2, plan2, res2, w2 = prepared(grader, tmp_path, "dan")
    d.executed(sub2, (nb2, res2, w2), RuntimeError("KilledWorker"), results)
    assert results[1].status == Status.CRASHED and results[1].score == 0.0
    entries = grader.journal.entries()
    assert entries[("cat", "ch04")]["status"] == "crashed" and entries[("dan", "ch04")]["scores"] == {
        "test_softmax": 0.0, "test_rnn_cell_forward": 0.0, "test_rnn_forward": 0.0}


def test_a_failure_to_render_feedback_keeps_the_grades_and_marks_the_submission(grader, tmp_path):
    sub, nb, plan, res, warnings = prepared(grader, tmp_path, "eve")
    results: list[Result] = []
    d = dispatch(grader)
    d.executed(sub, (nb, res, warnings), worker_value(nb, plan), results)
    (r,) = results
    assert r.score == FULL and len(d.client.jobs) == 1  # the feedback job went to a worker
    d.rendered(sub, r, ValueError("the template broke"))
    assert r.status == Status.WARNINGS and "feedback page could not be made" in r.message
    assert r.score == FULL
    assert grader.journal.entries()[("eve", "ch04")]["status"] == "graded-with-warnings"


def test_the_journal_reads_back_what_was_written_and_skips_a_torn_line(tmp_path):
    j = Journal(tmp_path / "journal.jsonl")
    j.record({"student": "a", "assignment": "ch04", "status": "graded"})
    j.record({"student": "a", "assignment": "ch04", "status": "crashed"})
    with open(j.path, "a") as f:
        f.write('{"student": "b", "assign')  # a kill in the middle of a line
    assert list(j.entries()) == [("a", "ch04")] and j.entries()[("a", "ch04")]["status"] == "crashed"


def test_progress_says_how_far_and_how_long(monkeypatch):
    stream = io.StringIO()
    p = Progress(4, True, stream)
    for _ in range(4):
        p.step("learner")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[#######") and " 1/4 " in lines[0] and "ETA" in lines[0]
    assert " 4/4 " in lines[-1] and lines[-1].startswith("[" + "#" * 30 + "]")
    quiet = io.StringIO()
    Progress(4, False, quiet).step()
    assert quiet.getvalue() == ""
