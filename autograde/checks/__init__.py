"""Hidden checks: one ``check_<exercise>`` per exercise, one module per chapter.

They run on the trusted side only. A check receives the learner's answer through the
trust boundary (``autograde.boundary``): a function as a
:class:`~autograde.boundary.trusted.RemoteFunction`, called with plain data, or a value
as plain data. It compares the results with the reference in ``solutions``; when they
differ it tries the classic mistakes of that exercise (each written here as a small
wrong variant) and, if the learner's output matches one, says so in plain words. A
check raises :class:`CheckFailed` with a message meant for the learner and, when it
recognised a classic mistake, that mistake's explanation as ``diagnosis`` and its name
as ``mistake`` (the class report counts those; no text of the learner's reaches them).

A mistake is named only when it explains every failing case: :func:`decide` takes the
candidates (:class:`Mistake`: a name, an explanation and the output that mistake gives
on a case) and the learner's outputs on all the cases checked, and returns the one
candidate that reproduces each of them, or none. Two candidates that both reproduce the
answer are not told apart by guessing: no diagnosis is given (``candidates`` lists them).
Modules whose checks still stop at the first failing case map their diagnoses to names
through ``DIAGNOSES_SAY`` (name -> a phrase of its explanation), see :func:`named`.

Feedback is not an answer key: a failing check names the mistake and may show a small
illustrative input, never the expected output of a hidden case.

Each exercise is graded on its own: ``isolate`` puts stand-ins in the learner's
namespace for the other exercises the function calls (``softmax`` inside
``rnn_cell_forward``, say); their calls are answered here by the reference while the
exercise is graded (its check, then its visible tests), and the learner's own come back
afterwards. So one mistake costs the points of one exercise only.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import numbers
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from autograde.boundary.trusted import CallTimedOut, RemoteFunction, Unsendable

SEEDS = (0, 1, 2, 3, 4)


class CheckFailed(AssertionError):
    """A hidden check found a wrong answer; the message is for the learner. ``diagnosis``:
    the explanation of the classic mistake it matched, if any (text of the checks' own);
    ``mistake``: that mistake's name (a key of the chapter's ``MISTAKES`` or another name
    of the checks' own); ``candidates``: the names that all reproduced the answer when
    more than one did (then no diagnosis is given)."""

    def __init__(self, message: str, diagnosis: str | None = None, mistake: str | None = None,
                 candidates: Sequence[str] = ()):
        super().__init__(message)
        self.diagnosis = diagnosis
        self.mistake = mistake
        self.candidates = tuple(candidates)
        self.score = 0.0
        """the share of the exercise's points earned (partial credit: the sub-checks that passed)"""
        self.parts: dict[str, bool] = {}
        """sub-check -> passed, for an exercise whose checks module declares ``PARTS``"""


def fail(message: str, looks_like: str | None = None, mistake: str | None = None):
    """Fail the check. ``looks_like``: the classic mistake the answer matches, in the
    checks' own words; it completes the message ("It looks like ...") and is the diagnosis
    the class report counts; ``mistake``: its name. Never put the learner's text there."""
    if looks_like is not None:
        message = f"{message} It looks like {looks_like}"
    raise CheckFailed(message, looks_like, mistake if looks_like is not None else None)


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A classic mistake of one exercise: ``behaviour(case)`` is the output that mistake
    gives on a case (None where it cannot be told from that case's output)."""

    name: str
    explanation: str
    behaviour: Callable[[object], object]


def decide(observed: Sequence[tuple[object, object]], mistakes: Iterable[Mistake],
           same: Callable[[object, object], bool] | None = None) -> tuple[Mistake | None, list[str]]:
    """The one mistake that reproduces the learner's output on EVERY case observed
    (``observed``: (case, output) pairs, passing and failing cases alike), or None, with
    the names of all the candidates that did (more than one: none is chosen)."""
    same = same or (lambda a, b: _same(a, b) or close(a, b))
    fits = []
    for mistake in mistakes:
        try:
            with quiet_numpy():
                ok = all(same(got, mistake.behaviour(case)) for case, got in observed)
        except Exception:  # noqa: BLE001 - a variant that cannot run on a case explains nothing
            ok = False
        if ok:
            fits.append(mistake)
    names = list(dict.fromkeys(m.name for m in fits))  # one mistake may have several variants
    return (fits[0] if len(names) == 1 else None), names


def fail_with(message: str, observed, mistakes: Iterable[Mistake], otherwise: str, same=None):
    """Fail naming the mistake :func:`decide` finds on ``observed``; else with ``otherwise``
    (the general advice), listing nothing of the expected outputs."""
    found, names = decide(observed, mistakes, same)
    if found is not None:
        fail(message, looks_like=found.explanation, mistake=found.name)
    raise CheckFailed(f"{message} {otherwise}", candidates=names if len(names) > 1 else ())


def named(module, exercise: str, failed: CheckFailed) -> CheckFailed:
    """Give ``failed`` the name of the classic mistake its diagnosis explains, for the
    modules whose checks say it in words only: ``module.DIAGNOSES_SAY`` maps a name (of
    ``module.MISTAKES`` for ``exercise``, or of the module's own) to a phrase of its
    explanation (a plain substring); exactly one must match, else no name is given."""
    if failed.mistake is not None or not failed.diagnosis:
        return failed
    says = getattr(module, "DIAGNOSES_SAY", {})
    listed = getattr(module, "MISTAKES", {})
    hits = [name for name, phrase in says.items()
            if (name not in listed or listed[name][0] == exercise) and phrase in failed.diagnosis]
    if len(hits) == 1:
        failed.mistake = hits[0]
    return failed


# While run() grades an exercise, diagnose() records each wrong comparison here and the
# check goes on, so that the diagnosis can be decided over every failing case.
_records: contextvars.ContextVar[list | None] = contextvars.ContextVar("diagnose_records", default=None)
# While run() grades an exercise with sub-checks: part name -> failed (True) or passed.
_parts: contextvars.ContextVar[dict | None] = contextvars.ContextVar("check_parts", default=None)


@contextlib.contextmanager
def part(name: str):
    """A sub-check of partial credit: inside :func:`run`, a failure in this block (a
    ``fail`` or a wrong ``diagnose`` comparison) fails this part only and the check goes
    on; the exercise then earns the weights (the module's ``PARTS[exercise]``) of the parts
    that never failed. Outside run(), or for an exercise with no ``PARTS``, a failure here
    fails the whole check as before."""
    state, records = _parts.get(), _records.get()
    if state is None:
        yield
        return
    before = len(records) if records is not None else 0
    try:
        yield
    except CheckFailed as failed:
        state[name] = state.get(name) or failed
        return
    if records is not None and len(records) > before:
        state[name] = state.get(name) or True
    else:
        state.setdefault(name, False)


def partial_score(weights: dict[str, float], parts: dict) -> tuple[float, dict[str, bool]]:
    """The share of the points earned and each declared part's pass/fail (a part the check
    never reached counts as failed)."""
    passed = {name: name in parts and not parts[name] for name in weights}
    total = sum(weights.values())
    return (sum(w for name, w in weights.items() if passed[name]) / total if total else 0.0), passed


def run(module, exercise: str, learner) -> None:
    """Run ``check_<exercise>`` of ``module`` on the learner's answer; a failure carries
    the mistake's name when one is known (see :func:`named`).

    The comparisons :func:`diagnose` makes are all collected (the check goes on after a
    wrong one); the failure is that of the first, and it names the classic mistake only
    if that one mistake matched every wrong comparison."""
    records: list = []
    weights = getattr(module, "PARTS", {}).get(exercise)
    parts: dict = {}
    token, parts_token = _records.set(records), _parts.set(parts if weights else None)
    try:
        getattr(module, f"check_{exercise}")(learner)
        later = None
    except CheckFailed as failed:
        later = failed  # outside every part: the whole exercise fails
    finally:
        _records.reset(token)
        _parts.reset(parts_token)
    failed = _decided(records) if records else later
    if failed is None and weights:  # a part failed with fail(): its failure is the message
        failed = next((f for f in parts.values() if isinstance(f, CheckFailed)), None)
    if failed is not None:
        failed = named(module, exercise, failed)
        if weights:
            score, failed.parts = partial_score(weights, parts)
            failed.score = 0.0 if later is not None else score
        raise failed from None


def _decided(records: list) -> CheckFailed:
    """The failure of the first wrong comparison, with the explanation common to all."""
    # a mistake that predicts nothing for a comparison (it is not among its candidates)
    # neither explains nor contradicts it
    found = set().union(*(matches for _, matches, _, _ in records))
    common = {e for e in found if all(e in matches or e not in considered for _, matches, considered, _ in records)}
    what, _, _, general = records[0]
    if len(common) == 1:
        explanation = common.pop()
        return CheckFailed(f"{what} is wrong. It looks like {explanation}", explanation)
    return CheckFailed(general)


def _function(fn, name: str) -> RemoteFunction:
    if fn is None:
        fail(f"{name} is not defined: run the cell that defines it, and keep its name.")
    if not isinstance(fn, RemoteFunction):
        fail(f"{name} should be a function defined with def, not a {type(fn).__name__}.")
    return fn


def isolate(fn, **reference) -> RemoteFunction:
    """Grade ``fn`` on its own: while its exercise is graded, the named functions it
    calls are answered by the reference versions given here."""
    fn = _function(fn, getattr(fn, "__name__", "this exercise's function"))
    fn.window.stand_in(**reference)
    return fn


def call(fn, name: str, *args, mutated: str | None = None, **kwargs):
    """Call the learner's function with plain data; fail clearly if it raises, returns
    something that is not plain data, runs too long or changes its inputs. ``mutated``:
    what to say (after "It looks like") of a function that changed its inputs in place."""
    fn = _function(fn, name)
    try:
        result, after = fn.call(args, kwargs)
    except NotImplementedError:
        fail(f"{name} is not implemented yet: replace the line that raises NotImplementedError with your code.")
    except CallTimedOut as exc:
        fail(f"{name} did not finish: {exc}. Look for a loop that never ends.")
    except Unsendable as exc:
        fail(f"{name} returned something the grader cannot read ({exc}).")
    except CheckFailed:
        raise
    except Exception as exc:  # the learner's code crashed on a valid input
        fail(f"{name} raised {type(exc).__name__}: {exc} (on an input of the shapes its docstring describes).")
    if not _same(list(args), after):
        fail(f"{name} changed what it was given.", looks_like=mutated or (
            "the function works on its input arrays in place. Work on new arrays instead "
            "(for example `z = z - z.max(axis=0)` rather than `z -= ...`)."))
    return result


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a is b or a == b


def same(a, b) -> bool:
    """Equal plain data: arrays by value, containers item by item (for caches that
    hold a copy of an input instead of the input itself)."""
    return _same(a, b)


def close(a, b, rtol=1e-6, atol=1e-8) -> bool:
    try:
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def expect_array(value, shape: tuple, what: str) -> np.ndarray:
    """``value`` as an array of ``shape``, or a clear failure."""
    if not isinstance(value, np.ndarray):
        fail(f"{what} should be a numpy array, got {type(value).__name__}.")
    if value.shape != shape:
        fail(f"{what} has shape {value.shape}, expected {shape}.")
    if not np.issubdtype(value.dtype, np.number) and value.dtype != bool:
        fail(f"{what} holds {value.dtype} values: it should hold numbers.")
    if not np.all(np.isfinite(value)):
        fail(f"{what} contains nan or inf values.")
    return value


def expect_float(value, what: str, if_not_finite: str = ".") -> float:
    """``value`` as a float: one real number (a 0-d array or numpy scalar will do, a bool
    will not) that is finite, or a clear failure; ``if_not_finite`` ends that message."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(f"{what} should return one number (a float), got {type(value).__name__}"
             + (f" of shape {value.shape}" if isinstance(value, np.ndarray) else "") + ".")
    if not np.isfinite(value):
        fail(f"{what} returned {value}{if_not_finite}")
    return float(value)


def diagnose(got, expected, mistakes: Iterable[tuple[str, object]], what: str) -> None:
    """Fail on one case: with the classic mistake whose output matches ``got`` when exactly
    one does (two that give the same output here are not told apart), else with a general
    message that says how far off the answer is, never the expected value itself. Inside
    :func:`run` the comparison is recorded instead and the check goes on (see there)."""
    mistakes = list(mistakes)
    matches = [explanation for explanation, wrong in mistakes if close(got, wrong)]
    diff = np.max(np.abs(np.asarray(got, dtype=float) - np.asarray(expected, dtype=float)))
    general = (f"{what} is wrong: it differs from the expected value by up to {diff:.3g}. "
               f"Compare your code with the equations, term by term.")
    records = _records.get()
    if records is not None:  # inside run(): decided over every wrong comparison at the end
        records.append((what, set(matches), {explanation for explanation, _ in mistakes}, general))
        return
    if len(set(matches)) == 1:
        fail(f"{what} is wrong.", looks_like=matches[0])
    fail(general)


@contextlib.contextmanager
def quiet_numpy():
    with np.errstate(all="ignore"):
        yield
