"""Hidden checks of chapter 4, the RNN forward pass."""
from __future__ import annotations

import numpy as np

from autograde.checks import (
    SEEDS,
    CheckFailed,
    Mistake,
    call,
    close,
    common,
    decide,
    diagnose,
    expect_array,
    fail,
    isolate,
    part,
    quiet_numpy,
    same,
)
from solutions import ch04 as ref

# The classic mistakes these checks must catch and name, each as an edit of the
# reference body: name -> (exercise, old text, new text). The grading tests and the
# benchmarks build wrong submissions from them (autograde.authoring.synthetic).
MISTAKES = {
    "softmax_wrong_axis": ("softmax", "axis=0", "axis=1"),
    "softmax_overflow": ("softmax", "np.exp(z - np.max(z, axis=0, keepdims=True))", "np.exp(z)"),
    "softmax_in_place": ("softmax", "e = np.exp(z - np.max(z, axis=0, keepdims=True))",
                         "z -= np.max(z, axis=0, keepdims=True)\ne = np.exp(z)"),
    "yt_pred_from_a_prev": ("rnn_cell_forward", "softmax(Wya @ a_next + by)", "softmax(Wya @ a_prev + by)"),
    "bias_left_out": ("rnn_cell_forward", "Wax @ xt + ba", "Wax @ xt"),
    "waa_transposed": ("rnn_cell_forward", "Waa @ a_prev", "Waa.T @ a_prev"),
    "cell_ignores_activation": ("rnn_cell_forward", 'if activation == "tanh":', 'if activation in ("tanh", "relu"):'),
    "yt_pred_without_softmax": ("rnn_cell_forward", "yt_pred = softmax(Wya @ a_next + by)", "yt_pred = Wya @ a_next + by"),
    "loop_not_from_a0": ("rnn_forward", "a_next = a0", "a_next = np.zeros_like(a0)"),
    "state_not_carried": ("rnn_forward", "rnn_cell_forward(x[:, :, t], a_next, parameters, activation)",
                          "rnn_cell_forward(x[:, :, t], a0, parameters, activation)"),
    "forward_ignores_activation": ("rnn_forward", "a_next, parameters, activation)", "a_next, parameters)"),
    "softmax_subtracts_mean": ("softmax", "np.max(z, axis=0, keepdims=True)", "np.mean(z, axis=0, keepdims=True)"),
    "softmax_global_max": ("softmax", "np.max(z, axis=0, keepdims=True)", "np.max(z)"),
}
# Partial credit: exercise -> sub-check -> weight (autograde.checks.part). An exercise
# earns the share of its points of the sub-checks that passed on every case.
PARTS = {"rnn_cell_forward": {"a_next": 1.5, "yt_pred": 1.0, "cache": 0.5}}
# The share of its exercise's points each classic mistake keeps (0 when not listed):
# a wrong yt_pred costs the yt_pred sub-check only.
KEEPS = {"yt_pred_from_a_prev": 2 / 3, "yt_pred_without_softmax": 2 / 3}
# name -> a phrase of the diagnosis its check gives (see autograde.checks.named)
DIAGNOSES_SAY = {
    "softmax_wrong_axis": "you normalised over the rows (axis=1)",
    "softmax_overflow": "np.exp overflowed (np.exp(1000) is inf). Subtract",
    "softmax_in_place": "the function works on its input",
    "yt_pred_from_a_prev": "yt_pred was computed from a_prev instead",
    "bias_left_out": "the bias ba was left out",
    "waa_transposed": "a_next uses Waa transposed: the equation",
    "cell_ignores_activation": "the activation argument was ignored: with",
    "yt_pred_without_softmax": "yt_pred is the raw score Wya",
    "loop_not_from_a0": "the loop does not start from",
    "state_not_carried": "every step uses a0 as the",
    "forward_ignores_activation": "rnn_forward ignores its activation argument: pass",
}


