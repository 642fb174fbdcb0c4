"""The sandbox side of the trust boundary: the only code of the grader's that runs next
to a learner's notebook.

It is loaded inside the sandbox as a lone file (with ``wire.py`` beside it), never as
part of the ``autograde`` package, and it knows nothing of the reference or the checks.
It does two things:

``main()``
    Start the learner's IPython kernel: read the start-up settings from stdin, set the
    kernel's resource limits (hard limits, which learner code cannot raise), bind the
    kernel's ZeroMQ channels to listening sockets the grader made beforehand and passed
    in as file descriptors (so the sandbox needs no writable host folder), and run the
    kernel.

``serve()``
    Answer the grader's requests on the side channel (a socket the grader passed in),
    called by the grader as a silent cell while an exercise is graded: look up a name,
    call the learner's function with plain data and send back the plain-data result,
    put stand-ins in place of the other exercises that function calls, and put the
    learner's own back afterwards. A stand-in asks the grader for its answer.

Everything the learner's code can do here, it can do to this module too; the grader
therefore believes nothing it reads from the sandbox beyond "this is what the learner's
function returned", and decides every score on its own side.
"""
from __future__ import annotations

import builtins
import json
import os
import signal
import socket
import sys
import threading

if __package__:  # part of the package, on the trusted side (the loopback used by the tests)
    from . import wire
else:  # in the sandbox, a lone file: wire.py sits next to it
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire  # type: ignore[no-redef]

_MISSING = object()
_state = {"channel": None, "saved": {}, "namespace": None}


# ---------------------------------------------------------------- serving the grader
class _CallTimeout(BaseException):
    """Raised in the learner's code by the timer of a call that ran out of time."""


def _on_time(*_):
    raise _CallTimeout()


def serve(namespace: dict | None = None, channel: socket.socket | None = None) -> None:
    """Answer requests until the grader says "end". In the kernel both arguments come
    from the kernel (the user namespace) and from start-up (the side channel)."""
    if channel is not None:
        _state["channel"] = channel
    if namespace is not None:
        _state["namespace"] = namespace
    elif _state["namespace"] is None:
        from IPython import get_ipython

        _state["namespace"] = get_ipython().user_ns
    in_main = threading.current_thread() is threading.main_thread()
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None  # a late interrupt must not cut a message
    try:
        _serve(_state["channel"], _state["namespace"], in_main)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, saved)


def _serve(chan, ns, timers: bool) -> None:
    wire.send(chan, {"op": "ready"})
    while True:
        try:
            msg = wire.recv(chan)
        except (EOFError, OSError):  # the grader has gone
            return
        except wire.WireError as exc:
            wire.send(chan, {"ok": False, "error": {"type": "WireError", "message": str(exc)}})
            continue
        if msg.get("op") == "end":
            wire.send(chan, {"ok": True, "seq": msg.get("seq")})
            return
        try:
            reply = _handle(msg.get("op"), msg, ns, timers)
        except wire.WireError as exc:
            reply = {"ok": False, "error": {"type": "WireError", "message": str(exc)}}
        reply["seq"] = msg.get("seq")
        try:
            wire.send(chan, reply)
        except OSError:
            return


def _handle(op, msg, ns, timers: bool = False) -> dict:
    if op == "describe":
        return _describe(ns.get(msg.get("name"), _MISSING))
    if op == "call":
        return _call(ns, msg, timers)
    if op == "stand_in":
        signatures = msg.get("signatures") or {}
        for name in msg.get("names", []):
            if name not in _state["saved"]:
                _state["saved"][name] = ns.get(name, _MISSING)
            ns[name] = _proxy(name, own=_state["saved"][name], reference=signatures.get(name))
        return {"ok": True}
    if op == "restore":
        restore(ns)
        return {"ok": True}
    return {"ok": False, "error": {"type": "WireError", "message": f"unknown request {op!r}"}}


def restore(ns: dict) -> None:
    """Put the learner's own functions back where stand-ins were."""
    for name, value in _state["saved"].items():
        if value is _MISSING:
            ns.pop(name, None)
        else:
            ns[name] = value
    _state["saved"].clear()


def _describe(value) -> dict:
    if value is _MISSING:
        return {"kind": "missing"}
    if callable(value):
        return {"kind": "function", "type": type(value).__name__}
    try:
        return {"kind": "value", "value": wire.encode(value)}
    except wire.WireError as exc:
        return {"kind": "unsupported", "type": type(value).__name__, "message": str(exc)}


