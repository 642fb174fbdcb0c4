"""Hidden checks of chapter 5, the simplified notation."""
from __future__ import annotations

import numbers

import numpy as np

from autograde.checks import SEEDS, call, close, common, diagnose, expect_array, fail, isolate
from autograde.checks.ch04 import verify_cell_step
from solutions import ch04 as ref04
from solutions import ch05 as ref

# name -> (exercise, old text, new text): edits of the reference body that the check of
# that exercise must catch and name (see autograde.authoring.synthetic).
MISTAKES = {
    "wax_before_waa": ("stack_weights", "[Waa, Wax]", "[Wax, Waa]"),
    "waa_from_the_end": ("unstack_weights", "Waa = Wa[:, :n_a].copy()", "Waa = Wa[:, -n_a:].copy()"),
    "cut_after_n_x": ("unstack_weights", "n_a = Wa.shape[0]", "n_a = Wa.shape[1] - Wa.shape[0]"),
    "xt_on_top": ("stack_state_input", "[a_prev, xt]", "[xt, a_prev]"),
    "compact_stack_order": ("rnn_cell_forward_compact", "stack_state_input(a_prev, xt)", "stack_state_input(xt, a_prev)"),
    "compact_bias_left_out": ("rnn_cell_forward_compact", ' @ stacked + parameters["ba"]', " @ stacked"),
    "compact_y_from_a_prev": ("rnn_cell_forward_compact", 'parameters["Wy"] @ a_next', 'parameters["Wy"] @ a_prev'),
    "compact_ignores_activation": ("rnn_cell_forward_compact", 'if activation == "tanh":',
                                   'if activation in ("tanh", "relu"):'),
    "count_without_ba": ("parameter_count", "count = n_a * (n_a + n_x) + n_a", "count = n_a * (n_a + n_x)"),
    "count_without_waa": ("parameter_count", "n_a * (n_a + n_x)", "n_a * n_x"),
}
# name -> a phrase of the diagnosis its check gives (see autograde.checks.named)
DIAGNOSES_SAY = {
    "wax_before_waa": "you put Wax before Waa: Wa",
    "waa_from_the_end": "you took the last n_a columns",
    "cut_after_n_x": "you cut Wa after n_x columns.",
    "xt_on_top": "you put xt on top: the",
    "compact_stack_order": "the state and the input are",
    "compact_bias_left_out": "the bias ba was left out",
    "compact_y_from_a_prev": "yt_pred was computed from a_prev instead",
    "compact_ignores_activation": "the activation argument was ignored: with",
    "count_without_ba": "the bias ba was left out",
    "count_without_waa": "Waa was left out: Wa =",
}


# What the chapter's visible tests say when they catch each mistake (a regular expression
# over their failure message; see tests/test_visible_tests.py).
VISIBLE_TESTS_SAY = {
    "wax_before_waa": r"FIRST",
    "waa_from_the_end": r"FIRST 2 columns",
    "cut_after_n_x": r"cut after n_a",
    "xt_on_top": r"a_prev on top",
    "compact_stack_order": r"a_prev on top",
    "compact_bias_left_out": r"ba added",
    "compact_y_from_a_prev": r"NEW state a_next",
    "compact_ignores_activation": r"activation argument",
    "count_without_ba": r"ba \(2\) is missing",
    "count_without_waa": r"Waa block .* is missing",
}

# (n_x, n_a, n_y, m): all sizes distinct, then one example, then n_x < n_a
SIZES = [(5, 3, 2, 4), (7, 4, 3, 1), (2, 6, 5, 3)]


def _cases():
    return common.cases(2000, SIZES, len(SEEDS))


_relu = common.relu


# ---------------------------------------------------------------- stack_weights
def check_stack_weights(stack_weights):
    """Checks stack_weights (Wa = [Waa | Wax]) against the reference.

    Inputs: five random (Waa, Wax) pairs, n_x != n_a.
    Names: wax_before_waa.
    """
    for rng, (n_x, n_a, n_y, m) in _cases():
        Waa = rng.standard_normal((n_a, n_a))
        Wax = rng.standard_normal((n_a, n_x))
        got = call(stack_weights, "stack_weights", Waa, Wax)
        if isinstance(got, np.ndarray) and got.shape == (n_a + n_x, n_a):
            fail(f"Wa has shape {got.shape}.", looks_like=f"you transposed it. Wa is (n_a, n_a + n_x) = "
                 f"{(n_a, n_a + n_x)}: put Waa and Wax side by side (np.concatenate with axis=1, or np.hstack).")
        expect_array(got, (n_a, n_a + n_x), "Wa")
        expected = ref.stack_weights(Waa, Wax)
        if not close(got, expected):
            diagnose(got, expected, [
                ("you put Wax before Waa: Wa = [Waa | Wax] starts with the n_a columns of Waa.",
                 np.concatenate([Wax, Waa], axis=1)),
            ], "Wa")