# What the chapter's visible tests say when they catch each mistake (a regular expression
# over their failure message): tests/test_visible_tests.py checks that the visible tests
# alone catch at least 90 % of MISTAKES, with a message that points at the mistake.
VISIBLE_TESTS_SAY = {
    "softmax_wrong_axis": r"COLUMN .* axis=0",
    "softmax_overflow": r"overflow",
    "softmax_in_place": r"in place",
    "yt_pred_from_a_prev": r"NEW state a_next",
    "bias_left_out": r"bias ba",
    "waa_transposed": r"Waa\.T",
    "cell_ignores_activation": r"activation argument",
    "yt_pred_without_softmax": r"softmax",
    "loop_not_from_a0": r"a0 that was passed in",
    "state_not_carried": r"pass each step's a_next on",
    "forward_ignores_activation": r"Pass activation on",
    "softmax_subtracts_mean": r"not its mean",
    "softmax_global_max": r"WHOLE array",
}

# (n_x, n_a, n_y, m, T_x): all sizes distinct, then one example, then one step
SIZES = [(3, 5, 2, 4, 6), (4, 3, 6, 1, 5), (2, 4, 3, 5, 1)]


def _params(rng, n_x, n_a, n_y):
    return common.rnn_parameters(rng, n_x, n_a, n_y, waa=0.8, ba=1.0, by=1.0)


def _cases():
    return common.cases(1000, SIZES, len(SEEDS))


# ---------------------------------------------------------------- softmax
def _softmax_variant(how):
    def behaviour(z):
        with quiet_numpy():
            shift = {"none": 0.0, "mean": np.mean(z, axis=0, keepdims=True), "global": np.max(z),
                     "rows": np.max(z, axis=1, keepdims=True)}.get(how, np.max(z, axis=0, keepdims=True))
            e = np.exp(z - shift)
            total = {"rows": e.sum(axis=1, keepdims=True), "all": e.sum()}.get(how, e.sum(axis=0, keepdims=True))
            return e / total
    return behaviour


SOFTMAX_MISTAKES = [
    Mistake("softmax_wrong_axis", "you normalised over the rows (axis=1) instead of over each column (axis=0): "
            "one column is one example.",
            _softmax_variant("rows")),
    Mistake("softmax_whole_array", "you divided by the sum of the whole array instead of the sum of each column: "
            "use axis=0 and keepdims=True.", _softmax_variant("all")),
    Mistake("softmax_overflow", "np.exp overflowed (np.exp(1000) is inf). Subtract each column's maximum from z "
            "before taking np.exp; it does not change the result.", _softmax_variant("none")),
    Mistake("softmax_subtracts_mean", "each column's MEAN was subtracted instead of its maximum: on a column "
            "with a wide spread (1500 and -1500, mean 0) np.exp still overflows. Subtract the maximum, "
            "np.max(z, axis=0, keepdims=True).", _softmax_variant("mean")),
    Mistake("softmax_global_max", "the maximum of the WHOLE array was subtracted (np.max(z) without axis): a "
            "column far below it (logits near -1000 beside others near 1000) underflows to 0 / 0. Subtract "
            "each column's own maximum, np.max(z, axis=0, keepdims=True).", _softmax_variant("global")),
]

# large magnitudes: columns near +1000 and near -1000 side by side; a column spread from
# -1500 to 1500 (mean 0); integer logits (ints are numbers too)
LARGE_LOGITS = [np.array([[1000.0, -1000.0, 3.0], [999.0, -1001.0, 1.0], [998.5, -999.0, 2.0]]),
                np.array([[1500.0, 0.0], [0.0, -3.0], [-1500.0, 2.0]]),
                np.array([[3, -2], [1, 0], [-4, 5]])]


def _same_probabilities(a, b) -> bool:
    return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and bool(
        np.allclose(a, b, rtol=1e-6, atol=1e-8, equal_nan=True))


