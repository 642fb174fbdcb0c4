"""Grading a whole class: one long-lived coordinator, parallel workers, one gradebook writer.

    collect ─> prepare (coordinator: copy in, check the file, sanitize with nbgrader's
               own preprocessors against the gradebook)
           ─> execute (workers: nbgrader's Execute on a fresh kernel forked from a
               pre-warmed zygote, with per-cell and per-notebook time limits, a memory
               limit and an output cap; see autograde.worker and autograde.zygote)
           ─> save    (coordinator: nbgrader's post-processing and SaveAutoGrades, the
               only writer of the gradebook; a journal line per submission)
           ─> feedback (workers: the HTML page, from grades the coordinator read back)

Workers run on dask.distributed: a LocalCluster with one single-threaded worker process
per core by default, or an existing cluster given by its scheduler address. Each worker
process keeps its own zygote, so every notebook still runs in a process of its own.

The journal (``<course>/autograde-journal.jsonl``) makes a run restartable: a
submission whose file has not changed since it was graded is not graded again, so a run
killed half-way finishes where it stopped, and nothing is graded twice.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
import hashlib
import json
import logging
import os
import pathlib
import shutil
import sys
import time

import nbformat

from autograde import course
from autograde.grading import (Course, Result, Submission, _unreadable)

log = logging.getLogger("autograde")

GRADED, WARNINGS, TIMED_OUT, CRASHED, UNREADABLE = "graded", "graded-with-warnings", "timed-out", "crashed", "unreadable"
STATUSES = (GRADED, WARNINGS, TIMED_OUT, CRASHED, UNREADABLE)


@dataclasses.dataclass
class Settings:
    workers: int = 0  # 0: one per core
    scheduler: str | None = None  # address of an existing dask scheduler
    cell_timeout: int = 60
    notebook_timeout: int = 600
    mem_limit: int | None = 2 * 2**30
    max_output_bytes: int = 100_000
    force: bool = False  # grade again even what the journal says is done
    progress: bool = True
    figures: bool = False  # rasterize the notebooks' figures (feedback shows them; slower)

    def worker_settings(self) -> dict:
        return {"cell_timeout": self.cell_timeout, "notebook_timeout": self.notebook_timeout,
                "mem_limit": self.mem_limit, "max_output_bytes": self.max_output_bytes, "figures": self.figures}


class _Capture(logging.Handler):
    """Collects the warnings nbgrader's preprocessors log about one submission."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class SharedGradebook:
    """Stands in for ``nbgrader.api.Gradebook`` inside nbgrader's preprocessors while
    the coordinator runs: they all use its one open gradebook (one engine, so
    SQLAlchemy's compiled-statement cache works, and no schema check per call) instead
    of opening a new one for every notebook. Everything else is nbgrader's own code."""

    MODULES = ("overwritecells", "saveautogrades", "getgrades", "latesubmissions", "overwritekernelspec")

    def __init__(self, db_url: str):
        from nbgrader.api import Gradebook

        self.gb = Gradebook(db_url, "sequence-models-1")

    def __call__(self, *args, **kwargs):  # what ``Gradebook(db_url)`` returns inside nbgrader
        return self

    def __enter__(self):
        return self.gb

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.gb.db.rollback()
        return False

    def __getattr__(self, name):
        return getattr(self.gb, name)

    def __enter_patch__(self):
        import importlib

        import nbgrader.nbgraderformat.common as fmt

        self._saved = {}
        for name in self.MODULES:
            module = importlib.import_module(f"nbgrader.preprocessors.{name}")
            self._saved[(module, "Gradebook")] = module.Gradebook
            module.Gradebook = self
        # nbgrader checks every cell's metadata with jsonschema.validate, which checks the
        # schema itself again on every call (most of the cost): validate with one
        # compiled validator per schema instead, same schema, same errors
        self._saved[(fmt, "jsonschema")] = fmt.jsonschema
        fmt.jsonschema = _CachedJsonschema(fmt.jsonschema)

    def __exit_patch__(self):
        for (module, attr), original in self._saved.items():
            setattr(module, attr, original)
        self.gb.close()


