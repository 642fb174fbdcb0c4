"""Partial credit: an exercise whose checks module declares sub-checks (``PARTS``) earns
the share of its points of the sub-checks that passed; the share reaches nbgrader's own
partial-credit reading of a grade cell, the feedback lists each sub-check with its points,
and nothing the learner controls can set it."""
from __future__ import annotations

import copy

import nbformat
import numpy as np
import pytest
from nbgrader.utils import determine_grade

from autograde import course
from autograde.boundary.trusted import loopback
from autograde.checks import CheckFailed, ch04, part, partial_score, run
from autograde.execution.runner import verdict
from autograde.outputs.feedback import sub_checks
from autograde.records import Result
from autograde.saving.gradebook import verdict_notebook
from autograde.status import Status
from solutions import ch04 as ref

CH04 = course.by_assignment("ch04")


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_partial_score_counts_the_parts_that_never_failed():
    weights = {"a": 1.5, "b": 1.0, "c": 0.5}
    assert partial_score(weights, {"a": False, "b": True, "c": False}) == (2 / 3, {"a": True, "b": False, "c": True})
    # a part the check never reached (it stopped before) earns nothing
    assert partial_score(weights, {"a": False}) == (0.5, {"a": True, "b": False, "c": False})
    assert partial_score({}, {})[0] == 0.0


def _softmaxless_cell(xt, a_prev, parameters, activation="tanh"):
    """rnn_cell_forward with yt_pred left as raw scores: a_next and the cache are right."""
    a_next, _, cache = ref.rnn_cell_forward(xt, a_prev, parameters, activation)
    return a_next, parameters["Wya"] @ a_next + parameters["by"], cache


def _run(fn, name="rnn_cell_forward"):
    with pytest.raises(CheckFailed) as err, loopback({name: fn, "np": np, "softmax": ref.softmax}) as window:
        run(ch04, name, window.learner(name))
    return err.value


def test_a_wrong_yt_pred_keeps_the_a_next_and_cache_sub_checks():
    failed = _run(_softmaxless_cell)
    assert failed.parts == {"a_next": True, "yt_pred": False, "cache": True}
    assert failed.score == pytest.approx(2 / 3)
    assert failed.mistake == "yt_pred_without_softmax"


def test_a_failure_outside_every_sub_check_earns_nothing():
    def crashes(xt, a_prev, parameters, activation="tanh"):
        return a_prev  # not the tuple of three: the check stops before any sub-check
    failed = _run(crashes)
    assert failed.score == 0.0 and failed.parts == {"a_next": False, "yt_pred": False, "cache": False}


def test_outside_run_a_part_fails_the_whole_check_as_before():
    with pytest.raises(CheckFailed), part("x"):
        raise CheckFailed("wrong")


def test_the_share_reaches_nbgraders_partial_credit_and_only_from_the_verdict():
    released = nbformat.read(CH04.path, as_version=4)
    sanitized = copy.deepcopy(released)
    grade_ids = ["test_softmax", "test_rnn_cell_forward", "test_rnn_forward"]
    points = float(_cell(released, "test_rnn_cell_forward").metadata["nbgrader"]["points"])
    verdicts = {"test_softmax": verdict(True, "passed"),
                "test_rnn_cell_forward": verdict(False, "yt_pred is wrong", score=2 / 3,
                                                 parts={"a_next": True, "yt_pred": False, "cache": True}),
                "test_rnn_forward": verdict(False, "wrong")}
    nb = verdict_notebook(sanitized, verdicts, grade_ids)
    assert determine_grade(_cell(nb, "test_softmax"))[0] == determine_grade(_cell(nb, "test_softmax"))[1]
    assert determine_grade(_cell(nb, "test_rnn_cell_forward")) == (pytest.approx(points * 2 / 3), points)
    assert determine_grade(_cell(nb, "test_rnn_forward"))[0] == 0
    # a share that is not a number from 0 to 1 gives nothing
    for bad in (2.0, -1.0, "1", True, None):
        v = dict(verdicts["test_rnn_cell_forward"], score=bad)
        nb = verdict_notebook(sanitized, dict(verdicts, test_rnn_cell_forward=v), grade_ids)
        assert determine_grade(_cell(nb, "test_rnn_cell_forward"))[0] == 0, bad


def test_the_feedback_lists_each_sub_check_with_its_points():
    v = verdict(False, "yt_pred is wrong", score=2 / 3,
                parts={"a_next": {"passed": True, "weight": 1.5}, "yt_pred": {"passed": False, "weight": 1.0},
                       "cache": {"passed": True, "weight": 0.5}})
    assert sub_checks(v, 3) == " Sub-checks: a_next 1.5 / 1.5, yt_pred 0 / 1, cache 0.5 / 0.5."
    assert sub_checks(verdict(False, "wrong"), 3) == ""
    from autograde.outputs.feedback import summary_cell

    r = Result("ana", CH04, Status.GRADED, 7.0, 8.0, {"rnn_cell_forward": 2.0}, {"rnn_cell_forward": 3.0},
               verdicts={"rnn_cell_forward": v})
    assert "yt&#95;pred 0 / 1" in summary_cell(r).source



@pytest.mark.slow
def test_partial_credit_end_to_end(released, tmp_path):
    """One learner whose yt_pred lacks its softmax: 2 of rnn_cell_forward's 3 points in the
    gradebook (nbgrader's auto score), grades.csv, the Canvas export and the feedback."""
    from autograde.authoring import synthetic
    from autograde.nbgrader_glue.coursedir import Course
    from helpers import cli, page_text, rows_of, write

    subs, course_dir = tmp_path / "subs", tmp_path / "course"
    write(subs, "ana", CH04, synthetic.submission(CH04, {"rnn_cell_forward": "yt_pred_without_softmax"}))
    cli("--course", course_dir, "-q", "grade", subs, "--out", tmp_path / "out")
    row = rows_of(tmp_path / "out")[("ana", "ch04")]
    assert float(row["ch04:rnn_cell_forward"]) == pytest.approx(2.0, abs=0.01)
    assert float(row["score"]) == pytest.approx(7.0, abs=0.01) == float(row["final_score"])
    with Course(course_dir).gradebook() as gb:
        grade = gb.find_grade("test_rnn_cell_forward", CH04.notebook, "ch04", "ana")
        assert grade.auto_score == pytest.approx(2.0, abs=0.01)
    page = page_text((tmp_path / "out" / "feedback" / "ana" / f"{CH04.notebook}.html").read_text())
    assert "rnn_cell_forward 2 / 3" in page and "Sub-checks: a_next 1.5 / 1.5, yt_pred 0 / 1, cache 0.5 / 0.5" in page
    cli("--course", course_dir, "export", "--format", "canvas", "--out", tmp_path / "out")
    assert "\nana,,ana,,,,,,7," in (tmp_path / "out" / "canvas.csv").read_text().replace("\r\n", "\n")