def check_softmax(softmax):
    """Checks ``softmax`` (column-wise, safe for large logits) against the reference.

    Inputs: five random (n_y + 1, m) logit arrays of spread about 3, then large
    magnitudes (columns near 1000 beside columns near -1000; a column from -1500 to 1500)
    and an integer array. Every output must be finite, of the input's shape, and equal the
    reference; the input must not change.
    Names: softmax_wrong_axis, softmax_whole_array, softmax_overflow, softmax_subtracts_mean,
    softmax_global_max (each only if it reproduces the output on every case);
    softmax_in_place (the input changed).
    """
    cases = [rng.standard_normal((n_y + 1, m)) * 3 for rng, (_, _, n_y, m, _) in _cases()] + LARGE_LOGITS
    observed, failing = [], []
    for z in cases:
        with quiet_numpy():
            got = call(softmax, "softmax", z)
        if not isinstance(got, np.ndarray):
            expect_array(got, z.shape, "softmax(z)")
        observed.append((z, got))
        if not (got.shape == z.shape and np.all(np.isfinite(got)) and close(got, ref.softmax(z))):
            failing.append(z)
    if not failing:
        return
    found, names = decide(observed, SOFTMAX_MISTAKES, _same_probabilities)
    big = np.abs(failing[0]).max() >= 100
    message = ("softmax(z) is wrong" + (" for large logits such as 1000" if big else "")
               + f" ({len(failing)} of {len(observed)} cases).")
    if found is not None:
        fail(message, looks_like=found.explanation, mistake=found.name)
    for z, got in observed:
        expect_array(got, z.shape, "softmax(z)")
    raise CheckFailed(f"{message} Every column of the result is exp(z - max) divided by its sum over that column "
                      "(np.max and np.sum with axis=0, keepdims=True).", candidates=names if len(names) > 1 else ())


# ---------------------------------------------------------------- rnn_cell_forward
def _cell_mistakes(xt, a_prev, p, activation):
    g = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0))
    good = g(p["Waa"] @ a_prev + p["Wax"] @ xt + p["ba"])
    if p["Waa"].shape[0] == p["Waa"].shape[1]:
        yield "a_next uses Waa transposed: the equation is Waa @ a_prev, not Waa.T @ a_prev.", g(p["Waa"].T @ a_prev + p["Wax"] @ xt + p["ba"]), None
    yield "the bias ba was left out of a_next.", g(p["Waa"] @ a_prev + p["Wax"] @ xt), None
    if activation == "relu":
        yield ("the activation argument was ignored: with activation='relu', "
               "a_next = max(0, ...) instead of tanh."), np.tanh(p["Waa"] @ a_prev + p["Wax"] @ xt + p["ba"]), None
    yield "yt_pred was computed from a_prev instead of the new state a_next.", None, ref.softmax(p["Wya"] @ a_prev + p["by"])
    yield "the bias by was left out of yt_pred.", None, ref.softmax(p["Wya"] @ good)
    yield "yt_pred is the raw score Wya a_next + by: apply softmax to it.", None, p["Wya"] @ good + p["by"]


def check_rnn_cell_forward(rnn_cell_forward):
    """Checks rnn_cell_forward (one step: a_next and yt_pred) against the reference.

    Inputs: five random problems per activation (tanh by default, then relu), non-zero
    a_prev and every parameter non-zero.
    Names: yt_pred_from_a_prev, bias_left_out, waa_transposed, cell_ignores_activation,
    yt_pred_without_softmax.
    """
    fn = isolate(rnn_cell_forward, softmax=ref.softmax)
    for activation in common.ACTIVATIONS:
        for rng, (n_x, n_a, n_y, m, T_x) in _cases():
            p = _params(rng, n_x, n_a, n_y)
            xt = rng.standard_normal((n_x, m))
            a_prev = rng.standard_normal((n_a, m))  # never zero, so a_prev mistakes show
            expected = ref.rnn_cell_forward(xt, a_prev, p, activation)[:2]
            verify_cell_step(fn, "rnn_cell_forward", xt, a_prev, p, activation, expected,
                            list(_cell_mistakes(xt, a_prev, p, activation)))