def _call(ns, msg, timers: bool) -> dict:
    fn = ns.get(msg.get("name"), _MISSING)
    if not callable(fn):
        return {"ok": False, "error": {"type": "NameError", "message": f"{msg.get('name')!r} is not a function"}}
    args = wire.decode(msg.get("args", []), remote=_proxy)
    kwargs = wire.decode(msg.get("kwargs", {"D": []}), remote=_proxy)
    if not (isinstance(args, list) and isinstance(kwargs, dict) and all(isinstance(k, str) for k in kwargs)):
        raise wire.WireError("a call needs a list of arguments and a dict of keyword arguments")
    seconds = msg.get("seconds")
    timed = timers and isinstance(seconds, (int, float)) and seconds > 0
    try:
        if timed:
            signal.signal(signal.SIGALRM, _on_time)
            signal.setitimer(signal.ITIMER_REAL, float(seconds))
        result = fn(*args, **kwargs)
    except _CallTimeout:
        return {"ok": False, "error": {"type": "CallTimeout", "message": f"ran longer than {seconds:g} s"}}
    except BaseException as exc:  # noqa: BLE001 - whatever the learner's code raises is reported
        if isinstance(exc, (SystemExit, GeneratorExit, KeyboardInterrupt)):
            exc = RuntimeError(f"{type(exc).__name__} raised")
        return {"ok": False, "error": {"type": type(exc).__name__, "message": _text(exc)}}
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        return {"ok": True, "result": wire.encode(result), "args": wire.encode(args, register=_target_of)}
    except wire.WireError as exc:
        return {"ok": False, "unsendable": str(exc)}


def _target_of(fn) -> str:
    """A function argument goes back as the id the grader gave it."""
    target = getattr(fn, "_grader_target", None)
    if not isinstance(target, str):
        raise wire.WireError(f"a value of type {type(fn).__name__} cannot be sent")
    return target


def _text(exc) -> str:
    try:
        return str(exc)[:1000]
    except Exception:  # noqa: BLE001 - a __str__ that raises
        return ""


def _proxy(target: str, own=_MISSING, reference=None):
    """A function that asks the grader for its answer (a stand-in, or a call-back). A
    stand-in is called as the learner's own function ``own`` would be: the call is bound
    to the learner's signature and passed on in the terms of the ``reference``'s
    parameters (see ``bind``)."""

    def stand_in(*args, **kwargs):
        if reference is not None and own is not _MISSING:
            args, kwargs = bind(own, reference, args, kwargs)
        chan = _state["channel"]
        wire.send(chan, {"op": "callback", "target": target, "args": wire.encode(list(args)),
                         "kwargs": wire.encode(kwargs)})
        reply = wire.recv(chan)
        if reply.get("ok"):
            return wire.decode(reply.get("result"))
        error = reply.get("error") or {}
        cls = getattr(builtins, str(error.get("type")), None)
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            cls = RuntimeError
        raise cls(str(error.get("message", "")))

    stand_in.__name__ = stand_in.__qualname__ = str(target)
    stand_in._grader_target = target
    return stand_in


_POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


