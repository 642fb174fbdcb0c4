"""Run one learner's notebook in its sandbox and grade it from the trusted side.

The notebook runs cell by cell, as nbgrader runs it. At each grade cell the runner
opens a window (``autograde.boundary.trusted.Window``): the kernel answers the grader's
calls in a silent cell (``harness.serve``), the hidden check runs here, in the worker,
calling the learner's function with plain data and comparing with the reference, and
then the visible tests of the cell run in the kernel with the same stand-ins in place.
The verdict is the check's, made here; nothing the kernel prints or returns is read as
a score. A grade cell whose check never ran (the kernel died, timed out or stopped
answering) has no verdict, which the coordinator counts as 0.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import threading
import time
import traceback

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils

from autograde.boundary.trusted import BoundaryError, BoundaryTimeout, Window
from autograde.execution.kernel import SandboxKernelManager
from autograde.settings import GradeSettings
from autograde.status import Status

log = logging.getLogger("autograde.runner")

SERVE = '__import__("harness").serve()'
MAX_OUTPUTS_PER_CELL = 500  # outputs kept per cell (the kernel may send millions of tiny ones)


@dataclasses.dataclass
class RunSettings:
    """What a worker needs to run a notebook (sent as plain data to every worker); each
    default is the one ``autograde.settings.GradeSettings`` declares."""

    cell_timeout: float = GradeSettings.default("cell_timeout")
    notebook_timeout: float = GradeSettings.default("notebook_timeout")
    max_output_bytes: int = GradeSettings.default("max_output_bytes")
    figures: bool = GradeSettings.default("figures")
    interrupt_grace: float = GradeSettings.default("interrupt_grace")


@dataclasses.dataclass
class Plan:
    """What to grade in one notebook: its chapter, the gradebook's grade cells, the
    cells it need not run (figure-only cells the learner left as released), and the
    course names the learner defined again for themselves (no stand-in replaces those)."""

    assignment: str
    grade_ids: list[str]
    skip: list[int] = dataclasses.field(default_factory=list)
    rewrite: dict = dataclasses.field(default_factory=dict)
    """cell index (as a string) -> the import statements of that course cell that are needed"""
    own: dict = dataclasses.field(default_factory=dict)
    """grade id -> the course names the learner's cells before it define for themselves
    (``autograde.execution.plan.own_definitions``): they keep the learner's definition while it is graded"""


def ending(exc: BaseException, expired: bool, notebook_timeout: float, lost: str | None = None) -> tuple[Status, str]:
    """The status and message of a run that stopped early: ``exc`` stopped it, ``expired``
    says the notebook's own time ran out (its sandbox was killed), ``lost`` is why the
    boundary channel broke, if it did."""
    if expired:
        return Status.TIMED_OUT, f"the notebook ran longer than {notebook_timeout:g} s"
    if isinstance(exc, (BoundaryTimeout, CellTimeoutError)):
        return Status.TIMED_OUT, f"{exc}; the notebook was stopped"[:300]
    why = lost or f"{type(exc).__name__}: {exc}"
    return Status.CRASHED, f"the kernel died or stopped answering the grader ({why})"[:300]


def verdict(passed: bool, message: str, diagnosis: str | None = None, mistake: str | None = None,
            score: float | None = None, parts: dict | None = None) -> dict:
    """One exercise's trusted verdict; ``score``: the share of its points earned (1 when
    passed; partial credit from the sub-checks in ``parts``, sub-check -> passed)."""
    share = (1.0 if passed else 0.0) if score is None else min(1.0, max(0.0, float(score)))
    return {"passed": passed, "message": message, "diagnosis": diagnosis, "mistake": mistake, "score": share,
            "parts": dict(parts or {})}


def _parts(checks, exercise: str, failed: dict) -> dict:
    """Sub-check -> {"passed", "weight"} for an exercise with partial credit (``PARTS``)."""
    weights = getattr(checks, "PARTS", {}).get(exercise, {})
    return {k: {"passed": bool(failed.get(k, True)) if failed else True, "weight": float(w)}
            for k, w in weights.items()}