def verify_cell_step(fn, name, xt, a_prev, p, activation, expected, mistakes) -> None:  # not a check_: no grade cell
    """One call of a learner's RNN cell (this chapter's, or chapter 5's compact one)
    against the expected (a_next, yt_pred): the returned tuple, shapes, values with the
    classic mistakes named, and the cache. ``mistakes``: (explanation, wrong a_next or
    None, wrong yt_pred or None)."""
    e_a, e_y = expected
    kwargs = {} if activation == "tanh" else {"activation": "relu"}
    out = call(fn, name, xt, a_prev, p, **kwargs)
    if not (isinstance(out, tuple) and len(out) == 3):
        fail(f"{name} should return a tuple of three: (a_next, yt_pred, cache).")
    a_next, yt_pred, cache = out
    with part("a_next"):
        expect_array(a_next, e_a.shape, "a_next")
        if not close(a_next, e_a):
            diagnose(a_next, e_a, [(txt, a) for txt, a, _ in mistakes if a is not None],
                     f"a_next (activation={activation!r})")
    with part("yt_pred"):
        expect_array(yt_pred, e_y.shape, "yt_pred")
        if not close(yt_pred, e_y):
            diagnose(yt_pred, e_y, [(txt, y) for txt, _, y in mistakes if y is not None],
                     f"yt_pred (activation={activation!r})")
    with part("cache"):
        if not (isinstance(cache, tuple) and len(cache) == 4):
            fail("cache should be the tuple (a_next, a_prev, xt, parameters).")
        if not (close(cache[0], e_a) and close(cache[1], a_prev) and close(cache[2], xt) and same(cache[3], p)):
            fail("cache should be the tuple (a_next, a_prev, xt, parameters), in that order, "
                 "holding the parameters dict that was passed in.")


# ---------------------------------------------------------------- rnn_forward
def _forward_mistakes(x, a0, p, activation):
    n_x, m, T_x = x.shape
    n_y, n_a = p["Wya"].shape

    def run(start, carry):
        a = np.zeros((n_a, m, T_x))
        y = np.zeros((n_y, m, T_x))
        a_t = start
        for t in range(T_x):
            a_new, y_t, _ = ref.rnn_cell_forward(x[:, :, t], a_t if carry else start, p, activation)
            a[:, :, t], y[:, :, t] = a_new, y_t
            a_t = a_new
        return a, y

    yield "the loop does not start from a0: the first step must use the a0 that was passed in, not zeros.", run(np.zeros_like(a0), True)
    yield "every step uses a0 as the previous state: pass each step's a_next on to the next step.", run(a0, False)


def check_rnn_forward(rnn_forward):
    """Checks rnn_forward (the loop over time from a0) against the reference.

    Inputs: five random problems per activation, a non-zero a0; a, y_pred and one cache
    per step.
    Names: loop_not_from_a0, state_not_carried, forward_ignores_activation.
    """
    fn = isolate(rnn_forward, rnn_cell_forward=ref.rnn_cell_forward, softmax=ref.softmax)
    for activation in common.ACTIVATIONS:
        for rng, (n_x, n_a, n_y, m, T_x) in _cases():
            p = _params(rng, n_x, n_a, n_y)
            x = rng.standard_normal((n_x, m, T_x))
            a0 = rng.standard_normal((n_a, m))  # a non-zero a<0>
            kwargs = {} if activation == "tanh" else {"activation": "relu"}
            out = call(fn, "rnn_forward", x, a0, p, **kwargs)
            if not (isinstance(out, tuple) and len(out) == 3):
                fail("rnn_forward should return a tuple of three: (a, y_pred, caches).")
            a, y_pred, caches = out
            expect_array(a, (n_a, m, T_x), "a")
            expect_array(y_pred, (n_y, m, T_x), "y_pred")
            e_a, e_y, _ = ref.rnn_forward(x, a0, p, activation)
            mistakes = list(_forward_mistakes(x, a0, p, activation))
            if not close(a, e_a):
                if activation == "relu" and close(a, ref.rnn_forward(x, a0, p, "tanh")[0]):
                    fail("rnn_forward gives the tanh states when asked for ReLU.",
                         looks_like="rnn_forward ignores its activation argument: pass it on to rnn_cell_forward.")
                diagnose(a, e_a, [(txt, wa) for txt, (wa, _) in mistakes], "a (the hidden states)")
            if not close(y_pred, e_y):
                diagnose(y_pred, e_y, [(txt, wy) for txt, (_, wy) in mistakes], "y_pred")
            if not (isinstance(caches, tuple) and len(caches) == 2 and isinstance(caches[0], list)
                    and len(caches[0]) == T_x and close(caches[1], x)):
                fail(f"caches should be the tuple (list of the {T_x} caches of rnn_cell_forward, x).")
            first = caches[0][0]
            if not (isinstance(first, tuple) and len(first) == 4 and close(first[1], a0)):
                fail("the first cache should be the one rnn_cell_forward returned for step 1, whose a_prev is a0.")
