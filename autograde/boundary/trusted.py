"""The grader's side of the trust boundary.

A :class:`Channel` is the grader's end of one sandbox's side channel. While one exercise
is graded, a :class:`Window` is open on it: the hidden check gets the learner's answer
as a :class:`RemoteFunction` (or, for an answer that is a value, as plain data), calls it
with plain data and compares the plain-data result with the reference in this process.
``Window.stand_in`` puts stand-ins in the learner's namespace for the other exercises
the function calls; a stand-in's calls come back here and are answered by the
reference, and only while the window is open.

Nothing read from the sandbox is believed beyond "this is what the learner's function
returned": every message is decoded strictly (``wire``), every wait has a deadline, and
anything out of protocol is a :class:`BoundaryError`, which the caller turns into a
missing verdict (no points).
"""
from __future__ import annotations

import contextlib
import itertools
import keyword
import queue
import socket
import threading
import time
from collections.abc import Callable

from autograde.boundary import wire

GRACE = 5.0  # seconds past its deadline a request may take before the sandbox counts as lost
MAX_STAND_IN_INT = 100_000  # the largest integer argument a stand-in answers for
MAX_INBOX = 64  # messages from the sandbox not yet read; the protocol needs one at a time


class BoundaryError(BaseException):
    """The sandbox did not keep to the protocol: it died, stopped answering, or sent
    something that is not a reply. No verdict can be made from it. (A BaseException, so
    that no ``except Exception`` in a check mistakes it for the learner's error.)"""


class BoundaryTimeout(BoundaryError):
    """The sandbox stopped answering: a call ran past its time and was not stopped."""


class CallTimedOut(Exception):
    """A call of the learner's function ran past the time left for its exercise (the
    harness stopped it and answered)."""


class LearnerError(Exception):
    """An exception raised by the learner's code, of a type that is not a builtin; its
    class is named after the learner's."""


class Unsendable(Exception):
    """The learner's function returned something that is not plain data."""


class Opaque:
    """A learner's value that is not plain data (an instance of their own class, say);
    its class is named after the learner's type, so checks can say what they got."""


def _named(base: type, name: object) -> type:
    name = str(name)
    if not (name.isidentifier() and not keyword.iskeyword(name) and len(name) <= 60):
        name = base.__name__
    return type(name, (base,), {})


def learner_exception(error: dict) -> Exception:
    """The exception a learner's call raised, rebuilt here from its type name and
    message: a builtin type as itself (so ``except NotImplementedError`` works), any
    other as a LearnerError named after it."""
    name, message = str(error.get("type", "Exception")), str(error.get("message", ""))[:1000]
    import builtins

    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = _named(LearnerError, name)
    try:
        return cls(message)
    except Exception:  # noqa: BLE001 - a builtin that wants other arguments
        return _named(LearnerError, name)(message)


