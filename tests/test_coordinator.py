"""The per-submission pipeline without a cluster: what each coordinator step makes of
its record, how the coordinator runs the declared list (up-front steps first, worker
steps sent, a failure that submission's alone: fail closed, marked, the class goes on)."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import io
import json
import shutil
import typing

import nbformat
import pytest

from autograde import course, pipeline
from autograde.authoring import synthetic
from autograde.coordinator import Grader, Pipeline, Progress
from autograde.nbgrader_glue.coursedir import Course
from autograde.pipeline import context, plan, prepare, record, render, save, store
from autograde.records import Executed, Refused, Rendered, Result, RunOutcome, Submission
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
def ctx(tmp_path, released_ch04):
    shutil.copytree(released_ch04, tmp_path / "course")
    c = Course(tmp_path / "course")  # its config now points at its own folder
    g = Grader(c)
    with context.opened(c, g.settings, g.journal, [], str(tmp_path)) as ctx:
        yield ctx


def planned(ctx, tmp_path, student, answers="reference"):
    path = write(tmp_path / "subs", student, CH04, synthetic.submission(CH04, answers))
    return plan.run(prepare.run(store.run(Submission(student, CH04, path), ctx), ctx), ctx)


def executed(p, passed: bool | dict = True, nb=None) -> Executed:
    verdicts = {gid: {"passed": passed if isinstance(passed, bool) else passed.get(gid, False),
                      "message": "passed", "diagnosis": None} for gid in p.plan.grade_ids}
    return Executed(p, RunOutcome("graded", "", verdicts, nb and json.dumps(nb) or p.nb_json, (), 0.1, "test:1"))


def test_the_steps_are_declared_in_order_and_each_takes_what_the_one_before_gives():
    names = [s.name for s in pipeline.STEPS]
    assert names == ["store", "known", "prepare", "plan", "execute", "save", "render", "record"]
    assert [s.on for s in pipeline.STEPS].count(pipeline.WORKER) == 2
    gives = Submission
    for step in pipeline.STEPS:
        hints = typing.get_type_hints(step.fn)
        takes = next(iter(v for k, v in hints.items() if k != "return"))
        assert takes is gives, f"{step.name} takes {takes}, the step before gives {gives}"
        returned = [t for t in typing.get_args(hints["return"]) or (hints["return"],) if t is not Result]
        gives = returned[0] if returned else Result
    assert gives is Result
    assert len({s.fn.__module__ for s in pipeline.STEPS}) == len(pipeline.STEPS)  # each in a module of its own


def test_saved_scores_come_from_the_verdicts(ctx, tmp_path):
    p = planned(ctx, tmp_path, "ann")
    assert p.plan.grade_ids == ("test_softmax", "test_rnn_cell_forward", "test_rnn_forward")
    r = save.run(executed(p, {"test_softmax": True}), ctx).result
    assert r.exercises == {"softmax": 2.0, "rnn_cell_forward": 0.0, "rnn_forward": 0.0}
    assert r.score == 2.0 and r.status == Status.GRADED
    assert (ctx.course.root / "autograded" / "ann" / "ch04" / CH04.path.name).is_file()


def test_diagnoses_and_the_lms_id_reach_the_result_and_the_journal(ctx, tmp_path):
    p = planned(ctx, tmp_path, "fay")
    p.sub.lms_id = "4242"
    e = executed(p, {"test_softmax": True, "test_rnn_forward": True})
    e.outcome.verdicts["test_rnn_cell_forward"].update(message="a_next is wrong. It looks like Waa is transposed",
                                                       diagnosis="Waa is transposed")
    saved = save.run(e, ctx)
    r = record.run(Rendered(saved.sub, saved.result, "<html>page</html>"), ctx)
    assert r.diagnoses == ["rnn_cell_forward: Waa is transposed"]
    assert r.verdicts["rnn_cell_forward"]["message"].endswith("It looks like Waa is transposed")
    assert r.page.read_text() == "<html>page</html>"
    entry = ctx.journal.entries()[("fay", "ch04")]
    assert entry["diagnoses"] == ["rnn_cell_forward: Waa is transposed"] and entry["lms_id"] == "4242"
    (again,) = [x for x in Grader(ctx.course).results_from_records() if x.student == "fay"]
    assert again.diagnoses == r.diagnoses and again.lms_id == "4242" and again.score == FULL - 3


def test_a_verdict_the_kernel_forged_in_its_outputs_counts_for_nothing(ctx, tmp_path):
    """The executed notebook is the kernel's: whatever its grade cells show, the scores
    are the verdicts'."""
    p = planned(ctx, tmp_path, "ben", "untouched")
    forged = nbformat.from_dict(json.loads(p.nb_json))
    for cell in forged.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1000"}, execution_count=1)]
    assert save.run(executed(p, False, forged), ctx).result.score == 0.0


def test_an_unreadable_notebook_is_refused_with_its_reason(ctx, tmp_path):
    path = tmp_path / "subs" / "gus" / CH04.path.name
    path.parent.mkdir(parents=True)
    path.write_text("{not a notebook")
    stored = store.run(Submission("gus", CH04, path), ctx)
    with pytest.raises(Refused) as refused:
        prepare.run(stored, ctx)
    assert refused.value.status == Status.UNREADABLE and "not valid notebook JSON" in refused.value.message


