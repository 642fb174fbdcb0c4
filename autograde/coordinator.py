"""Grading a class: one coordinator, parallel sandboxed workers, one gradebook writer.

    intake    (coordinator: find the submissions, hash each original and copy it
               read-only into the course, tell notebooks from other files; all before
               any learner code runs)
    prepare   (coordinator: nbgrader's sanitize steps against the gradebook, hidden
               test regions cut out; the plan of what to grade in a bounded process,
               autograde.execution.budget, with every cell run if it is over budget)
    execute   (workers: each notebook in a fresh bubblewrap sandbox; the hidden checks
               run in the worker and call the learner's functions across the boundary;
               see autograde.execution and autograde.boundary)
    save      (coordinator, the only writer: the trusted verdicts into the gradebook with
               nbgrader's SaveAutoGrades, then a journal line with the scores it saved)
    feedback  (workers render each page from a clean copy; the coordinator writes it)
    export    (the late rules of policies.toml, grades.csv; the CLI adds report.html and
               the similar-code pages)

Every step of a submission has a time and memory budget (``GradeSettings``): intake
has its size limit, the plan a bounded process, execution the sandbox's limits and
timeouts, stand-ins a bounded process, the feedback's Markdown and highlighting budgets
of their own (``autograde.outputs.feedback``) and the page a bounded process on the
worker. One submission never stops the others: whatever goes wrong while preparing, saving or
rendering one submission marks that submission (with no points where there is no
verdict) and the run goes on. The journal makes a run restartable.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
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
from nbgrader import utils

from autograde import course
from autograde.execution import cluster, workers
from autograde.execution import plan as plan_mod
from autograde.execution.budget import BoundedPool, OverBudget, stop_forkserver
from autograde.intake import collect, store, validate
from autograde.nbgrader_glue import sanitize
from autograde.nbgrader_glue.coursedir import Course
from autograde.outputs import export, feedback
from autograde.records import Result, Submission
from autograde.saving import gradebook, penalties
from autograde.saving.journal import Journal
from autograde.settings import GradeSettings
from autograde.status import Status

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


def run_warnings(executed, mem_limit: int | None) -> list[str]:
    """What the executed notebook shows went wrong without stopping it: memory exhausted.
    (Output past a cell's bound is cut, and the cell says so in the feedback, but that is
    no warning: no grade reads an output, and honest work may print a lot, a training
    loop's losses say.)"""
    code = [c for c in executed.cells if c.cell_type == "code"]
    out = []
    if any(o.get("ename") == "MemoryError" for c in code for o in c.get("outputs", [])):
        out.append(f"the notebook ran out of memory (limit {(mem_limit or 0) / 2**30:g} GiB)")
    return out


def final_status(run_status: str, warnings: list[str]) -> Status:
    """The submission's status: the run's, and a clean run with something repaired, cut or
    ignored is graded with warnings (a stopped or crashed run keeps its own status)."""
    status = Status(run_status)
    return Status.WARNINGS if status == Status.GRADED and warnings else status


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
    def __init__(self, c: Course, settings: GradeSettings | None = None):
        self.course = c
        self.settings = settings or GradeSettings()
        self.journal = Journal(c.root / "autograde-journal.jsonl")
        self.config = c.config()
        self.db_url = c.gradebook_url
        self.timing: collections.Counter = collections.Counter()
        self._released: dict = {}
        # the coordinator's one heavy step of its own, the run plan, runs in a bounded process
        self.steps = BoundedPool(1, self.settings.step_memory, preload=("autograde.execution.plan",))
        self.intake: list = []
        """every file of the last run's input and what intake did with it (``IntakeRow``)"""
        self.late_changes: list = []
        """final scores the late rules moved in the last ``apply_policies`` (``policies.Change``)"""

    # ------------------------------------------------------------ the run
    def grade(self, source, out=None, due=None, timestamps=None, starting=None) -> list[Result]:
        """Grade everything in ``source``. ``starting``: the cluster, if already being
        started (``autograde.execution.cluster.start_in_background``)."""
        return self._run(lambda folder: collect.collect(source, folder, timestamps), source, out, due, starting)

    def regrade(self, assignments, out=None, starting=None) -> tuple[list[Result], list[dict]]:
        """Grade every learner's stored original of ``assignments`` (chNN) again, after the
        hidden checks changed; manual grades are kept. The results, and a row for every
        exercise whose score moved: student, chapter, exercise, old, new, the hidden
        check's word before and after."""
        before = {(r.student, r.chapter.assignment): r for r in self.results_from_records()
                  if r.chapter.assignment in assignments}
        entries = self.journal.entries()
        self.settings = dataclasses.replace(self.settings, force=True)
        results = self._run(lambda folder: store.stored(self.course.root, assignments, entries),
                            self.course.root / "submitted", out, None, starting)
        return results, regrade_changes(before, results)

    def _run(self, find, source, out, due, starting) -> list[Result]:
        out = pathlib.Path(out or self.course.root / "export")
        self.starting = starting or cluster.start_in_background(self.settings.workers, self.settings.scheduler,
                                                                self.settings.worker_memory)
        handed = False
        try:
            with run_folder() as folder:
                found = find(folder)
                subs, results, self.intake = found.submissions, found.problems, found.rows
                for p in results:
                    log.warning("%s: %s", p.student, p.message)
                raw = self._intake(subs, results)
                todo = self._todo([s for s in subs if s in raw], due, results)
                if todo:
                    handed = True  # _grade_all stops the cluster
                    self._grade_all(todo, raw, results, out, folder, pathlib.Path(source).resolve())
        finally:
            if not handed:
                with contextlib.suppress(Exception):
                    cluster.stop(*self.starting.result())
        t0 = time.monotonic()
        self.late_changes = self.apply_policies(results)
        self.export(out, results)
        export.write_intake(self.intake, out)
        self.timing["export"] += time.monotonic() - t0
        return results

    def _intake(self, subs: list[Submission], results: list[Result]) -> dict:
        """Hash and copy every original read-only, before any learner code runs."""
        raw = {}
        for sub in subs:
            try:
                raw[sub] = store.store(sub, self.course.root)
            except OSError as exc:
                results.append(Result(sub.student, sub.chapter, Status.UNREADABLE, lms_id=sub.lms_id, name=sub.name,
                                      message=f"the file cannot be read: {exc}"[:300]))
        return raw

    def _todo(self, subs: list[Submission], due, results: list[Result]) -> list[Submission]:
        chapters = sorted({s.chapter for s in subs}, key=lambda ch: ch.number)
        missing = [ch for ch in chapters if not self.course.released(ch)]
        if missing:
            self.course.release(missing)
        if due is not None:
            with self.course.gradebook() as gb:
                for ch in chapters:
                    gb.update_or_create_assignment(ch.assignment, duedate=due)
        done = {} if self.settings.force else self.journal.entries()
        todo = []
        with self.course.gradebook() as gb:
            for sub in subs:
                entry = done.get((sub.student, sub.chapter.assignment))
                if entry and entry.get("sha256") == sub.sha256 and entry.get("done"):
                    results.append(self._from_journal(sub.student, sub.chapter, entry, gb))
                else:
                    todo.append(sub)
        if len(todo) < len(subs):
            log.info("%d submissions already graded (journal), %d to grade", len(subs) - len(todo), len(todo))
        return todo

    def _grade_all(self, todo, raw, results, out, folder, source) -> None:
        hidden = [str(self.course.root), str(out), str(folder), str(source)]
        worker_settings = self.settings.worker_settings(hidden, str(folder))
        progress = Progress(len(todo), self.settings.progress)
        self.steps.submit(int, seconds=60)  # its process starts while the first submissions are read
        self.shared = gradebook.SharedGradebook(self.db_url)
        self.shared.patch()
        dispatch = Dispatch(self, self.starting, worker_settings)
        try:
            for sub in todo:
                t0 = time.monotonic()
                prepared = self.prepare(sub, raw.pop(sub))
                self.timing["prepare"] += time.monotonic() - t0
                if isinstance(prepared, Result):
                    results.append(self.zero(sub, prepared))
                    progress.step(sub.student)
                else:
                    dispatch.submit(sub, *prepared)
            dispatch.collect(results, progress)
        finally:
            t0 = time.monotonic()
            self.steps.close()  # (made again if this Grader grades again)
            stop_forkserver()
            self.shared.close()
            dispatch.close()
            self.timing["stop workers"] += time.monotonic() - t0

    # ------------------------------------------------------------ prepare
    def prepare(self, sub: Submission, raw: bytes):
        """(sanitized notebook, plan, resources, warnings), or a Result for what cannot be graded."""
        ch = sub.chapter
        try:
            nb = validate.read(raw)
        except validate.Unreadable as exc:
            return Result(sub.student, ch, Status.UNREADABLE, message=str(exc))
        try:
            with self.shared as gb:
                gb.update_or_create_student(sub.student)
                stamp = _utc(sub.timestamp)
                gb.update_or_create_submission(ch.assignment, sub.student, **({"timestamp": stamp} if stamp else {}))
            resources = {"nbgrader": {"notebook": ch.notebook, "assignment": ch.assignment, "student": sub.student,
                                      "db_url": self.db_url}, "metadata": {"path": str(sub.copy.parent)}}
            nb, warnings = sanitize.sanitize(nb, resources, self.config, self._release_of(ch))
            sanitize.strip_hidden_tests(nb)
        except Exception as exc:  # noqa: BLE001 - nbgrader refuses the notebook's structure
            return Result(sub.student, ch, Status.UNREADABLE,
                          message=f"the notebook's structure cannot be graded ({type(exc).__name__}: {exc})"[:300])
        grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in self._release_of(ch).cells if utils.is_grade(c)]
        try:
            skip, rewrite = self.steps.run(plan_mod.plan_run, nb, ch, self.course.released_path(ch),
                                           seconds=self.settings.prepare_seconds, what="planning the run")
        except OverBudget as exc:  # the plan only saves time: without it, every cell runs
            skip, rewrite = [], {}
            warnings = warnings + [f"{exc}; every cell was run"]
        own = plan_mod.own_before_each_test(nb, self._release_of(ch))
        plan = {"assignment": ch.assignment, "grade_ids": grade_ids, "skip": skip,
                "rewrite": {str(i): src for i, src in rewrite.items()}, "own": own}
        return nb, plan, resources, list(sub.warnings) + warnings

    def _release_of(self, ch: course.Chapter):
        if ch.assignment not in self._released:
            self._released[ch.assignment] = nbformat.read(self.course.released_path(ch), as_version=4)
        return self._released[ch.assignment]

    # ------------------------------------------------------------ save
    def save(self, sub: Submission, nb, resources: dict, warnings: list[str], value: dict):
        """The trusted verdicts of one run into the gradebook; the Result and the feedback
        job (notebook JSON, nbgrader resources) for it."""
        plog = logging.getLogger(f"autograde.save.{sub.student}")
        gradebook.save(self.config, nb, resources, value["verdicts"], list(value["verdicts"]), plog)
        executed = nbformat.from_dict(json.loads(value["nb"]))
        warnings = warnings + list(value.get("warnings", [])) + run_warnings(executed, self.settings.mem_limit)
        status = final_status(value["status"], warnings)
        with self.shared as gb:
            r = self.course.result(sub.student, sub.chapter, gb)
            r.seconds_late = float(gb.find_submission(sub.chapter.assignment, sub.student).total_seconds_late or 0)
        r.status, r.message, r.worker = status, value["message"] or "; ".join(dict.fromkeys(warnings)), value["worker"]
        r.verdicts = {g.removeprefix("test_"): v for g, v in value["verdicts"].items()}
        r.diagnoses = [f"{name}: {v['diagnosis']}"[:300] for name, v in r.verdicts.items() if v.get("diagnosis")]
        clean = feedback.clean_notebook(nb, executed, self._released_markdown(sub.chapter))
        path = self.course.root / "autograded" / sub.student / sub.chapter.assignment / sub.chapter.path.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(gradebook.dumps(clean))
        return r, self._feedback_job(sub.student, sub.chapter, clean, r)

    def _released_markdown(self, ch: course.Chapter) -> frozenset:
        return frozenset(c.source for c in self._release_of(ch).cells if c.cell_type == "markdown")

    def _feedback_job(self, student: str, ch: course.Chapter, clean, r: Result) -> tuple[str, dict]:
        from nbgrader.preprocessors import GetGrades

        res = {"nbgrader": {"notebook": ch.notebook, "assignment": ch.assignment, "student": student,
                            "db_url": self.db_url}}
        nb, res = GetGrades(config=self.config).preprocess(nbformat.from_dict(clean), res)
        nb.cells.insert(0, feedback.summary_cell(r))
        return gradebook.dumps(nb), res["nbgrader"]

    def zero(self, sub: Submission, r: Result) -> Result:
        """No verdict at all: every grade 0 in the gradebook, and a journal line."""
        with self.shared as gb:
            gradebook.save_zeros(gb, sub.chapter.assignment, sub.chapter.notebook, sub.student)
            full = self.course.result(sub.student, sub.chapter, gb)
        r.max_score, r.exercises, r.points = full.max_score, full.exercises, full.points
        self.record(sub, r)
        return r

    def record(self, sub: Submission, r: Result) -> None:
        r.lms_id, r.name = sub.lms_id, sub.name
        with self.shared as gb:
            scores = gradebook.scores_of(gb, sub.chapter.assignment, sub.chapter.notebook, sub.student)
        self.journal.record({"student": sub.student, "assignment": sub.chapter.assignment, "sha256": sub.sha256,
                             "status": r.status.value, "message": r.message, "seconds_late": r.seconds_late,
                             "diagnoses": r.diagnoses, "verdicts": r.verdicts, "scores": scores,
                             "worker": r.worker, "lms_id": sub.lms_id, "name": sub.name, "timestamp": sub.timestamp,
                             "done": True})

    # ------------------------------------------------------------ after grading
    def _from_journal(self, student: str, ch: course.Chapter, entry: dict, gb) -> Result:
        r = self.course.result(student, ch, gb)  # scores from the gradebook (manual grades too)
        r.status, r.message = Status(entry["status"]), entry.get("message", "")
        r.seconds_late = entry.get("seconds_late", 0.0)
        r.diagnoses, r.verdicts = entry.get("diagnoses", []), entry.get("verdicts", {})
        r.lms_id, r.name = entry.get("lms_id", ""), entry.get("name", "")
        return r

    def results_from_records(self) -> list[Result]:
        """Every submission in the journal, with its scores as the gradebook has them now."""
        results = []
        with self.course.gradebook() as gb:
            for (student, assignment), entry in sorted(self.journal.entries().items()):
                try:
                    results.append(self._from_journal(student, course.by_assignment(assignment), entry, gb))
                except Exception:  # noqa: BLE001 - a chapter or submission since removed
                    continue
        return results

    def regenerate_feedback(self) -> list[pathlib.Path]:
        written = []
        for r in self.results_from_records():
            path = self.course.root / "autograded" / r.student / r.chapter.assignment / r.chapter.path.name
            if not path.exists():
                continue
            nb_json, res = self._feedback_job(r.student, r.chapter, nbformat.read(path, as_version=4), r)
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