class Channel:
    """The grader's end of a sandbox's side channel: requests go out in order; a reader
    thread answers the sandbox's call-backs and hands every other message to the waiter."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._send_lock = threading.Lock()
        self._inbox: queue.Queue = queue.Queue(MAX_INBOX)
        self._seq = itertools.count(1)
        self.window: Window | None = None
        self.lost: str | None = None  # why the channel broke, once it has
        self._reader = threading.Thread(target=self._read, name="boundary-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                msg = wire.recv(self.sock)
            except (EOFError, OSError) as exc:
                self._broken(f"the notebook's kernel closed the grader's channel ({type(exc).__name__})")
                return
            except wire.WireError as exc:
                self._broken(f"the notebook sent the grader something that is not plain data ({exc})")
                return
            if msg.get("op") == "callback":
                window = self.window
                reply = window.answer(msg) if window else {
                    "ok": False, "error": {"type": "RuntimeError", "message": "no exercise is being graded"}}
                try:
                    self.send(reply)
                except OSError:
                    pass
            else:
                try:
                    self._inbox.put_nowait(msg)
                except queue.Full:  # out of protocol: the sandbox sends without being asked
                    self._broken(f"the notebook sent the grader more than {MAX_INBOX} messages unasked")
                    return

    def _broken(self, why: str) -> None:
        self.lost = self.lost or why
        with contextlib.suppress(queue.Full):
            self._inbox.put_nowait(None)
        if self._inbox.full():  # make room for the break: nothing queued matters any more
            with contextlib.suppress(queue.Empty):
                self._inbox.get_nowait()
            with contextlib.suppress(queue.Full):
                self._inbox.put_nowait(None)

    def send(self, message: dict) -> None:
        with self._send_lock:
            wire.send(self.sock, message)

    def receive(self, timeout: float) -> dict | None:
        """The next message from the sandbox, or None after ``timeout`` seconds."""
        if self.lost:
            raise BoundaryError(self.lost)
        try:
            msg = self._inbox.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if msg is None:
            with contextlib.suppress(queue.Full):
                self._inbox.put_nowait(None)  # every later waiter sees the break too
            raise BoundaryError(self.lost or "the grader's channel broke")
        return msg

    def next_seq(self) -> int:
        return next(self._seq)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class Window:
    """One exercise being graded. ``budget``: seconds the learner's code may run in all
    the check's calls together (the harness stops a call at the end of it; a sandbox
    that does not answer GRACE seconds later is lost); ``pending``: exercises not graded
    yet in this notebook, which no stand-in may answer for (their own check is still to
    come); ``own``: names the learner defined again for themselves (their own helper with
    a course function's name, see ``autograde.execution.plan.own_definitions``),
    which keep the learner's definition, as they do in Jupyter."""

    def __init__(self, channel: Channel, budget: float, pending: frozenset = frozenset(),
                 own: frozenset = frozenset(), caller=None):
        self.channel = channel
        self.caller = caller
        """where stand-ins run (``autograde.execution.budget.BoundedCaller``: a process under a
        time and memory budget); None: in this thread, for unit tests"""
        self._stand_ins: set[str] = set()
        self.stand_in_calls: list[str] = []
        """the names of the stand-ins the learner's code called, in order (recorded here, on
        the trusted side, whatever process answers them): a check may count them"""
        self.deadline = time.monotonic() + budget
        self.budget = budget
        self.pending = pending
        self.own = own
        self._targets: dict[str, Callable] = {}
        self._ids = itertools.count(1)
        self.stood_in = False  # whether stand-ins were put in place (and must be taken out)
        self.timed_out = False  # whether a call ran past the budget
        channel.window = self

    # ------------------------------------------------------------ the protocol
    def wait_ready(self, timeout: float = 30.0) -> None:
        msg = self.channel.receive(timeout)
        if msg is None or msg.get("op") != "ready":
            raise BoundaryError("the notebook's kernel did not answer the grader"
                                + ("" if msg is None else f" (it sent {str(msg)[:80]!r})"))

    def request(self, message: dict, timeout: float | None = None) -> dict:
        """Send a request and return its reply. A call gets the time left of the budget;
        any other request ``timeout`` seconds (default: what is left of the budget)."""
        seq = self.channel.next_seq()
        left = max(self.deadline - time.monotonic(), 0.001)
        if message.get("op") == "call":
            message = dict(message, seconds=round(left, 3))
        self.channel.send(dict(message, seq=seq))
        until = time.monotonic() + (left if timeout is None else timeout) + GRACE
        while True:
            msg = self.channel.receive(until - time.monotonic())
            if msg is None:
                raise BoundaryTimeout(f"the notebook stopped answering the grader (a call ran past "
                                      f"{self.budget:g} s and was not stopped)")
            if msg.get("seq") == seq:
                if (msg.get("error") or {}).get("type") == "CallTimeout":
                    self.timed_out = True
                    raise CallTimedOut(f"it ran longer than the {self.budget:g} s allowed and was stopped")
                return msg
            if isinstance(msg.get("seq"), int) and msg["seq"] > seq:  # (lower: a late reply to a timed-out call)
                raise BoundaryError(f"the notebook's kernel sent an unexpected message ({str(msg)[:80]!r})")

    def end(self, timeout: float = 10.0) -> None:
        self.request({"op": "end"}, timeout=timeout)

    def close(self) -> None:
        if self.channel.window is self:
            self.channel.window = None
        if self.caller is not None:
            self.caller.cancel()  # no stand-in computes for a window that has closed

    # ------------------------------------------------------------ what checks use
    def learner(self, name: str):
        """The learner's answer called ``name``: a RemoteFunction, its plain-data value,
        None if it is not defined, or an Opaque stand-in for a value that is not plain data."""
        reply = self.request({"op": "describe", "name": name})
        kind = reply.get("kind")
        if kind == "function":
            return RemoteFunction(self, name)
        if kind == "value":
            return wire.decode(reply.get("value"))
        if kind == "unsupported":
            return _named(Opaque, reply.get("type"))()
        if kind == "missing":
            return None
        raise BoundaryError(f"the notebook's kernel gave an unexpected answer ({str(reply)[:80]!r})")

    def stand_in(self, **reference: Callable) -> None:
        """Answer calls of these names with the trusted functions given, until the window
        closes. A name whose own exercise is still to be graded keeps the learner's
        function (its answers must not be handed out before its check), and so does a
        name the learner defined again for themselves (``own``). Each stand-in is called
        as the learner's own function would be: the sandbox binds a call to the learner's
        signature and passes it on in the reference's terms, given the reference's
        parameter names and kinds (plain data)."""
        allowed = {name: fn for name, fn in reference.items() if name not in self.pending and name not in self.own}
        if not allowed:
            return
        self._targets.update(allowed)
        self._stand_ins.update(allowed)
        self.stood_in = True
        reply = self.request({"op": "stand_in", "names": sorted(allowed),
                              "signatures": {name: parameters(fn) for name, fn in allowed.items()}})
        if not reply.get("ok"):
            raise BoundaryError("the notebook's kernel refused the stand-ins")

    def register(self, fn: Callable) -> str:
        """An id under which the sandbox may call ``fn`` back (a function argument)."""
        ident = f"callback-{next(self._ids)}"
        self._targets[ident] = fn
        return ident

    def target(self, ident: str):
        """The function registered under ``ident`` (a function argument coming back)."""
        fn = self._targets.get(ident)
        if fn is None:
            raise wire.WireError("an unknown function came back")
        return fn

    def answer(self, msg: dict) -> dict:
        """A call-back from the sandbox, answered on this side (in the reader thread)."""
        fn = self._targets.get(msg.get("target"))
        if fn is None:
            return {"ok": False, "error": {"type": "NameError", "message": "the grader has no such function"}}
        try:
            args = wire.decode(msg.get("args"))
            kwargs = wire.decode(msg.get("kwargs"))
            if not (isinstance(args, list) and isinstance(kwargs, dict) and all(isinstance(k, str) for k in kwargs)):
                raise wire.WireError("bad call-back arguments")
            name = msg.get("target")
            if name in self._stand_ins:
                self.stand_in_calls.append(name)
                check_stand_in_arguments(name, args, kwargs)
                bounded = self.caller or _IN_THREAD
                seconds = max(self.deadline - time.monotonic(), 2 * GRACE)
                return {"ok": True, "result": wire.encode(bounded.call(fn, name, args, kwargs, seconds))}
            return {"ok": True, "result": wire.encode(fn(*args, **kwargs))}
        except Exception as exc:  # noqa: BLE001 - reported to the learner's code as an exception
            return {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)[:500]}}