class CappedClient(NotebookClient):
    """nbclient's executor, keeping at most ``max_output_bytes`` of each cell's output
    (and at most MAX_OUTPUTS_PER_CELL outputs): what the kernel sends beyond is dropped
    here, on the grader's side, whatever the kernel does to its own output streams."""

    max_output_bytes = 100_000
    timed_out = False  # a cell ran past its time (and was interrupted)
    grace = 10.0  # seconds past the cell's timeout before the sandbox is stopped
    on_stuck = None  # called when a cell did not stop when interrupted (stops the sandbox)

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """nbclient's, except that a kernel that ignores the interrupt (a loop in C, a
        handler of its own) does not keep the notebook waiting: ``grace`` seconds after the
        interrupt the sandbox is stopped and the run ends here, timed out."""
        task = asyncio.ensure_future(super().async_execute_cell(cell, cell_index, execution_count, store_history))
        done, _ = await asyncio.wait({task}, timeout=self.timeout + self.grace if self.timeout else None)
        if task in done:
            return task.result()
        self.timed_out = True
        if self.on_stuck is not None:
            self.on_stuck()
        task.cancel()  # (nbclient reports its own cancellation as a dead kernel: not what happened)
        with contextlib.suppress(BaseException):
            await task
        raise CellTimeoutError(f"a cell ran longer than {self.timeout:g} s and did not stop when interrupted "
                               f"({self.grace:g} s later); its sandbox was stopped")

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") in ("stream", "display_data", "execute_result", "error", "update_display_data"):
            size = len(json.dumps(msg.get("content", {}), default=str))
            used = cell.metadata.setdefault("autograde_output_bytes", 0)
            if used + size > self.max_output_bytes or len(cell.get("outputs", [])) >= MAX_OUTPUTS_PER_CELL:
                if not cell.metadata.get("autograde_truncated"):
                    cell.metadata["autograde_truncated"] = True
                    cell.outputs.append(nbformat.v4.new_output(
                        "stream", name="stdout", text=f"\n[output truncated by the grader after {used} bytes]\n"))
                return None
            cell.metadata["autograde_output_bytes"] = used + size
        return super().process_message(msg, cell, cell_index)