# ---------------------------------------------------------------- unstack_weights
def check_unstack_weights(unstack_weights):
    """Checks unstack_weights (Wa cut back into Waa and Wax) against the reference.

    Inputs: five random Wa, n_x != n_a.
    Names: waa_from_the_end, cut_after_n_x.
    """
    for rng, (n_x, n_a, n_y, m) in _cases():
        Waa = rng.standard_normal((n_a, n_a))
        Wax = rng.standard_normal((n_a, n_x))
        Wa = np.concatenate([Waa, Wax], axis=1)
        out = call(unstack_weights, "unstack_weights", Wa)
        if not (isinstance(out, tuple) and len(out) == 2):
            fail("unstack_weights should return a tuple of two arrays: (Waa, Wax).")
        got_aa, got_ax = out
        if isinstance(got_aa, np.ndarray) and got_aa.shape == (n_a, n_x) and n_x != n_a:
            fail(f"Waa has shape {got_aa.shape}.", looks_like="you cut Wa after n_x columns. Waa is square, "
                 "(n_a, n_a), so cut after n_a = Wa.shape[0] columns.")
        expect_array(got_aa, (n_a, n_a), "Waa")
        expect_array(got_ax, (n_a, n_x), "Wax")
        if not close(got_aa, Waa):
            diagnose(got_aa, Waa, [
                ("you took the last n_a columns of Wa for Waa: Waa is the first block, Wa[:, :n_a].",
                 Wa[:, -n_a:]),
            ], "Waa")
        if not close(got_ax, Wax):
            diagnose(got_ax, Wax, [
                ("you took the first columns of Wa for Wax: Wax is the second block, after the n_a columns of Waa.",
                 Wa[:, :n_x]),
            ], "Wax")


# ---------------------------------------------------------------- stack_state_input
def check_stack_state_input(stack_state_input):
    """Checks stack_state_input ([a_prev; xt] as one column per example) against the
    reference.

    Inputs: five random pairs, m = 1 included.
    Names: xt_on_top.
    """
    for rng, (n_x, n_a, n_y, m) in _cases():
        a_prev = rng.standard_normal((n_a, m))
        xt = rng.standard_normal((n_x, m))
        got = call(stack_state_input, "stack_state_input", a_prev, xt)
        if isinstance(got, np.ndarray) and got.ndim == 1 and got.size == (n_a + n_x) * m and m > 1:
            fail("the result is one flat vector.", looks_like="you used np.append or np.ravel. Keep the m "
                 "columns: np.concatenate([...], axis=0) gives shape (n_a + n_x, m).")
        expect_array(got, (n_a + n_x, m), "the stacked column [a_prev; xt]")
        expected = ref.stack_state_input(a_prev, xt)
        if not close(got, expected):
            diagnose(got, expected, [
                ("you put xt on top: the stack is [a<t-1>; x<t>], the n_a rows of a_prev first, to match "
                 "Wa = [Waa | Wax].", np.concatenate([xt, a_prev], axis=0)),
            ], "the stacked column [a_prev; xt]")


# ---------------------------------------------------------------- rnn_cell_forward_compact
def _compact_params(rng, n_x, n_a, n_y):
    return {"Wa": rng.standard_normal((n_a, n_a + n_x)) * 0.8, "ba": rng.standard_normal((n_a, 1)),
            "Wy": rng.standard_normal((n_y, n_a)), "by": rng.standard_normal((n_y, 1))}


def _compact_mistakes(xt, a_prev, p, activation):
    g = np.tanh if activation == "tanh" else _relu
    Wa, ba, Wy, by = p["Wa"], p["ba"], p["Wy"], p["by"]
    good = g(Wa @ np.concatenate([a_prev, xt]) + ba)
    yield ("the state and the input are stacked in the wrong order: Wa = [Waa | Wax] multiplies "
           "[a<t-1>; x<t>], with a_prev on top (call stack_state_input(a_prev, xt)).",
           g(Wa @ np.concatenate([xt, a_prev]) + ba), None)
    yield "the bias ba was left out of a_next.", g(Wa @ np.concatenate([a_prev, xt])), None
    if activation == "relu":
        yield ("the activation argument was ignored: with activation='relu', a_next = max(0, ...).",
               np.tanh(Wa @ np.concatenate([a_prev, xt]) + ba), None)
    yield "yt_pred was computed from a_prev instead of the new state a_next.", None, ref04.softmax(Wy @ a_prev + by)
    yield "the bias by was left out of yt_pred.", None, ref04.softmax(Wy @ good)
    yield "yt_pred is the raw score Wy a_next + by: apply softmax to it.", None, Wy @ good + by


