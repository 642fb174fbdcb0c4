"""The service's one grading loop: a background thread that takes queued submissions
from the store, oldest first, hands them to a backend (the grader on its dask cluster),
and writes each verdict back; then it applies the chapter's rule of which submission
counts.

The backend runs the same pipeline as ``grade`` (``autograde.pipeline.STEPS``,
``GraderBackend``): each submission is stored read-only under ``<course>/submitted``
(hashed), sanitized against the gradebook, run in a fresh sandbox on a dask worker, and
its verdicts saved with nbgrader's SaveAutoGrades, a feedback page rendered, a journal
line written; so ``export``, the report and the formgrader see the service's grades as
they see ``grade``'s. The cluster
stays up while the service runs. Submissions stream through it: as soon as a worker is
free it takes the next in the queue, so a slow notebook holds one worker, not the queue.

Which submission counts (``policies.toml`` ``[service]`` ``counts``): the gradebook holds
one submission per learner and chapter, the last graded. When the one just graded is not
the one that counts (a later, worse attempt under ``best``; one after the due date when
one before it exists under ``last``), the one that counts is queued again (a ``restore``
job, invisible to the learner) and graded again from its stored copy with its own
submission time, so the gradebook and journal hold it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import os
import pathlib
import threading
import time

from autograde import course, policies
from autograde.service import store as st

log = logging.getLogger("autograde.service")


def outcome_of(r, feedback_html: str | None) -> dict:
    """What the service keeps of a grader ``Result``."""
    return {"status": str(r.status.value if hasattr(r.status, "value") else r.status), "score": r.score,
            "max_score": r.max_score, "exercises": dict(r.exercises), "points": dict(r.points),
            "verdicts": dict(r.verdicts), "message": r.message or "", "seconds_late": r.seconds_late,
            "feedback": feedback_html}


class GraderBackend:
    """The grading run's own pipeline (``autograde.pipeline.STEPS`` through the
    coordinator's ``Pipeline``), kept open while the service runs: each queued submission
    is fed to it as it is claimed, and its result read back as its walk ends."""

    def __init__(self, c, settings):
        self.course, self.settings = c, dataclasses.replace(settings, force=True)  # every upload is graded
        self.sids: dict = {}  # (student, chapter) -> service id: the loop grades one per pair at a time
        self.stack = contextlib.ExitStack()
        self.capacity = (settings.workers or os.cpu_count() or 1) + 1
        self.last_policies = 0.0
        self.dirty = False

    def start(self) -> None:
        from autograde.coordinator import Grader, run_folder
        from autograde.execution import cluster

        missing = [ch for ch in course.chapters() if not self.course.released(ch)]
        if missing:
            self.course.release(missing)
        self.grader = Grader(self.course, self.settings)
        folder = self.stack.enter_context(run_folder())
        starting = cluster.start_in_background(self.settings.workers, self.settings.scheduler,
                                               self.settings.worker_memory)
        self.run = self.stack.enter_context(self.grader.pipeline([str(self.course.root), str(folder)],
                                                                 str(folder), starting))

    def submit(self, row: dict) -> None:
        from autograde.records import Submission

        ch = course.by_assignment(row["assignment"])
        stamp = row["received"].strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        sub = Submission(row["student"], ch, pathlib.Path(row["path"]), stamp, name=row["student"],
                         source=row["filename"])
        self.sids[(sub.student, ch.assignment)] = row["id"]
        self.run.feed([sub])

    def poll(self, timeout: float) -> list[tuple[str, dict]]:
        out = []
        for r in self.run.poll(timeout):
            page = None
            if r.page is not None:
                with contextlib.suppress(OSError):
                    page = r.page.read_text(encoding="utf-8")
            out.append((self.sids.pop((r.student, r.chapter.assignment)), outcome_of(r, page)))
            self.dirty = True
        if self.dirty and time.monotonic() - self.last_policies > 2.0:
            self.apply_policies()
        return out

    def apply_policies(self) -> None:
        """The late rules onto every graded submission (as ``grade`` does after a run)."""
        self.dirty, self.last_policies = False, time.monotonic()
        try:
            self.grader.apply_policies([])
        except Exception as exc:  # noqa: BLE001 - the grades stand; the late rules are applied again later
            log.warning("the late rules could not be applied: %s", exc)

    def idle(self) -> None:
        if self.dirty:
            self.apply_policies()

    def close(self) -> None:
        if self.dirty:
            self.apply_policies()
        self.stack.close()


class Loop:
    """The grading loop, in a thread of the service's process."""

    def __init__(self, store: st.Store, backend, course_root: pathlib.Path, assignments: list[str]):
        self.store, self.backend, self.root = store, backend, pathlib.Path(course_root)
        self.assignments = assignments
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.inflight: dict[str, tuple[str, str]] = {}
        self.thread = threading.Thread(target=self._run, name="grading-loop", daemon=True)
        self.error: BaseException | None = None

    def policies(self) -> policies.Policies:
        return policies.load(self.root, self.assignments)

    def start(self) -> None:
        n = self.store.requeue_running()
        if n:
            log.warning("%d submissions were being graded when the service stopped: queued again", n)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=60)

    def _run(self) -> None:
        try:
            self.backend.start()
            while not self.stopping.is_set():
                free = self.backend.capacity - len(self.inflight)
                if free > 0:
                    for row in self.store.claim(free, set(self.inflight.values())):
                        self.inflight[row["id"]] = (row["student"], row["assignment"])
                        try:
                            self.backend.submit(row)
                        except Exception as exc:  # noqa: BLE001 - one submission's failure is its own
                            log.error("%s: %s", row["id"], exc)
                            self._finish(row["id"], {"status": "crashed", "score": 0.0, "max_score": None,
                                                     "message": f"the grader failed ({exc})"[:300]})
                finished = self.backend.poll(0.2 if self.inflight else 0)
                for sid, outcome in finished:
                    self._finish(sid, outcome)
                if not self.inflight and not finished:
                    self.backend.idle()
                    self.wake.wait(0.5)
                    self.wake.clear()
        except BaseException as exc:  # noqa: BLE001 - said in the log and on /api/health
            self.error = exc
            log.exception("the grading loop stopped")
        finally:
            with contextlib.suppress(Exception):
                self.backend.close()

    def _finish(self, sid: str, outcome: dict) -> None:
        self.inflight.pop(sid, None)
        page = outcome.pop("feedback", None)
        if page:
            self.store.feedback.mkdir(parents=True, exist_ok=True)
            (self.store.feedback / f"{sid}.html").write_text(page, encoding="utf-8")
        self.store.finish(sid, outcome["status"], outcome.get("score"), outcome.get("max_score"), outcome)
        row = self.store.get(sid)
        if row is None or row["kind"] != "learner":
            return
        counted = self.counted(row["student"], row["assignment"])
        if counted is not None:
            self.store.set_counts(row["student"], row["assignment"], counted["id"])
            if counted["id"] != sid:  # the gradebook now holds this one: put back the one that counts
                self.store.accept(counted["student"], counted["assignment"], counted["filename"],
                                  pathlib.Path(counted["path"]).read_bytes(), counted["received"], kind="restore",
                                  restores=counted["id"], path=pathlib.Path(counted["path"]))

    def counted(self, student: str, assignment: str) -> dict | None:
        """The graded submission of ``student`` and ``assignment`` that counts, by the chapter's rule."""
        try:
            p = self.policies()
        except policies.PolicyError as exc:  # the file is being edited: the defaults meanwhile
            log.warning("%s", exc)
            p = policies.Policies()
        rule, due = p.service_rule(assignment), p.rule(assignment).due
        graded = [r for r in self.store.of(student, assignment) if r["status"] not in (st.QUEUED, st.RUNNING)]
        if not graded:
            return None
        if rule.counts == "best":
            return max(graded, key=lambda r: (r["score"] or 0.0, r["received"]))
        on_time = [r for r in graded if due is None or r["received"] <= due]
        return max(on_time or graded, key=lambda r: r["received"])


def due_passed(p: policies.Policies, assignment: str, when: datetime.datetime | None = None) -> bool:
    due = p.rule(assignment).due
    return due is not None and (when or st.now()) > due