class NotebookRun:
    """One notebook in one sandbox: ``run()`` returns the executed notebook, the trusted
    verdicts and how the run ended."""

    def __init__(self, nb, plan: Plan, settings: RunSettings, sandbox, caller=None):
        self.nb = nb
        self.caller = caller  # where stand-ins run (autograde.execution.budget.BoundedCaller)
        self.plan = plan
        self.settings = settings
        self.sandbox = sandbox
        self.checks = importlib.import_module(f"autograde.checks.{plan.assignment}")
        self.verdicts: dict[str, dict] = {}
        self.warnings: list[str] = []
        self.outcome, self.message = Status.GRADED, ""
        self.expired = threading.Event()
        self.channel = None
        self.windows_timed_out = False

    # ------------------------------------------------------------ the run
    def run(self) -> dict:
        from autograde.boundary.trusted import Channel

        started = time.monotonic()
        self.channel = Channel(self.sandbox.channel_socket)
        watchdog = threading.Timer(self.settings.notebook_timeout, self._expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            asyncio.run(self._run())
        finally:
            watchdog.cancel()
            self.sandbox.kill()
            self.channel.close()
        for gid in self.plan.grade_ids:  # fail closed: a grade cell never reached has no verdict
            self.verdicts.setdefault(gid, verdict(False, self.message or "this cell was never reached"))
        return {"nb": json.dumps(self.nb, ensure_ascii=False), "verdicts": self.verdicts, "status": self.outcome.value,
                "message": self.message, "warnings": self.warnings, "seconds": round(time.monotonic() - started, 3)}

    def _expire(self) -> None:
        self.expired.set()
        self.sandbox.kill()

    async def _run(self) -> None:
        km = SandboxKernelManager()
        km.sandbox = self.sandbox
        client = CappedClient(self.nb, km=km, timeout=self.settings.cell_timeout, interrupt_on_timeout=True,
                              allow_errors=True, shutdown_kernel="immediate", startup_timeout=60,
                              record_timing=False, log=log)
        client.max_output_bytes = self.settings.max_output_bytes
        client.grace, client.on_stuck = self.settings.interrupt_grace, self.sandbox.kill
        self.client = client
        self.loop = asyncio.get_running_loop()
        index = None
        try:
            async with client.async_setup_kernel():
                done: set[str] = set()
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code" or (index in self.plan.skip and not self.settings.figures):
                        continue
                    gid = cell.metadata["nbgrader"].get("grade_id") if utils.is_grade(cell) else None
                    if gid in self.plan.grade_ids and gid not in done:
                        done.add(gid)
                        await self._grade(cell, index, gid, done)
                    elif str(index) in self.plan.rewrite and not self.settings.figures:
                        await self._execute_as(cell, index, self.plan.rewrite[str(index)])
                    else:
                        await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                index = None
        except (DeadKernelError, BoundaryError, CellTimeoutError, RuntimeError, OSError) as exc:
            self._ended(exc, index)
        except Exception as exc:  # noqa: BLE001 - nbclient choked on what the kernel sent
            self._ended(exc, index)
        finally:
            # nbclient leaves a kernel manager it was given open: close its channels and
            # its zmq context here, or every notebook leaves ~15 descriptors in the worker
            with contextlib.suppress(Exception):
                if client.kc is not None:
                    client.kc.stop_channels()
            km.context.destroy(linger=0)
        if self.outcome == Status.GRADED and (client.timed_out or self.windows_timed_out):
            self.outcome = Status.TIMED_OUT
            self.message = f"a cell or a check ran longer than {self.settings.cell_timeout:g} s and was interrupted"

    def _ended(self, exc: BaseException, index: int | None) -> None:
        self.outcome, self.message = ending(exc, self.expired.is_set(), self.settings.notebook_timeout,
                                           getattr(self.channel, "lost", None))
        if index is not None:
            for k, cell in enumerate(self.nb.cells[index:], start=index):
                if cell.cell_type == "code":
                    where = "while this cell ran" if k == index else "before this cell ran"
                    ran = list(cell.get("outputs", [])) if k == index else []  # what it printed before
                    cell.outputs = ran + [nbformat.v4.new_output("error", ename="NotRun", evalue=f"{self.message} {where}",
                                                                 traceback=[f"NotRun: {self.message} {where}"])]

    async def _execute_as(self, cell, index: int, source: str) -> None:
        """Run ``source`` in place of the cell's own (the imports of it that are needed);
        the notebook keeps the cell's own source."""
        original = cell.source
        cell.source = source
        try:
            await self.client.async_execute_cell(cell, index, execution_count=self.client.code_cells_executed + 1)
        finally:
            self.nb.cells[index].source = original

    # ------------------------------------------------------------ a grade cell
    async def _grade(self, cell, index: int, gid: str, done: set[str]) -> None:
        name = gid.removeprefix("test_")
        pending = frozenset(g.removeprefix("test_") for g in self.plan.grade_ids if g not in done) | {name}
        window = Window(self.channel, budget=self.settings.cell_timeout, pending=pending,
                        own=frozenset(self.plan.own.get(gid, ())), caller=self.caller)
        try:
            serving = await self._serve()
            self.verdicts[gid] = await asyncio.to_thread(self._check, window, name)
            await self._served(serving)
            await self.client.async_execute_cell(cell, index, execution_count=self.client.code_cells_executed + 1)
            if window.stood_in:
                serving = await self._serve()
                await asyncio.to_thread(self._restore, window)
                await self._served(serving)
        finally:
            self.windows_timed_out |= window.timed_out
            window.close()

    async def _serve(self) -> str:
        return await asyncio.ensure_future(_maybe_await(self.client.kc.execute(
            SERVE, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)))

    async def _served(self, msg_id: str) -> None:
        """Wait for the reply to the silent cell that served the grader."""
        from queue import Empty

        deadline = time.monotonic() + self.settings.cell_timeout
        while time.monotonic() < deadline:
            try:
                msg = await self.client.kc.shell_channel.get_msg(timeout=min(1.0, self.settings.cell_timeout))
            except Empty:
                if not await self.client.km.is_alive():
                    raise BoundaryError("the kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return
        raise BoundaryTimeout("the kernel did not finish the grader's request")

    def _check(self, window: Window, name: str) -> dict:
        """The trusted verdict of one exercise (runs in a thread; the event loop stays free)."""
        from autograde.checks import CheckFailed, run

        window.wait_ready(timeout=self.settings.cell_timeout)
        try:
            run(self.checks, name, window.learner(name))  # a failure names its mistake
            result = verdict(True, "passed", parts=_parts(self.checks, name, {}))
        except CheckFailed as failed:
            result = verdict(False, str(failed), failed.diagnosis, failed.mistake, failed.score,
                             _parts(self.checks, name, failed.parts))
        except Exception as exc:  # noqa: BLE001 - a bug on our side: no points, and the instructor is told
            self.warnings.append(f"the hidden check of {name} failed with an internal error "
                                 f"({type(exc).__name__}: {exc}); it scored 0")
            log.error("check_%s: %s", name, traceback.format_exc())
            result = verdict(False, "the grader could not check this exercise (an internal error); "
                                    "your instructor has been told")
        window.end()
        return result

    @staticmethod
    def _restore(window: Window) -> None:
        window.wait_ready()
        window.request({"op": "restore"})
        window.end()


async def _maybe_await(value):
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value
