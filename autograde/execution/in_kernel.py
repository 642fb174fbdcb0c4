"""The hidden test regions of the nbgrader source notebooks, for plain nbgrader.

``python -m autograde grade`` never runs these: it strips them and runs each check on
the trusted side of the sandbox. They are there so that a plain ``nbgrader autograde``
of the course directory (the formgrader's button, or the benchmark's baseline) grades
the same way, with the same checks over the same protocol, only without a sandbox: the
check runs in a thread of the learner's own kernel, which the learner's code can reach.
That path is as trustworthy as plain nbgrader is, and no more.
"""
from __future__ import annotations

import contextlib
import importlib
import socket
import threading

from autograde.boundary import harness
from autograde.boundary.trusted import Channel, Window
from autograde.nbgrader_glue.config import CELL_TIMEOUT


def _own(assignment: str, name: str, history: list) -> frozenset:
    """The course names the learner's cells run so far define for themselves (the same
    rule as ``autograde.execution.plan.own_definitions``, on the kernel's input
    history): no stand-in replaces them."""
    import nbformat

    from autograde import course
    from autograde.execution.plan import own_definitions

    try:
        released = nbformat.read(course.by_assignment(assignment).path, as_version=4)
        return own_definitions([str(s) for s in history[:-1]], released, before=f"test_{name}")
    except Exception:  # noqa: BLE001 - no history to read: every stand-in as before
        return frozenset()


def run_hidden_check(assignment: str, name: str) -> None:
    """Run ``check_<name>`` of chapter ``assignment`` on the kernel's namespace; raise
    what it raises. Stand-ins stay in place until the cell ends, for the visible tests."""
    from IPython import get_ipython

    shell = get_ipython()
    namespace = shell.user_ns
    check = getattr(importlib.import_module(f"autograde.checks.{assignment}"), f"check_{name}")
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    window = Window(channel, budget=CELL_TIMEOUT, own=_own(assignment, name, namespace.get("In", [])))
    outcome: dict = {}

    def trusted():
        try:
            window.wait_ready()
            check(window.learner(name))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the kernel's thread below
            outcome["error"] = exc
        finally:
            with contextlib.suppress(BaseException):
                window.end()

    thread = threading.Thread(target=trusted, daemon=True)
    thread.start()
    harness.serve(namespace, theirs)  # the learner's functions run here, in the kernel's main thread
    thread.join()

    def restore(*_):  # the stand-ins answer the visible tests too, until the cell ends
        harness.restore(namespace)
        window.close()
        channel.close()
        theirs.close()
        shell.events.unregister("post_run_cell", restore)

    shell.events.register("post_run_cell", restore)
    if "error" in outcome:
        raise outcome["error"]