class _CachedJsonschema:
    def __init__(self, module):
        self._module = module
        self._validators: dict[int, object] = {}

    def validate(self, instance, schema):
        v = self._validators.get(id(schema))
        if v is None:
            cls = self._module.validators.validator_for(schema)
            cls.check_schema(schema)
            v = self._validators[id(schema)] = cls(schema)
        v.validate(instance)

    def __getattr__(self, name):
        return getattr(self._module, name)


def _dumps(nb) -> str:
    """A notebook as compact JSON, without nbformat's validation and deep copy (it was
    validated when it was read; every notebook reader accepts compact JSON)."""
    return json.dumps(nb, ensure_ascii=False)


def _loads(text: str):
    """A v4 notebook from JSON without validating it (it came from a worker of ours)."""
    return nbformat.v4.nbjson.reads(text)


def _sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Progress:
    """A progress bar with an ETA on a terminal; a line every 10 % elsewhere."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled and total > 0
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        frac = self.done / self.total
        line = (f"[{'#' * int(frac * 30):<30}] {self.done}/{self.total} {rate:.2f}/s "
                f"ETA {int(eta // 60)}m{int(eta % 60):02d}s {label[:40]}")
        if self.tty:
            sys.stderr.write("\r" + line.ljust(100))
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif int(frac * 10) != self.last_decile:
            self.last_decile = int(frac * 10)
            print(line, file=sys.stderr, flush=True)


class Grader:
    def __init__(self, c: Course, settings: Settings | None = None):
        self.course = c
        self.settings = settings or Settings()
        self.journal_path = c.root / "autograde-journal.jsonl"
        from traitlets.config import Config

        from autograde.nbgrader_config import apply

        self.config = Config()
        apply(self.config, str(c.root / "nbgrader_config.py"), c.db_url)
        self.db_url = c.api().coursedir.db_url
        self._released_cells: dict[str, dict[str, str]] = {}
        self.timing = collections.Counter()  # seconds spent per step, for the summary

    # ------------------------------------------------------------ journal
    def _journal(self) -> dict:
        done = {}
        if self.journal_path.exists():
            for line in self.journal_path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a kill
                    continue
                done[(entry["student"], entry["assignment"])] = entry
        return done

    def _record(self, entry: dict) -> None:
        with open(self.journal_path, "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())

    # ------------------------------------------------------------ dask
    def _client(self):
        from dask.distributed import Client, LocalCluster

        if self.settings.scheduler:
            return Client(self.settings.scheduler, timeout=60), None
        n = self.settings.workers or os.cpu_count() or 1
        for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.core"):
            logging.getLogger(name).setLevel(logging.ERROR)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               memory_limit=0, silence_logs=logging.ERROR, preload=["autograde.worker"])
        return Client(cluster), cluster

    # ------------------------------------------------------------ the run
    def grade(self, submissions, out=None, due: datetime.datetime | None = None) -> list[Result]:
        from dask.distributed import as_completed

        from autograde import worker

        subs, problems = self.course.collect(submissions)
        results: list[Result] = list(problems)  # folders and files that hold no gradable notebook
        for p in problems:
            log.warning("%s: %s", p.student, p.message)
        chapters = sorted({s.chapter for s in subs}, key=lambda ch: ch.number)
        missing = [ch for ch in chapters if not self.course.released(ch)]
        if missing:
            self.course.release(missing)
        if due is not None:
            self._set_due(chapters, due)

        journal = {} if self.settings.force else self._journal()
        todo = []
        for sub in subs:
            entry = journal.get((sub.student, sub.chapter.assignment))
            if entry and entry.get("sha256") == _sha256(sub.path) and entry.get("done"):
                results.append(self._result_from_journal(sub, entry))
            else:
                todo.append(sub)
        if len(todo) < len(subs):
            log.info("%d submissions already graded (journal), %d to grade", len(subs) - len(todo), len(todo))

        progress = Progress(len(todo), self.settings.progress)
        if not todo:
            self.course.export(out, results)
            return results
        # the workers start in the background while the coordinator prepares submissions;
        # on this machine they share one kernel zygote, started first (its imports take
        # longer than anything else at start-up)
        import concurrent.futures
        import tempfile

        from autograde.zygote import Zygote

        zygote = None
        if not self.settings.scheduler:
            sock = os.path.join(tempfile.mkdtemp(prefix="autograde-zygote-"), "zygote.sock")
            zygote = Zygote.start_shared(sock)
            os.environ["AUTOGRADE_ZYGOTE"] = sock

        starting = concurrent.futures.ThreadPoolExecutor(1).submit(self._client)
        client = cluster = None
        self.shared = SharedGradebook(self.db_url)
        self.shared.__enter_patch__()
        try:
            pending = None  # made once the client exists
            meta = {}
            ready: list = []  # prepared, waiting for the workers to be up

            def submit(sub, nb, resources, warnings):
                nonlocal pending
                if pending is None:
                    pending = as_completed()
                fut = client.submit(worker.execute, _dumps(nb), self.settings.worker_settings(), pure=False)
                meta[fut.key] = ("execute", sub, resources, warnings)
                pending.add(fut)

            for sub in todo:
                t0 = time.monotonic()
                prepared = self._prepare(sub)
                self.timing["prepare"] += time.monotonic() - t0
                if isinstance(prepared, Result):
                    results.append(prepared)
                    self._record(self._entry(sub, prepared))
                    progress.step(sub.student)
                    continue
                ready.append((sub, *prepared))
                if client is None and starting.done():
                    client, cluster = self._started(starting)
                if client is not None:
                    for item in ready:
                        submit(*item)
                    ready.clear()
            if client is None:
                client, cluster = self._started(starting)
            for item in ready:
                submit(*item)
            self.timing["first result after"] = 0.0
            t_loop = time.monotonic()
            for fut in pending or []:
                if not self.timing["first result after"]:
                    self.timing["first result after"] = time.monotonic() - t_loop
                kind, sub, resources, warnings = meta.pop(fut.key)
                try:
                    value = fut.result()
                except Exception as exc:  # a worker lost, a task that failed
                    if kind == "execute":
                        r = Result(sub.student, sub.chapter, CRASHED, message=f"grading worker failed: {exc}"[:300])
                        results.append(r)
                        self._record(self._entry(sub, r))
                        progress.step(sub.student)
                    continue
                if kind == "execute":
                    t0 = time.monotonic()
                    r, html_job = self._save(sub, value, resources, warnings)
                    self.timing["save"] += time.monotonic() - t0
                    self.timing["execute (workers)"] += value["seconds"]
                    results.append(r)
                    if html_job is not None:
                        ffut = client.submit(worker.render_feedback, *html_job, pure=False)
                        meta[ffut.key] = ("feedback", sub, r, None)
                        pending.add(ffut)
                    else:
                        self._record(self._entry(sub, r))
                    progress.step(sub.student)
                else:  # feedback
                    t0 = time.monotonic()
                    path = self.course.feedback_file(sub.student, sub.chapter)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(value)
                    self._record(self._entry(sub, resources))
                    self.timing["write feedback"] += time.monotonic() - t0
        finally:
            self.shared.__exit_patch__()
            if client is None and not starting.cancel():
                client, cluster = starting.result()
            t0 = time.monotonic()
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
            if zygote is not None:
                import signal

                os.environ.pop("AUTOGRADE_ZYGOTE", None)
                try:
                    os.killpg(zygote.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                zygote.wait()
                shutil.rmtree(os.path.dirname(sock), ignore_errors=True)
            self.timing["stop workers"] += time.monotonic() - t0
        t0 = time.monotonic()
        self.course.export(out, results)
        self.timing["export"] += time.monotonic() - t0
        return results

    def _started(self, starting):
        """The client once the workers are up; each worker then warms up first."""
        from autograde import worker

        t0 = time.monotonic()
        client, cluster = starting.result()
        self.timing["wait for workers"] += time.monotonic() - t0
        for address in client.scheduler_info()["workers"]:
            client.submit(worker.warm_up, self.settings.worker_settings(), workers=[address], pure=False)
        return client, cluster

    # ------------------------------------------------------------ steps
    def _set_due(self, chapters, due: datetime.datetime) -> None:
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url, "sequence-models-1") as gb:
            for ch in chapters:
                gb.update_or_create_assignment(ch.assignment, duedate=due)

    def _prepare(self, sub: Submission):
        """Copy the submission into the course, register it, sanitize it. Returns
        (notebook, resources, warnings) or a Result for what cannot be graded."""
        from nbgrader.utils import parse_utc

        ch = sub.chapter
        dest_dir = self.course.root / "submitted" / sub.student / ch.assignment
        if dest_dir.exists():
            shutil.rmtree(dest_dir)
        dest_dir.mkdir(parents=True)
        dest = dest_dir / ch.path.name
        shutil.copyfile(sub.path, dest)
        if sub.timestamp:
            (dest_dir / "timestamp.txt").write_text(sub.timestamp)
        warnings = list(sub.warnings)
        problem = _unreadable(dest)
        if problem:
            return Result(sub.student, ch, UNREADABLE, message=problem)
        try:
            nb = nbformat.read(dest, as_version=4)
        except Exception as exc:
            return Result(sub.student, ch, UNREADABLE, message=f"the notebook cannot be read: {exc}"[:300])
        with self.shared as gb:
            gb.update_or_create_student(sub.student)
            ts = parse_utc(sub.timestamp) if sub.timestamp else None
            if ts is not None:
                gb.update_or_create_submission(ch.assignment, sub.student, timestamp=ts)
            else:
                gb.update_or_create_submission(ch.assignment, sub.student)
        resources = {"nbgrader": {"notebook": ch.notebook, "assignment": ch.assignment, "student": sub.student,
                                  "db_url": self.db_url}, "metadata": {"path": str(dest_dir)}}
        capture = _Capture()
        plog = logging.getLogger(f"autograde.sanitize.{sub.student}")
        plog.propagate = False
        plog.addHandler(capture)
        try:
            edited = self._edited_locked_cells(ch, nb)
            for pp in self._preprocessors("sanitize_preprocessors", plog):
                nb, resources = pp(nb, resources)  # __call__ skips a preprocessor that is not enabled
                # DeduplicateIds leaves an empty nbgrader dict on a copied cell, which the
                # metadata check then rejects (the whole notebook fails in plain nbgrader):
                # the copy is just an ordinary cell
                for cell in nb.cells:
                    if cell.get("metadata", {}).get("nbgrader", None) == {}:
                        del cell.metadata["nbgrader"]
        except Exception as exc:
            return Result(sub.student, ch, UNREADABLE,
                          message=f"the notebook's structure cannot be graded ({type(exc).__name__}: {exc})"[:300])
        finally:
            plog.removeHandler(capture)
        warnings += [f"the locked cell {gid!r} was edited; the original was put back and graded" for gid in edited]
        warnings += _plain_warnings(capture.messages)
        return nb, resources, warnings

    def _edited_locked_cells(self, ch: course.Chapter, nb) -> list[str]:
        """Grade ids of locked cells whose source differs from the released notebook
        (nbgrader restores them; its own log cannot tell an edit from the hidden tests
        it puts back)."""
        if ch.assignment not in self._released_cells:
            rel = nbformat.read(self.course.root / "release" / ch.assignment / ch.path.name, as_version=4)
            self._released_cells[ch.assignment] = {
                c.metadata["nbgrader"]["grade_id"]: c.source for c in rel.cells
                if c.metadata.get("nbgrader", {}).get("locked") and not c.metadata["nbgrader"].get("solution")}
        locked = self._released_cells[ch.assignment]
        return [gid for c in nb.cells if (gid := c.get("metadata", {}).get("nbgrader", {}).get("grade_id")) in locked
                and c.source != locked[gid]]

    def _preprocessors(self, which: str, plog) -> list:
        from nbgrader.converters import Autograde

        classes = Autograde.class_traits()[which].default()  # nbgrader's own lists, in its order
        return [cls(config=self.config, log=plog) for cls in classes]

    def _save(self, sub: Submission, value: dict, resources: dict, warnings: list[str]):
        """nbgrader's post-processing and grade saving (the single gradebook writer)."""
        from nbgrader.preprocessors import GetGrades

        from autograde import worker
        from autograde.feedback import HideHiddenTests, summary_cell

        ch = sub.chapter
        nb = _loads(value["nb"])
        capture = _Capture()
        plog = logging.getLogger(f"autograde.save.{sub.student}")
        plog.propagate = False
        plog.addHandler(capture)
        try:
            # [0] is Execute, done by a worker; the last is CheckCellMetadata, which already
            # ran on this notebook before execution (which changes no metadata)
            for pp in self._preprocessors("autograde_preprocessors", plog)[1:-1]:
                nb, resources = pp(nb, resources)
        finally:
            plog.removeHandler(capture)
        out = self.course.root / "autograded" / sub.student / ch.assignment / ch.path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(_dumps(nb))
        status = {worker.OK: GRADED, worker.TIMED_OUT: TIMED_OUT, worker.CRASHED: CRASHED}[value["status"]]
        errors = [f"{o.get('ename')}: {o.get('evalue', '')}" for c in nb.cells if c.cell_type == "code"
                  for o in c.outputs if o.get("output_type") == "error"]
        if any("MemoryError" in e for e in errors):
            limit = f" (limit {self.settings.mem_limit / 2**30:g} GiB per kernel)" if self.settings.mem_limit else ""
            warnings.append(f"the notebook ran out of memory{limit}")
        if any("Output truncated" in o.get("text", "") or "[output truncated by the grader" in o.get("text", "")
               for c in nb.cells if c.cell_type == "code" for o in c.outputs):
            warnings.append("a cell printed too much output; it was cut")
        if status == GRADED and warnings:
            status = WARNINGS
        r = self._result(sub.student, ch)
        r.status = status
        r.message = value["message"] or "; ".join(dict.fromkeys(warnings))
        with self.shared as gb:
            s = gb.find_submission(ch.assignment, sub.student)
            r.seconds_late = float(s.total_seconds_late or 0)
        r.diagnoses = _diagnoses(nb)
        r.worker = value.get("worker", "")
        # feedback: grades from the gradebook (manual grades included), hidden code removed
        fres = {"nbgrader": dict(resources["nbgrader"])}
        nb_fb = nbformat.from_dict(nb)
        nb_fb, fres = GetGrades(config=self.config).preprocess(nb_fb, fres)
        nb_fb, fres = HideHiddenTests(config=self.config).preprocess(nb_fb, fres)
        nb_fb.cells.insert(0, summary_cell(nb_fb, r))
        return r, (_dumps(nb_fb), fres["nbgrader"])

    # ------------------------------------------------------------ after grading
    def results_from_records(self) -> list[Result]:
        results = []
        for (student, assignment), entry in sorted(self._journal().items()):
            try:
                ch = course.by_assignment(assignment)
            except KeyError:
                continue
            sub = Submission(student, ch, pathlib.Path("."))
            try:
                results.append(self._result_from_journal(sub, entry))
            except Exception:  # graded once, since removed from the gradebook
                continue
        return results

    def regenerate_feedback(self) -> list[pathlib.Path]:
        from nbgrader.preprocessors import GetGrades

        from autograde import worker
        from autograde.feedback import HideHiddenTests, summary_cell

        written = []
        by_key = {(r.student, r.chapter.assignment): r for r in self.results_from_records() if r.chapter}
        for path in sorted((self.course.root / "autograded").glob("*/*/*.ipynb")):
            student, assignment = path.parent.parent.name, path.parent.name
            r = by_key.get((student, assignment))
            if r is None:
                continue
            nb = nbformat.read(path, as_version=4)
            res = {"nbgrader": {"notebook": r.chapter.notebook, "assignment": assignment, "student": student,
                                "db_url": self.db_url}}
            nb, res = GetGrades(config=self.config).preprocess(nb, res)
            nb, res = HideHiddenTests(config=self.config).preprocess(nb, res)
            nb.cells.insert(0, summary_cell(nb, r))
            out = self.course.feedback_file(student, r.chapter)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(worker.render_feedback(_dumps(nb), res["nbgrader"]))
            written.append(out)
        return written

    def _result(self, student: str, ch: course.Chapter) -> Result:
        return self.course._result(student, ch, self.shared.gb)

    def _entry(self, sub: Submission, r: Result) -> dict:
        return {"student": sub.student, "assignment": sub.chapter.assignment, "sha256": _sha256(sub.path)
                if sub.path.exists() else "", "status": r.status, "message": r.message,
                "seconds_late": getattr(r, "seconds_late", 0.0), "diagnoses": getattr(r, "diagnoses", []),
                "worker": getattr(r, "worker", ""),
                "done": True, "at": datetime.datetime.now(datetime.timezone.utc).isoformat()}

    def _result_from_journal(self, sub: Submission, entry: dict) -> Result:
        if entry["status"] == UNREADABLE:
            r = Result(sub.student, sub.chapter, UNREADABLE, message=entry.get("message", ""))
        else:
            r = self.course._result(sub.student, sub.chapter)  # scores from the gradebook (manual grades too)
            r.status, r.message = entry["status"], entry.get("message", "")
        r.seconds_late = entry.get("seconds_late", 0.0)
        r.diagnoses = entry.get("diagnoses", [])
        return r