class Dispatch:
    """The coordinator's side of the workers: submits notebooks as soon as the cluster
    is up, and turns every completed task into saved grades, a feedback page and a
    journal line; a failure of one submission is that submission's alone."""

    def __init__(self, grader: Grader, starting, worker_settings: dict):
        self.g, self.starting, self.settings = grader, starting, worker_settings
        self.client = self.cluster = None
        self.waiting: list = []
        self.meta: dict = {}
        self.pending = None

    def ready(self, block: bool) -> bool:
        if self.client is None and (block or self.starting.done()):
            from dask.distributed import as_completed

            t0 = time.monotonic()
            self.client, self.cluster = self.starting.result()
            self.g.timing["wait for workers"] += time.monotonic() - t0
            self.pending = as_completed()
            for address in self.client.scheduler_info()["workers"]:
                self.client.submit(workers.warm_up, self.settings, workers=[address], pure=False)
        return self.client is not None

    def submit(self, sub, nb, plan, resources, warnings) -> None:
        self.waiting.append((sub, nb, plan, resources, warnings))
        if self.ready(block=False):
            self.flush()

    def flush(self) -> None:
        for sub, nb, plan, resources, repairs in self.waiting:
            fut = self.client.submit(workers.grade_notebook, gradebook.dumps(nb), plan, self.settings, pure=False)
            self.meta[fut.key] = ("execute", sub, (nb, resources, repairs))
            self.pending.add(fut)
        self.waiting.clear()

    def collect(self, results: list[Result], progress: Progress) -> None:
        self.ready(block=True)
        self.flush()
        for fut in self.pending:
            kind, sub, data = self.meta.pop(fut.key)
            try:
                value = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker, a task that failed
                value = exc
            if kind == "execute":
                self.executed(sub, data, value, results)
                progress.step(sub.student)
            else:
                self.rendered(sub, data, value)

    def executed(self, sub, data, value, results) -> None:
        nb, resources, warnings = data
        t0 = time.monotonic()
        try:
            if isinstance(value, BaseException):
                raise RuntimeError(f"the grading worker was lost ({type(value).__name__}: {value})")
            r, job = self.g.save(sub, nb, resources, warnings, value)
            self.g.timing["execute (workers)"] += value["seconds"]
        except Exception as exc:  # noqa: BLE001 - fail closed: no verdict, no points
            log.error("%s %s: %s", sub.student, sub.chapter.assignment, exc)
            r = self.g.zero(sub, Result(sub.student, sub.chapter, Status.CRASHED,
                                         message=f"no verdict could be saved ({exc}); it scored 0"[:300]))
            results.append(r)
            return
        finally:
            self.g.timing["save"] += time.monotonic() - t0
        results.append(r)
        fut = self.client.submit(workers.render_feedback, *job, self.settings, pure=False)
        self.meta[fut.key] = ("feedback", sub, r)
        self.pending.add(fut)

    def rendered(self, sub, r: Result, value) -> None:
        t0 = time.monotonic()
        try:
            if isinstance(value, BaseException):
                raise value
            page = self.g.course.feedback_file(sub.student, sub.chapter)
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(value)
        except Exception as exc:  # noqa: BLE001 - the grades stand; the page is missing
            r.status = Status.WARNINGS if r.status == Status.GRADED else r.status
            r.message = "; ".join(filter(None, [r.message, f"the feedback page could not be made ({exc})"[:200]]))
        self.g.record(sub, r)
        self.g.timing["write feedback"] += time.monotonic() - t0

    def close(self) -> None:
        if self.client is None:
            with contextlib.suppress(Exception):
                self.client, self.cluster = self.starting.result()
        cluster.stop(self.client, self.cluster)


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


def _utc(stamp: str | None):
    if not stamp:
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(stamp)
    except Exception:  # noqa: BLE001 - an unreadable time is no time
        log.warning("cannot read the submission time %r; it is ignored", stamp)
        return None