def check_rnn_cell_forward_compact(rnn_cell_forward_compact):
    """Checks rnn_cell_forward_compact (one step with Wa and the stacked column) against
    the reference.

    Inputs: five random problems per activation, non-zero a_prev.
    Names: compact_stack_order, compact_bias_left_out, compact_y_from_a_prev,
    compact_ignores_activation.
    """
    fn = isolate(rnn_cell_forward_compact, stack_state_input=ref.stack_state_input, softmax=ref04.softmax)
    for activation in common.ACTIVATIONS:
        for rng, (n_x, n_a, n_y, m) in _cases():
            p = _compact_params(rng, n_x, n_a, n_y)
            xt = rng.standard_normal((n_x, m))
            a_prev = rng.standard_normal((n_a, m))  # never zero, so a_prev mistakes show
            expected = ref.rnn_cell_forward_compact(xt, a_prev, p, activation)[:2]
            verify_cell_step(fn, "rnn_cell_forward_compact", xt, a_prev, p, activation, expected,
                            list(_compact_mistakes(xt, a_prev, p, activation)))
    # the compact cell equals chapter 4's cell with Wa = [Waa | Wax]
    rng = np.random.default_rng(2100)
    n_x, n_a, n_y, m = 4, 3, 2, 2
    p4 = {"Waa": rng.standard_normal((n_a, n_a)), "Wax": rng.standard_normal((n_a, n_x)),
          "Wya": rng.standard_normal((n_y, n_a)), "ba": rng.standard_normal((n_a, 1)), "by": rng.standard_normal((n_y, 1))}
    p5 = {"Wa": np.hstack([p4["Waa"], p4["Wax"]]), "ba": p4["ba"], "Wy": p4["Wya"], "by": p4["by"]}
    xt, a_prev = rng.standard_normal((n_x, m)), rng.standard_normal((n_a, m))
    a4, y4, _ = ref04.rnn_cell_forward(xt, a_prev, p4)
    a5, y5, _ = call(fn, "rnn_cell_forward_compact", xt, a_prev, p5)
    if not (close(a4, a5) and close(y4, y5)):
        fail("rnn_cell_forward_compact should give exactly chapter 4's cell when Wa = [Waa | Wax] and Wy = Wya.")


# ---------------------------------------------------------------- parameter_count
def _count_mistakes(n_x, n_a, n_y):
    right = ref.parameter_count(n_x, n_a, n_y)
    yield "the bias ba was left out (it has n_a entries).", right - n_a
    yield "the bias by was left out (it has n_y entries).", right - n_y
    yield "both biases were left out: ba has n_a entries and by has n_y.", right - n_a - n_y
    yield "Waa was left out: Wa = [Waa | Wax] has n_a * (n_a + n_x) entries, not n_a * n_x.", right - n_a * n_a
    yield "Wy was left out: the output layer has n_y * n_a weights and n_y biases.", right - n_y * n_a - n_y
    yield ("Wa was counted as (n_a + n_x) squared: Wa has n_a rows (one per hidden unit) and n_a + n_x columns.",
           right - n_a * (n_a + n_x) + (n_a + n_x) ** 2)


def check_parameter_count(parameter_count):
    """Checks parameter_count of the compact RNN (an int) against the reference.

    Inputs: five size triples, 10 000 inputs and 1 x 1 x 1 among them.
    Names: count_without_ba, count_without_waa.
    """
    for n_x, n_a, n_y in [(10_000, 100, 1), (7, 5, 3), (3, 11, 2), (1, 1, 1), (50, 20, 50)]:
        got = call(parameter_count, "parameter_count", n_x, n_a, n_y)
        expected = ref.parameter_count(n_x, n_a, n_y)
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Integral):
            if isinstance(got, numbers.Real) and got == expected:
                fail(f"parameter_count returned {got!r}, a {type(got).__name__}: return an int (wrap it in int(...)).")
            if not isinstance(got, numbers.Real):
                fail(f"parameter_count should return an int, got {type(got).__name__}.")
        if got != expected:
            for explanation, wrong in _count_mistakes(n_x, n_a, n_y):
                if got == wrong:
                    fail(f"parameter_count({n_x}, {n_a}, {n_y}) is {got}.", looks_like=f"{explanation}")
            fail(f"parameter_count({n_x}, {n_a}, {n_y}) is {got}. Count the entries of Wa "
                 "(n_a, n_a + n_x), ba (n_a, 1), Wy (n_y, n_a) and by (n_y, 1).")