def bind(own, reference, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """A call of the learner's function ``own`` with ``args`` and ``kwargs``, as a call
    of the reference, whose parameters are ``reference`` (a list of [name, kind], kinds
    as ``inspect.Parameter`` names them). The call is bound to the learner's signature;
    each value given goes to the reference's parameter of the same name, or else to the
    one in the same position; a value for a parameter the reference does not have (an
    extra optional parameter of the learner's) is left out, and so is every value the
    caller did not give (the reference's own defaults apply). A call that does not fit
    the learner's signature, or a signature with ``*args``, is passed on as it is."""
    import inspect

    try:
        ref = [(str(name), str(kind)) for name, kind in reference]
        params = list(inspect.signature(own).parameters.values())
        bound = inspect.signature(own).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return args, kwargs
    if any(p.kind == p.VAR_POSITIONAL for p in params) or any(kind.startswith("VAR_") for _, kind in ref):
        return args, kwargs
    ref_names = [name for name, _ in ref]
    given: dict = {}
    for index, p in enumerate(params):
        if p.name not in bound:
            continue
        if p.kind == p.VAR_KEYWORD:
            given.update((k, v) for k, v in bound[p.name].items() if k in ref_names and k not in given)
        elif p.name in ref_names:
            given[p.name] = bound[p.name]
        elif (index < len(ref) and ref[index][1] in _POSITIONAL and p.kind.name in _POSITIONAL
              and all(q.name != ref[index][0] for q in params)):
            given[ref[index][0]] = bound[p.name]
    out_args, out_kwargs = [], {}
    for name, kind in ref:
        if name not in given:
            continue
        if kind in _POSITIONAL and len(out_args) == ref_names.index(name) and not out_kwargs:
            out_args.append(given[name])
        elif kind == "POSITIONAL_ONLY":
            return args, kwargs  # a gap before a positional-only parameter: the reference decides
        else:
            out_kwargs[name] = given[name]
    return tuple(out_args), out_kwargs


# ---------------------------------------------------------------- starting the kernel
def _limit(settings: dict) -> None:
    import resource

    for name, value in settings.items():
        which = getattr(resource, f"RLIMIT_{name.upper()}", None)
        if which is not None and value is not None:
            soft = hard = int(value)
            if name == "cpu":  # SIGXCPU first, then SIGKILL a few seconds later
                hard = soft + 5
            resource.setrlimit(which, (soft, hard))


def _bind_with_passed_fds(fds: dict) -> None:
    """Make ZeroMQ bind the kernel's ipc endpoints to the listening sockets the grader
    created (``ZMQ_USE_FD``), instead of creating socket files itself."""
    import zmq

    original = zmq.Socket.bind

    def bind(self, addr):
        fd = fds.get(addr)
        if fd is not None:
            self.setsockopt(zmq.USE_FD, fd)
        return original(self, addr)

    zmq.Socket.bind = bind


def _cap_output(app, max_bytes: int) -> None:
    """Stop a cell's stream output after ``max_bytes`` and say so once (the grader caps
    what it keeps as well; this just spares it the flood)."""
    state = {"n": 0, "noted": False}

    def reset(*_):
        state["n"], state["noted"] = 0, False

    app.shell.events.register("pre_run_cell", reset)
    for stream in (sys.stdout, sys.stderr):
        write = stream.write

        def capped(text, _write=write):
            if state["n"] >= max_bytes:
                if not state["noted"]:
                    state["noted"] = True
                    _write(f"\n[output truncated by the grader after {max_bytes} bytes]\n")
                return len(text)
            state["n"] += len(text)
            return _write(text)

        stream.write = capped


def main() -> None:
    """Start the kernel described by the JSON settings on stdin (see
    ``autograde.execution.sandbox``). Never returns."""
    settings = json.loads(sys.stdin.read())
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1) if settings.get("keep_stderr") else (0, 1, 2):
        os.dup2(devnull, fd)
    _limit(settings["limits"])
    chan = socket.socket(fileno=settings["channel_fd"])
    os.set_inheritable(chan.fileno(), False)
    _state["channel"] = chan
    _bind_with_passed_fds({f"ipc://{path}": fd for path, fd in settings["listen_fds"].items()})
    sys.modules.setdefault("jedi", None)  # IPython's completer without jedi: nothing is completed while grading
    sys.modules.setdefault("debugpy", None)  # ipykernel without its debugger: nobody debugs while grading
    for name in settings.get("warm", []):  # what the notebooks import anyway, before they are needed
        try:
            __import__(name)
        except Exception:  # noqa: BLE001
            pass
    with open(settings["connection_file"], "w") as f:
        json.dump(settings["connection"], f)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    if not settings.get("figures", True):
        # figures are drawn but not rasterized (plt.show() displays "<Figure ...>"): no grade
        # depends on a picture, and rendering is most of a figure's cost
        app.config.InlineBackend.figure_formats = set()
    app.initialize(["-f", settings["connection_file"], "--HistoryManager.hist_file=:memory:",
                    "--IPKernelApp.quiet=True"])
    if settings.get("max_output_bytes"):
        _cap_output(app, int(settings["max_output_bytes"]))
    _no_shell(app.shell)
    app.start()
    os._exit(0)


NO_SHELL = "(not run while grading: the grader starts no process) !{}"


def _no_shell(shell) -> None:
    """Shell escapes (``!cmd``, ``x = !cmd``, ``%sx``) say they were not run instead of
    failing: the sandbox starts no process (its system-call filter forbids fork), and an
    honest notebook that lists a folder or echoes a line must not end in an error."""
    def expand(cmd: str) -> str:
        try:
            return shell.var_expand(cmd, depth=2)  # the names of the cell, as IPython expands them
        except Exception:  # noqa: BLE001
            return cmd

    def system(cmd, *args, **kwargs):
        print(NO_SHELL.format(expand(cmd)))
        shell.user_ns["_exit_code"] = 0

    def getoutput(cmd, *args, **kwargs):
        print(NO_SHELL.format(expand(cmd)))
        from IPython.utils.text import SList

        return SList()

    shell.system = shell.system_raw = shell.system_piped = system
    shell.getoutput = getoutput


if __name__ == "__main__":
    import harness  # the kernel's silent cells reach serve() as __import__("harness").serve()

    harness.main()