class _InThread:
    """Stand-ins answered in the reader thread (unit tests): no time bound."""

    def call(self, fn, name, args, kwargs, seconds):
        return fn(*args, **kwargs)


def check_stand_in_arguments(name: str, args, kwargs, max_int: int = MAX_STAND_IN_INT) -> None:
    """Refuse what no documented call of the course needs: an integer (a length, a size, a
    count, an index) beyond ``max_int``; the wire already bounds arrays and containers
    (``wire.MAX_ITEMS``), so the reference is asked only for work of the exercises' sizes."""
    import numpy as np

    stack = [args, kwargs]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple, set, frozenset)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and abs(int(v)) > max_int:
            raise ValueError(f"{name} was called with {int(v)}: the grader answers only for sizes up to "
                             f"{max_int}, as the exercise's docstring describes")
        elif isinstance(v, np.ndarray) and v.ndim == 0 and np.issubdtype(v.dtype, np.integer):
            stack.append(v.item())


_IN_THREAD = _InThread()


def parameters(fn: Callable) -> list[list[str]] | None:
    """``fn``'s parameters as plain data: [[name, kind], ...], kinds as ``inspect``
    names them; None if it has no signature to read."""
    import inspect

    try:
        return [[p.name, p.kind.name] for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        return None


class RemoteFunction:
    """A learner's function, called across the boundary with plain data."""

    def __init__(self, window: Window, name: str):
        self.window = window
        self.__name__ = name

    def __repr__(self):
        return f"<the learner's {self.__name__}>"

    def call(self, args: tuple, kwargs: dict) -> tuple[object, list]:
        """(result, the arguments as they were after the call)."""
        reply = self.window.request({"op": "call", "name": self.__name__,
                                     "args": wire.encode(list(args), register=self.window.register),
                                     "kwargs": wire.encode(dict(kwargs), register=self.window.register)})
        if reply.get("ok"):
            try:
                return (wire.decode(reply.get("result")),
                        wire.decode(reply.get("args"), remote=lambda ident: self.window.target(ident)))
            except wire.WireError as exc:
                raise BoundaryError(f"the notebook's kernel sent a result that is not plain data ({exc})") from None
        if "unsendable" in reply:
            raise Unsendable(str(reply["unsendable"])[:300])
        raise learner_exception(reply.get("error") or {})

    def __call__(self, *args, **kwargs):
        return self.call(args, kwargs)[0]


# ---------------------------------------------------------------- without a sandbox
@contextlib.contextmanager
def loopback(namespace: dict, budget: float = 60.0, caller=None):
    """A window onto ``namespace`` served by the harness in a thread of this process,
    over a real socket pair and the real protocol: the hidden checks' unit tests use it.
    (Not a sandbox: the functions in ``namespace`` are the test's own.) ``caller``: where
    stand-ins run, as on a worker (default: in the reader thread)."""
    from autograde.boundary import harness

    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    window = Window(channel, budget, caller=caller)
    server = threading.Thread(target=harness.serve, args=(namespace, theirs), daemon=True)
    server.start()
    try:
        window.wait_ready()
        try:
            yield window
        finally:
            if not channel.lost:
                window.request({"op": "restore"}, timeout=10)
                window.end()
    finally:
        window.close()
        channel.close()
        theirs.close()
        server.join(timeout=5)
