"""Grading a class: one coordinator, parallel sandboxed workers, one gradebook writer.

A run (``Grader``) is: intake (find the submissions and account for every file of the
input, ``autograde.intake``), the chapters released, then the per-submission pipeline
(``autograde.pipeline.STEPS``: store, known, prepare, plan, execute on a worker, save,
render on a worker, record), run for every submission by ``Pipeline``, and last every
output of the run, written here: the late rules of policies.toml, grades.csv,
intake.csv, regrade.csv, the similar-code pages and report.html.

Every step of a submission has a time and memory budget (``GradeSettings``): intake
has its size limit, the plan a bounded process, execution the sandbox's limits and
timeouts, stand-ins a bounded process, the feedback's Markdown and highlighting budgets
of their own (``autograde.outputs.feedback``) and the page a bounded process on the
worker. One submission never stops the others: whatever goes wrong in any step of one
submission marks that submission (with no points where there is no verdict) and the run
goes on. The journal makes a run restartable.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import nbformat

from autograde import course, pipeline
from autograde.execution import cluster, workers
from autograde.intake import collect, store
from autograde.nbgrader_glue.coursedir import Course
from autograde.outputs import export, feedback, report, similarity
from autograde.pipeline import context, known, save
from autograde.records import Refused, Result, Submission
from autograde.saving import penalties
from autograde.saving.journal import Journal
from autograde.settings import GradeSettings

log = logging.getLogger("autograde")
# nbgrader's add_submission touches a relationship before the new row is in the session;
# SQLAlchemy 2 warns about it on every new submission (the rows are written all the same)
warnings.filterwarnings("ignore", message=".*not in session.*add operation along.*")
RUN_PREFIX = "autograde-run-"


class Progress:
    """A progress bar with an ETA on a terminal; a line every 10 % elsewhere."""

    def __init__(self, total: int, enabled: bool, stream=None):
        self.total, self.done, self.enabled = total, 0, enabled and total > 0
        self.start = time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_decile = -1

    def line(self, label: str = "") -> str:
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        frac = self.done / self.total if self.total else 1.0
        return (f"[{'#' * int(frac * 30):<30}] {self.done}/{self.total} {rate:.2f}/s "
                f"ETA {int(eta // 60)}m{int(eta % 60):02d}s {label[:40]}")

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        frac = self.done / self.total
        if self.tty:
            self.stream.write("\r" + self.line(label).ljust(100) + ("\n" if self.done == self.total else ""))
            self.stream.flush()
        elif int(frac * 10) != self.last_decile:
            self.last_decile = int(frac * 10)
            print(self.line(label), file=self.stream, flush=True)


@contextlib.contextmanager
def run_folder():
    """A temporary folder for one run, removed at its end, or by its guard process if the
    coordinator is killed; folders of runs whose coordinator died earlier are removed too."""
    base = pathlib.Path(tempfile.gettempdir())
    for prefix in (RUN_PREFIX, "autograde-worker-"):
        for old in base.glob(f"{prefix}*"):
            pid = old.name.removeprefix(prefix).split("-")[0]
            if pid.isdigit() and not pathlib.Path(f"/proc/{pid}").exists():
                shutil.rmtree(old, ignore_errors=True)
    folder = pathlib.Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-"))
    guard = subprocess.Popen([sys.executable, "-m", "autograde.execution.guard", str(os.getpid()), str(folder)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield folder
    finally:
        guard.kill()
        guard.wait()
        from autograde.execution.guard import kill_left_over

        kill_left_over(folder)  # a sandbox whose worker died abruptly: no process outlives the run
        shutil.rmtree(folder, ignore_errors=True)


class Grader:
    """One course's grading runs: intake, the pipeline for every submission, and every
    output of the run (grades.csv, intake.csv, the report, the similar-code pages,
    regrade.csv). The only writer of the gradebook."""

    def __init__(self, c: Course, settings: GradeSettings | None = None):
        self.course = c
        self.settings = settings or GradeSettings()
        self.journal = Journal(c.root / "autograde-journal.jsonl")
        self.timing: collections.Counter = collections.Counter()
        self.intake: list = []
        """every file of the last run's input and what intake did with it (``IntakeRow``)"""
        self.late_changes: list = []
        """final scores the late rules moved in the last ``apply_policies`` (``policies.Change``)"""
        self.outputs: dict[str, pathlib.Path] = {}
        """what the last run wrote: grades, intake, report, regrade -> its path"""

    # ------------------------------------------------------------ the run
    def grade(self, source, out=None, due=None, timestamps=None, starting=None) -> list[Result]:
        """Grade everything in ``source``. ``starting``: the cluster, if already being
        started (``autograde.execution.cluster.start_in_background``)."""
        return self._run(lambda folder: collect.collect(source, folder, timestamps), source, out, due, starting)[0]

    def regrade(self, assignments, out=None, starting=None) -> tuple[list[Result], list[dict]]:
        """Grade every learner's stored original of ``assignments`` (chNN) again, after the
        hidden checks changed; manual grades are kept. The results, and a row for every
        exercise whose score moved: student, chapter, exercise, old, new, the hidden
        check's word before and after (also written to regrade.csv)."""
        before = {(r.student, r.chapter.assignment): r for r in self.results_from_records()
                  if r.chapter.assignment in assignments}
        entries = self.journal.entries()
        self.settings = dataclasses.replace(self.settings, force=True)
        return self._run(lambda folder: store.stored(self.course.root, assignments, entries),
                         self.course.root / "submitted", out, None, starting, before)

    def _run(self, find, source, out, due, starting, before=None) -> tuple[list[Result], list[dict] | None]:
        """(the results, and with ``before``, a regrade's results before it: the scores it moved)."""
        out = pathlib.Path(out or self.course.root / "export")
        starting = starting or cluster.start_in_background(self.settings.workers, self.settings.scheduler,
                                                           self.settings.worker_memory)
        results: list[Result] = []
        with contextlib.ExitStack() as stack:
            stack.callback(_stop_quietly, starting)  # (a no-op once the pipeline has stopped it)
            folder = stack.enter_context(run_folder())
            found = find(folder)
            results, self.intake = list(found.problems), found.rows
            for p in results:
                log.warning("%s: %s", p.student, p.message)
            if found.submissions:
                self.setup(found.submissions, due)
                hidden = [str(self.course.root), str(out), str(folder), str(pathlib.Path(source).resolve())]
                progress = Progress(len(found.submissions), self.settings.progress)
                with self.pipeline(hidden, str(folder), starting) as run:
                    run.feed(found.submissions)
                    results += run.drain(progress)
        t0 = time.monotonic()
        moved = None if before is None else regrade_changes(before, results)
        self.write_outputs(out, results, moved)
        self.timing["outputs"] += time.monotonic() - t0
        return results, moved

    def setup(self, subs: list[Submission], due=None) -> None:
        """What the run needs before its first submission: every chapter it grades
        released, and the due date, if one is given, in the gradebook."""
        chapters = sorted({s.chapter for s in subs}, key=lambda ch: ch.number)
        missing = [ch for ch in chapters if not self.course.released(ch)]
        if missing:
            self.course.release(missing)
        if due is not None:
            with self.course.gradebook() as gb:
                for ch in chapters:
                    gb.update_or_create_assignment(ch.assignment, duedate=due)

    @contextlib.contextmanager
    def pipeline(self, hidden: list[str], tmp_root: str, starting):
        """The per-submission pipeline of a run (or of the service's life): its context
        opened, the cluster taken from ``starting``, all closed at the end."""
        with context.opened(self.course, self.settings, self.journal, hidden, tmp_root) as ctx:
            run = Pipeline(ctx, starting, self.timing)
            try:
                yield run
            finally:
                t0 = time.monotonic()
                run.close()
                self.timing["stop workers"] += time.monotonic() - t0

    # ------------------------------------------------------------ outputs
    def write_outputs(self, out: pathlib.Path, results: list[Result], moved: list[dict] | None = None) -> dict:
        """Every output of a run, in ``out``: grades.csv after the late rules, intake.csv,
        regrade.csv (a regrade), the similar-code pages and report.html."""
        self.late_changes = self.apply_policies(results)
        self.outputs = {"grades": self.export(out, results), "intake": export.write_intake(self.intake, out)}
        if moved is not None:
            self.outputs["regrade"] = export.write_regrade(moved, out)
        graded = sorted({r.chapter.assignment for r in results if r.chapter})
        self.outputs["report"] = self.write_report(out, results, graded, moved)
        return self.outputs

    def write_report(self, out: pathlib.Path, results: list[Result], chapters, moved=None) -> pathlib.Path:
        """report.html, with the similar-code pages of ``chapters`` (None: every chapter)."""
        similar = self.similar_code(out, chapters)
        return report.write_report(results, out / "report.html", self.intake, similar, self.late_changes, moved)

    def similar_code(self, out: pathlib.Path, chapters, threshold=None, min_tokens=None) -> dict:
        """The similar-code pages of ``chapters`` (None: all) in ``out``; chapter -> (page,
        pairs). They never stop a run: a failure is a warning."""
        try:
            return similarity.course_report(self.course, out, chapters,
                                            similarity.THRESHOLD if threshold is None else threshold,
                                            similarity.MIN_TOKENS if min_tokens is None else min_tokens)
        except Exception as exc:  # noqa: BLE001 - the grades are written; the pages are extra
            log.warning("the similarity pages could not be made: %s", exc)
            return {}

    def late(self, out=None) -> list[Result]:
        """The late rules applied again to every graded submission (no notebook runs);
        grades.csv and the report rewritten. ``late_changes``: whose final score moved."""
        out = pathlib.Path(out or self.course.root / "export")
        results = self.results_from_records()
        self.late_changes = self.apply_policies(results)
        self.outputs = {"grades": self.export(out, results),
                        "report": self.write_report(out, results, None)}
        return results

    # ------------------------------------------------------------ after grading
    def results_from_records(self) -> list[Result]:
        """Every submission in the journal, with its scores as the gradebook has them now."""
        results = []
        with self.course.gradebook() as gb:
            for (student, assignment), entry in sorted(self.journal.entries().items()):
                try:
                    results.append(known.from_journal(self.course, student, course.by_assignment(assignment),
                                                      entry, gb))
                except Exception:  # noqa: BLE001 - a chapter or submission since removed
                    continue
        return results

    def regenerate_feedback(self) -> list[pathlib.Path]:
        written = []
        config = self.course.config()
        for r in self.results_from_records():
            path = self.course.root / "autograded" / r.student / r.chapter.assignment / r.chapter.path.name
            if not path.exists():
                continue
            nb_json, res = save.page_job(config, self.course.gradebook_url, r.student, r.chapter,
                                         nbformat.read(path, as_version=4), r)
            page = self.course.feedback_file(r.student, r.chapter)
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(feedback.render(nb_json, res))
            written.append(page)
        return written

    def apply_policies(self, results: list[Result]) -> list:
        """The late rules of ``<course>/policies.toml`` on every graded submission (from the
        journal, no notebook run again), onto ``results``; the final scores that moved."""
        lates, moved = penalties.apply(self.course, self.journal)
        by_key = {(a.student, a.assignment): a for a in lates}
        for r in results:
            a = by_key.get((r.student, r.chapter.assignment)) if r.chapter else None
            if a is not None:
                r.penalty, r.late = a.penalty, a.reason if a.penalty or a.days_late else ""
        return moved

    def export(self, out, results: list[Result] | None = None, lms: str | None = None) -> pathlib.Path:
        """grades.csv (and the feedback pages) in ``out``; with ``lms`` (canvas, moodle),
        that LMS's gradebook-import file instead."""
        out = pathlib.Path(out or self.course.root / "export")
        if results is None:
            results = self.results_from_records()
            self.apply_policies(results)
        if lms:
            return export.write_lms(results, out, lms)
        return export.write_grades(results, out, self.course.feedback_file)


