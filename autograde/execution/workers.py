"""Grading workers on dask.distributed, and what each worker process does.

The coordinator runs a LocalCluster (one single-threaded worker process per core by
default) or connects to an existing cluster (``--scheduler``). A LocalCluster speaks
TLS with a temporary certificate that only the coordinator and its workers hold, on
loopback, so nobody else on the machine can reach it; learners' kernels have no
network at all. A worker that dies is restarted by its nanny; the scheduler gives its
notebook to another worker once (``allowed-failures``) and then reports it lost, and the
coordinator then scores that notebook 0 with status ``crashed``.

Each worker process keeps a :class:`SandboxPool`: the sandbox for its next notebook is
started while the current one runs, so a notebook never waits for its kernel's imports.
A local worker watches its parent: if the coordinator dies (even by ``kill -9``) the
worker kills its sandboxes, removes its folder and exits, so nothing outlives a run.
"""
from __future__ import annotations

import atexit
import logging
import os
import pathlib
import queue
import shutil
import socket
import tempfile
import threading
import time

import nbformat

from autograde.execution.runner import NotebookRun, Plan, RunSettings
from autograde.execution.sandbox import Limits, SandboxFactory
from autograde.status import Status

log = logging.getLogger("autograde")


# ---------------------------------------------------------------- in each worker process
class SandboxPool:
    """This process's sandboxes: one ready ahead. Sandboxes are started from one
    long-lived thread, because ``bwrap --die-with-parent`` ties a sandbox's life to the
    thread that started it."""

    def __init__(self, factory: SandboxFactory):
        self.factory = factory
        self._requests: queue.Queue = queue.Queue()
        self._launcher = threading.Thread(target=self._launch, name="sandbox-launcher", daemon=True)
        self._launcher.start()
        self._next = None
        self._lock = threading.Lock()
        self.live: set = set()

    def _launch(self) -> None:
        while True:
            reply = self._requests.get()
            try:
                reply.put(self.factory.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                reply.put(exc)

    def _start(self):
        reply: queue.Queue = queue.Queue()
        self._requests.put(reply)
        sandbox = reply.get()
        if isinstance(sandbox, BaseException):
            raise sandbox
        self.live.add(sandbox)
        return sandbox

    def take(self):
        """A started sandbox for the next notebook; the one after is started at once."""
        with self._lock:
            sandbox = self._next if self._next is not None and self._next.alive() else self._start()
            self._next = self._start()
            return sandbox

    def prime(self) -> None:
        """Start the sandbox for the first notebook now."""
        with self._lock:
            if self._next is None:
                self._next = self._start()

    def close(self) -> None:
        with self._lock:
            for sandbox in list(self.live):
                sandbox.kill()
            self.live.clear()
            self._next = None


_STATE: dict = {"pool": None, "key": None, "dir": None, "run": None, "caller": None, "steps": None}
_STATE_LOCK = threading.Lock()


def _pool(settings: dict) -> SandboxPool:
    key = (settings.get("memory"), settings.get("figures"), settings.get("max_output_bytes"),
           tuple(settings.get("hidden", [])))
    with _STATE_LOCK:
        if _STATE["pool"] is None or _STATE["key"] != key:
            if _STATE["pool"] is not None:
                _STATE["pool"].close()
            if _STATE["dir"] is None:
                root = settings.get("tmp_root")  # the coordinator's run folder, when it is on this machine
                _STATE["run"] = root if root and os.path.isdir(root) else None
                _STATE["dir"] = pathlib.Path(tempfile.mkdtemp(prefix=f"autograde-worker-{os.getpid()}-",
                                                              dir=root if root and os.path.isdir(root) else None))
                atexit.register(_cleanup)
            limits = Limits(memory=settings.get("memory"),
                            cpu_seconds=int(settings["notebook_timeout"]) + 60)
            factory = SandboxFactory(_STATE["dir"], limits, figures=bool(settings.get("figures")),
                                     max_output_bytes=int(settings["max_output_bytes"]),
                                     hidden=list(settings.get("hidden", [])),
                                     run_id=pathlib.Path(settings.get("tmp_root") or "").name)
            _STATE["pool"], _STATE["key"] = SandboxPool(factory), key
        return _STATE["pool"]


def _caller(settings: dict):
    """This process's stand-in caller: the reference answering for the sandbox runs in a
    process of its own, under the exercise's time and ``stand_in_memory`` bytes."""
    from autograde.execution.budget import BoundedCaller

    with _STATE_LOCK:
        if _STATE["caller"] is None:
            _STATE["caller"] = BoundedCaller(memory=settings.get("stand_in_memory"))
        return _STATE["caller"]


def _cleanup() -> None:
    if _STATE["caller"] is not None:
        _STATE["caller"].close()
    if _STATE.get("steps") is not None:
        _STATE["steps"].close()
    from autograde.execution.budget import stop_forkserver

    stop_forkserver()
    if _STATE["pool"] is not None:
        _STATE["pool"].close()
    if _STATE["dir"] is not None:
        shutil.rmtree(_STATE["dir"], ignore_errors=True)


def grade_notebook(nb_json: str, plan: dict, settings: dict) -> dict:
    """Run and grade one sanitized notebook (a dask task: plain data in and out). It
    returns within the notebook's time limit and a minute, whatever the notebook does:
    past that, its sandbox is killed and it has no verdicts."""
    run = RunSettings(**{k: settings[k] for k in ("cell_timeout", "notebook_timeout", "max_output_bytes", "figures")},
                      interrupt_grace=settings.get("interrupt_grace", 10))
    sandbox = _pool(settings).take()
    notebook = NotebookRun(nbformat.v4.nbjson.reads(nb_json), Plan(**plan), run, sandbox, caller=_caller(settings))
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(notebook.run()), name="notebook", daemon=True)
    thread.start()
    thread.join(run.notebook_timeout + 60)
    sandbox.kill()
    _STATE["pool"].live.discard(sandbox)
    if not done:  # the run is stuck on our side: no verdict, and the class goes on
        done = {"nb": nb_json, "status": Status.CRASHED.value, "warnings": [], "seconds": run.notebook_timeout + 60,
                "message": "grading this notebook got stuck and was abandoned; it scored 0",
                "verdicts": {gid: {"passed": False, "message": "no verdict: grading got stuck", "diagnosis": None}
                             for gid in plan["grade_ids"]}}
    done["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return done


def _steps(settings: dict):
    """This process's pool for bounded steps (the feedback page)."""
    from autograde.execution.budget import BoundedPool

    with _STATE_LOCK:
        if _STATE.get("steps") is None:
            _STATE["steps"] = BoundedPool(1, settings.get("step_memory", 2**30), preload=("autograde.outputs.feedback",))
        return _STATE["steps"]


def render_feedback(nb_json: str, nbgrader_resources: dict, settings: dict | None = None) -> str:
    """The feedback page, made in a bounded process of this worker (``feedback_seconds``,
    ``step_memory``); a page over budget is an error for that submission alone."""
    from autograde.outputs import feedback

    settings = settings or {}
    return _steps(settings).run(feedback.render, nb_json, nbgrader_resources,
                               seconds=float(settings.get("feedback_seconds", 60)), what="making the feedback page")


def warm_up(settings: dict) -> int:
    """Start this worker's first sandbox and import what grading needs, ahead of the first notebook."""
    import importlib

    from autograde import course
    from autograde.outputs import feedback

    _pool(settings).prime()
    _caller(settings).pool.run(int, seconds=60)  # its process is started now, not at the first stand-in
    for ch in course.chapters():
        importlib.import_module(ch.checks_module)
    feedback.exporter()
    _steps(settings).submit(feedback.warm, seconds=120)  # its process compiles the templates now
    return os.getpid()


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.25)
        if os.getppid() != parent:  # the coordinator is gone (killed): leave nothing behind
            _cleanup()
            run = _STATE["run"]
            if run and pathlib.Path(run).name.startswith(f"autograde-run-{parent}-"):
                shutil.rmtree(run, ignore_errors=True)  # its own folder, which it could not remove
            os._exit(3)


def dask_setup(worker=None) -> None:
    """Run by every worker of a LocalCluster as it starts (its preload)."""
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()


def dask_teardown(worker=None) -> None:
    _cleanup()
