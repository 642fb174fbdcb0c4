"""Hidden checks: one ``check_<exercise>`` per exercise, one module per chapter.

A check calls the learner's function on randomized inputs and compares it with the
reference in ``solutions``. When they differ it tries the classic mistakes of that
exercise (each written here as a small wrong variant) and, if the learner's output
matches one, says so in plain words. A check raises :class:`CheckFailed` with a message
meant for the learner; the feedback shows that message and nothing of this code.

Each exercise is graded on its own: while its grade cell runs (the hidden check first,
then the visible tests), the other exercises the learner's function calls (``softmax``
inside ``rnn_cell_forward``, say) are replaced by the reference, and put back when the
cell ends. So one mistake costs the points of one exercise only.
"""
from __future__ import annotations

import contextlib
import copy
import types
from typing import Callable, Iterable

import numpy as np

SEEDS = (0, 1, 2, 3, 4)


class CheckFailed(AssertionError):
    """A hidden check found a wrong answer; the message is for the learner."""


def fail(message: str):
    raise CheckFailed(message)


def with_reference(fn: Callable, **reference: Callable) -> Callable:
    """``fn`` with the named globals it uses replaced by the reference versions."""
    if fn is None:
        fail("this exercise's function is not defined: run the cell that defines it, and keep its name.")
    if not isinstance(fn, types.FunctionType):
        fail(f"{getattr(fn, '__name__', fn)!r} should be a function defined with def.")
    g = dict(fn.__globals__)
    g.update(reference)
    clone = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
    clone.__kwdefaults__ = fn.__kwdefaults__
    return clone


def isolate(fn: Callable, **reference: Callable) -> Callable:
    """Grade ``fn`` on its own: return a copy of it that calls the reference versions
    of the named functions and, when running in a notebook, swap those functions into
    the notebook's namespace until the current cell ends (so the visible tests that
    follow the hidden check in the same cell see them too)."""
    clone = with_reference(fn, **reference)
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:  # pragma: no cover
        shell = None
    if shell is None or fn.__globals__ is not shell.user_ns:
        return clone
    namespace = fn.__globals__
    missing = object()
    saved = {name: namespace.get(name, missing) for name in reference}
    namespace.update(reference)

    def restore(*_):
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value
        shell.events.unregister("post_run_cell", restore)

    shell.events.register("post_run_cell", restore)
    return clone


def call(fn: Callable, name: str, *args, **kwargs):
    """Call the learner's function on copies of ``args``; fail clearly if it raises or
    changes its inputs."""
    if fn is None:
        fail(f"{name} is not defined: run the cell that defines it, and keep its name.")
    before = copy.deepcopy(args)
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        fail(f"{name} is not implemented yet: replace the line that raises NotImplementedError with your code.")
    except CheckFailed:
        raise
    except Exception as exc:  # the learner's code crashed on a valid input
        fail(f"{name} raised {type(exc).__name__}: {exc} (on an input of the shapes its docstring describes).")
    if not _same(before, args):
        fail(f"{name} changed one of its input arrays in place. Work on new arrays instead "
             f"(for example `z = z - z.max(axis=0)` rather than `z -= ...`).")
    return result


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def close(a, b, rtol=1e-6, atol=1e-8) -> bool:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def expect_array(value, shape: tuple, what: str) -> np.ndarray:
    """``value`` as an array of ``shape``, or a clear failure."""
    if not isinstance(value, np.ndarray):
        fail(f"{what} should be a numpy array, got {type(value).__name__}.")
    if value.shape != shape:
        fail(f"{what} has shape {value.shape}, expected {shape}.")
    if not np.all(np.isfinite(value)):
        fail(f"{what} contains nan or inf values.")
    return value


def diagnose(got, expected, mistakes: Iterable[tuple[str, object]], what: str) -> None:
    """Fail with the first classic mistake whose output matches ``got``, or a general message."""
    for explanation, wrong in mistakes:
        if close(got, wrong):
            fail(f"{what} is wrong. It looks like {explanation}")
    diff = np.max(np.abs(np.asarray(got, dtype=float) - np.asarray(expected, dtype=float)))
    fail(f"{what} is wrong: it differs from the expected value by up to {diff:.3g}. "
         f"Compare your code with the equations, term by term.")


@contextlib.contextmanager
def quiet_numpy():
    with np.errstate(all="ignore"):
        yield