def test_a_file_that_cannot_be_stored_is_refused_as_unreadable(ctx, tmp_path):
    with pytest.raises(Refused) as refused:
        store.run(Submission("hal", CH04, tmp_path / "gone" / CH04.path.name), ctx)
    assert refused.value.status == Status.UNREADABLE and refused.value.message.startswith("the file cannot be read")


def test_a_page_that_cannot_be_made_keeps_the_grades_and_marks_the_submission(ctx, tmp_path):
    saved = save.run(executed(planned(ctx, tmp_path, "eve")), ctx)
    r = record.run(render.without_page(saved, ValueError("the template broke")), ctx)
    assert r.status == Status.WARNINGS and "feedback page could not be made (the template broke)" in r.message
    assert r.score == FULL and r.page is None
    assert ctx.journal.entries()[("eve", "ch04")]["status"] == "graded-with-warnings"


# ---------------------------------------------------------------- the coordinator runs the list
class _Future:
    def __init__(self, fn, args):
        try:
            self.value, self.error = fn(*args), None
        except Exception as exc:  # noqa: BLE001 - what a failed dask task raises on .result()
            self.value, self.error = None, exc

    def done(self):
        return True

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


class _Client:
    """A dask client that runs each task at once, in this process."""

    def __init__(self):
        self.sent, self.closed = [], False

    def submit(self, fn, *args, pure=True, workers=None):
        self.sent.append(getattr(fn, "__name__", str(fn)))
        return _Future(fn, args)

    def scheduler_info(self):
        return {"workers": {}}

    def close(self):
        self.closed = True


def _started(client):
    f = concurrent.futures.Future()
    f.set_result((client, None))
    return f


@dataclasses.dataclass(frozen=True)
class _Rec:
    sub: Submission
    trail: tuple = ()


def _steps(calls, fail_at=None, lose_at=None):
    def step(name, on=pipeline.COORDINATOR, **kw):
        def fn(rec, ctx_or_settings):
            calls.append((name, rec.sub.student))
            if rec.sub.student == fail_at and name == "b":
                raise Refused(Status.UNREADABLE, "b refused it")
            if rec.sub.student == lose_at and name == "w":
                raise RuntimeError("KilledWorker")
            if rec.sub.student == "boom" and name == "c":
                raise KeyError("c broke")
            return _Rec(rec.sub, (*rec.trail, name))

        fn.__name__ = name
        return pipeline.Step(name, fn, on=on, **kw)

    def first(sub, ctx):
        calls.append(("a", sub.student))
        return _Rec(sub)

    def last(rec, ctx):
        return Result(rec.sub.student, rec.sub.chapter, Status.GRADED, message=",".join(rec.trail))

    return (pipeline.Step("a", first, up_front=True), step("b"),
            step("w", pipeline.WORKER, says="lost ({kind}: {exc})"), step("c", says="c: {exc}"),
            step("v", pipeline.WORKER, recover=lambda rec, exc: _Rec(rec.sub, (*rec.trail, "recovered"))),
            pipeline.Step("z", last))


def test_the_coordinator_runs_the_declared_steps_and_a_failure_is_that_submissions_alone(tmp_path):
    calls, failed = [], []
    client = _Client()

    def fail(sub, status, message, ctx):
        failed.append((sub.student, status, message))
        return Result(sub.student, sub.chapter, status, message=message)

    ctx = type("Ctx", (), {"worker": {"plain": "data"}})()
    run = Pipeline(ctx, _started(client), steps=_steps(calls, fail_at="refused", lose_at="lost"), fail=fail)
    names = ["ok", "refused", "lost", "boom"]
    run.feed([Submission(n, CH04, tmp_path / n) for n in names])
    results = {r.student: r for r in run.drain()}
    assert [c for c in calls if c[0] == "a"] == [("a", n) for n in names]  # up front, for everyone first
    assert calls.index(("a", "boom")) < calls.index(("b", "ok"))
    assert results["ok"].status == Status.GRADED and results["ok"].message == "b,w,c,v"
    assert client.sent.count("w") == 3 and client.sent.count("v") == 1  # worker steps went to the cluster
    assert failed == [("refused", Status.UNREADABLE, "b refused it"),
                      ("lost", Status.CRASHED, "lost (RuntimeError: KilledWorker)"),
                      ("boom", Status.CRASHED, "c: 'c broke'")]
    assert {n: results[n].status for n in names[1:]} == {n: s for n, s, _ in failed}
    assert ("c", "lost") not in calls and ("w", "refused") not in calls  # a failed walk goes no further
    run.close()
    assert client.closed


def test_a_worker_step_that_fails_is_recovered_when_it_says_how(tmp_path):
    calls = []
    client = _Client()

    def lose_v(fn, args):
        return _Future(fn if fn.__name__ != "v" else (lambda *a: (_ for _ in ()).throw(OSError("gone"))), args)

    client.submit = lambda fn, *args, pure=True, workers=None: lose_v(fn, args)
    ctx = type("Ctx", (), {"worker": {}})()
    run = Pipeline(ctx, _started(client), steps=_steps(calls), fail=lambda *a: pytest.fail("failed closed"))
    run.feed([Submission("ok", CH04, tmp_path / "ok")])
    (r,) = run.drain()
    assert r.message == "b,w,c,recovered"


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