class Pipeline:
    """Runs ``autograde.pipeline.STEPS`` for every submission fed to it: the coordinator's
    steps here, in order, the workers' on the dask cluster as soon as it is up (a
    submission waits for it only when its walk reaches a worker step). A step's failure
    is its submission's alone (``Step.recover``, or ``FAIL``: no points, marked). Used by
    a batch run (``feed`` everything, then ``drain``) and by the service (``feed`` each
    upload, ``poll``)."""

    def __init__(self, ctx, starting, timing: collections.Counter | None = None, steps=pipeline.STEPS,
                 fail=pipeline.FAIL):
        self.ctx, self.starting, self.steps, self.fail = ctx, starting, steps, fail
        self.timing = timing if timing is not None else collections.Counter()
        self.client = self.cluster = None
        self.waiting: list[tuple] = []
        """(submission, record, index of its worker step) until the cluster is up"""
        self.pending: dict = {}
        """future -> (submission, the record sent, its step's index)"""
        self.finished: list[Result] = []

    # ------------------------------------------------------------ feeding
    def feed(self, subs: list[Submission]) -> None:
        """Start the walks of ``subs``: the up-front steps for all of them first."""
        walks = [(sub, sub, 0) for sub in subs]
        while walks and self.steps[walks[0][2]].up_front:
            walks = [self._call(sub, record, i) for sub, record, i in walks]
            walks = [w for w in walks if w is not None]
        for sub, record, i in walks:
            self._advance(sub, record, i)

    def _call(self, sub, record, i: int):
        """Step ``i`` (a coordinator's) on ``record``: (sub, the next record, i + 1), or
        None when the walk ended."""
        step = self.steps[i]
        t0 = time.monotonic()
        try:
            record = step.fn(record, self.ctx)
        except Exception as exc:  # noqa: BLE001 - the step's failure is its submission's alone
            record = self._failed(sub, step, record, exc)
        finally:
            self.timing[step.name] += time.monotonic() - t0
        if isinstance(record, Result):
            self.finished.append(record)
            return None
        return sub, record, i + 1

    def _failed(self, sub, step, record, exc: BaseException):
        if step.recover is not None and not isinstance(exc, Refused):
            return step.recover(record, exc)
        status, message = (exc.status, exc.message) if isinstance(exc, Refused) else (step.fails_as, step.failure(exc))
        log.error("%s %s: %s", sub.student, sub.chapter.assignment, message)
        try:
            return self.fail(sub, status, message, self.ctx)
        except Exception as again:  # noqa: BLE001 - not even the zeros could be saved: said, still no points
            log.error("%s %s: the zeros could not be saved either: %s", sub.student, sub.chapter.assignment, again)
            return Result(sub.student, sub.chapter, status, message=message, lms_id=sub.lms_id, name=sub.name)

    def _advance(self, sub, record, i: int) -> None:
        """Coordinator steps from ``i`` on, up to a worker step (sent) or the walk's end."""
        walk = (sub, record, i)
        while walk is not None:
            sub, record, i = walk
            if i == len(self.steps):
                self.finished.append(record)
                return
            if self.steps[i].on == pipeline.WORKER:
                self.waiting.append((sub, record, i))
                self._send()
                return
            walk = self._call(sub, record, i)

    def _ready(self, block: bool) -> bool:
        if self.client is None and (block or self.starting.done()):
            t0 = time.monotonic()
            self.client, self.cluster = self.starting.result()
            self.timing["wait for workers"] += time.monotonic() - t0
            for address in self.client.scheduler_info()["workers"]:
                self.client.submit(workers.warm_up, self.ctx.worker, workers=[address], pure=False)
        return self.client is not None

    def _send(self, block: bool = False) -> None:
        if not self.waiting or not self._ready(block):
            return
        for sub, record, i in self.waiting:
            fut = self.client.submit(self.steps[i].fn, record, self.ctx.worker, pure=False)
            self.pending[fut] = (sub, record, i)
        self.waiting.clear()

    # ------------------------------------------------------------ collecting
    def poll(self, timeout: float = 0.0) -> list[Result]:
        """The walks that ended since the last call, waiting up to ``timeout`` seconds for one."""
        self._send()
        deadline = time.monotonic() + timeout
        while not self.finished:
            done = [f for f in self.pending if f.done()]
            for fut in done:
                sub, record, i = self.pending.pop(fut)
                step = self.steps[i]
                try:
                    record = fut.result()
                    if hasattr(record, "seconds"):  # what the worker measured (its own run)
                        self.timing[f"{step.name} (workers)"] += record.seconds
                except Exception as exc:  # noqa: BLE001 - a lost worker, a task that failed
                    record = self._failed(sub, step, record, exc)
                if isinstance(record, Result):
                    self.finished.append(record)
                else:
                    self._advance(sub, record, i + 1)
            if self.finished or time.monotonic() >= deadline:
                break
            time.sleep(0.02 if self.pending else 0.1)
            self._send()
        out, self.finished = self.finished, []
        return out

    @property
    def busy(self) -> int:
        """Submissions whose walk has not ended."""
        return len(self.waiting) + len(self.pending)

    def drain(self, progress: Progress | None = None) -> list[Result]:
        """Every walk to its end (the batch run)."""
        results = []
        self._send(block=bool(self.waiting))
        while True:
            got = self.poll(1.0)
            for r in got:
                if progress is not None:
                    progress.step(r.student)
            results += got
            if not self.busy and not self.finished:
                return results

    def close(self) -> None:
        if self.client is None:
            with contextlib.suppress(Exception):
                self.client, self.cluster = self.starting.result()
        cluster.stop(self.client, self.cluster)


def _stop_quietly(starting) -> None:
    with contextlib.suppress(Exception):
        cluster.stop(*starting.result())


def regrade_changes(before: dict, after: list[Result]) -> list[dict]:
    """Every exercise whose score a regrade moved, with what its check said before and now."""
    rows = []
    for r in sorted((r for r in after if r.chapter), key=lambda r: (r.student, r.chapter.number)):
        old = before.get((r.student, r.chapter.assignment))
        if old is None:
            continue
        for name in dict.fromkeys([*old.exercises, *r.exercises]):
            was, now = old.exercises.get(name), r.exercises.get(name)
            if was != now:
                rows.append({"student": r.student, "chapter": r.chapter.assignment, "exercise": name,
                             "old": was, "new": now, "before": _said(old.verdicts.get(name)),
                             "after": _said(r.verdicts.get(name))})
    return rows


def _said(verdict: dict | None) -> str:
    """What a hidden check said of an exercise, in a few words."""
    if not verdict:
        return ""
    if verdict.get("passed") is True:
        return "passed"
    return str(verdict.get("diagnosis") or verdict.get("message") or "failed")[:300]