def _plain_warnings(messages: list[str]) -> list[str]:
    """nbgrader's log lines about a submission, in words for the instructor."""
    out = []
    for m in messages:
        if "'checksum'" in m:
            continue  # nbgrader puts the hidden tests back this way; real edits are found by _edited_locked_cells
        if "Missing grade cell" in m:
            out.append("a test cell was deleted; it was put back and graded")
        elif "has changed" in m and "'cell_type'" in m:
            out.append("a cell's type was changed; it was restored")
        elif "has changed" in m and "'locked'" in m:
            out.append("a cell was unlocked; it was locked again")
        elif "has changed" in m and "'points'" in m:
            out.append("a cell's points were changed; the original points count")
        elif "exists multiple times" in m:
            out.append("a cell was copied (duplicate grade id); the copy was ignored")
        elif "does not exist in the database" in m:
            out.append("a cell has an unknown grade id; it was ignored")
        else:
            out.append(m[:200])
    return list(dict.fromkeys(out))


def _diagnoses(nb) -> list[str]:
    """The hidden checks' diagnoses in a graded notebook ("It looks like ...")."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        for o in cell.outputs:
            if o.get("output_type") == "error" and o.get("ename") == "CheckFailed":
                msg = o.get("evalue", "")
                if "looks like" in msg:
                    msg = msg.split("looks like", 1)[1].strip()
                found.append(f"{cell.metadata['nbgrader']['grade_id'].removeprefix('test_')}: {msg}"[:300])
    return found
