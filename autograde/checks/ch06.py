"""Hidden checks of chapter 6, backpropagation through time.

Every gradient is compared with the reference on random inputs: tanh and ReLU (never an
identity activation, under which a missing derivative goes unnoticed), T_x of 1, 2 and
7, batches of 1 and more. When a gradient is wrong, the check looks for the classic
mistake it matches and, failing that, reports how far a centred finite-difference
check puts it from the truth.
"""
from __future__ import annotations

import numbers

import numpy as np

from autograde.checks import (
    call,
    close,
    common,
    diagnose,
    expect_array,
    expect_float,
    fail,
    isolate,
    part,
    quiet_numpy,
)
from solutions import ch04 as ref04
from solutions import ch06 as ref

# name -> (exercise, old text, new text): edits of the reference body that the check of
# that exercise must catch and name (see autograde.authoring.synthetic).
# Partial credit: exercise -> sub-check -> weight (autograde.checks.part): each gradient of
# the cell is a sub-check of its own.
PARTS = {"rnn_cell_backward": {"dxt": 1, "da_prev": 1, "dWax": 1, "dWaa": 1, "dba": 1}}
# The share of its exercise's points each classic mistake keeps (0 when not listed): a
# mistake in one gradient costs that gradient only.
KEEPS = {"dba_not_summed": 0.8, "dwaa_with_a_next": 0.8, "dwaa_transposed": 0.8, "da_prev_without_transpose": 0.8}

MISTAKES = {
    "derivative_at_a_prev": ("rnn_cell_backward", "1 - a_next ** 2", "1 - a_prev ** 2"),
    "no_activation_derivative": ("rnn_cell_backward", "dz = da_next * (1 - a_next ** 2)", "dz = da_next"),
    "dba_not_summed": ("rnn_cell_backward", "np.sum(dz, axis=1, keepdims=True)", "dz"),
    "dwaa_with_a_next": ("rnn_cell_backward", "dz @ a_prev.T", "dz @ a_next.T"),
    "dwaa_transposed": ("rnn_cell_backward", "dWaa = dz @ a_prev.T", "dWaa = a_prev @ dz.T"),
    "da_prev_without_transpose": ("rnn_cell_backward", 'da_prev = parameters["Waa"].T @ dz', 'da_prev = parameters["Waa"] @ dz'),
    "forgot_output_gradient": ("rnn_backward", "da[:, :, t] + da_prevt", "da_prevt"),
    "forgot_next_step_gradient": ("rnn_backward", "da[:, :, t] + da_prevt", "da[:, :, t]"),
    "overwrote_dwaa": ("rnn_backward", 'dWaa += step["dWaa"]', 'dWaa = step["dWaa"]'),
    "loop_forwards": ("rnn_backward", "reversed(range(T_x))", "range(T_x)"),
    "backward_ignores_activation": ("rnn_backward", "cache_list[t], activation)", "cache_list[t])"),
    "loss_averaged_over_time": ("binary_cross_entropy", "np.sum(losses) / m", "np.mean(losses)"),
    "loss_summed_over_batch": ("binary_cross_entropy", "np.sum(losses) / m", "np.sum(losses)"),
    "loss_mask_ignored": ("binary_cross_entropy", "losses = losses * mask", "losses = losses"),
    "loss_not_clipped": ("binary_cross_entropy", "p = np.clip(y_hat, 1e-12, 1 - 1e-12)", "p = y_hat"),
    "output_gradient_not_averaged": ("rnn_loss_and_gradients", "(y_hat[:, :, t] - y[:, :, t]) / m",
                                     "(y_hat[:, :, t] - y[:, :, t])"),
    "sigmoid_derivative_twice": ("rnn_loss_and_gradients", "(y_hat[:, :, t] - y[:, :, t]) / m",
                                 "(y_hat[:, :, t] - y[:, :, t]) * y_hat[:, :, t] * (1 - y_hat[:, :, t]) / m"),
    "dwya_last_step_only": ("rnn_loss_and_gradients", "dWya += dzy @ a[:, :, t].T", "dWya = dzy @ a[:, :, t].T"),
    "gradient_mask_ignored": ("rnn_loss_and_gradients", " / m * weight[:, t]", " / m"),
    "gradients_ignore_activation": ("rnn_loss_and_gradients", "rnn_backward(da, caches, activation)",
                                    "rnn_backward(da, caches)"),
    "ce_gradient_not_averaged": ("softmax_cross_entropy", "(np.exp(log_probs) - y) / m", "(np.exp(log_probs) - y)"),
    "ce_gradient_sign": ("softmax_cross_entropy", "(np.exp(log_probs) - y) / m", "(y - np.exp(log_probs)) / m"),
    "ce_overflow": ("softmax_cross_entropy", "shifted = scores - np.max(scores, axis=0, keepdims=True)",
                    "shifted = scores"),
    "forward_difference": ("numerical_gradient", "(f_plus - f_minus) / (2 * eps)", "(f_plus - f(theta)) / eps"),
    "divided_by_eps": ("numerical_gradient", "(f_plus - f_minus) / (2 * eps)", "(f_plus - f_minus) / eps"),
    "no_denominator": ("relative_error", "return float(diff / size)", "return float(diff)"),
    "clip_kills_negatives": ("clip_elementwise", "np.clip(g, -max_value, max_value)", "np.clip(g, 0, max_value)"),
    "clip_in_place": ("clip_elementwise", "np.clip(g, -max_value, max_value)", "np.clip(g, -max_value, max_value, out=g)"),
    "rescale_small_gradients": ("clip_by_global_norm", "if global_norm <= max_norm:", "if global_norm < 0:"),
    "gradients_extra_keys": ("rnn_loss_and_gradients", 'gradients = {"dWaa": back["dWaa"]',
                             'gradients = {**back, "dWaa": back["dWaa"]'),
    "ce_log_of_softmax": ("softmax_cross_entropy",
                          "log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))",
                          "log_probs = np.log(np.exp(shifted) / np.sum(np.exp(shifted), axis=0, keepdims=True))"),
    "gradient_keeps_int": ("numerical_gradient", "point = np.array(theta, dtype=float)", "point = np.array(theta)"),
}
# name -> a phrase of the diagnosis its check gives (see autograde.checks.named)
DIAGNOSES_SAY = {
    "derivative_at_a_prev": "the derivative of the activation was taken",
    "no_activation_derivative": "the derivative of the activation was left",
    "dba_not_summed": "dba was not summed over the",
    "dwaa_with_a_next": "dWaa used a_next, this step's new",
    "dwaa_transposed": "dWaa is transposed (a_prev @ dz.T):",
    "da_prev_without_transpose": "da_prev used Waa instead of its",
    "forgot_output_gradient": "the output gradient da[:, :, t]",
    "forgot_next_step_gradient": "the gradient from the next step",
    "overwrote_dwaa": "the parameter gradients were overwritten at",
    "loop_forwards": "the loop runs forwards in time.",
    "backward_ignores_activation": "rnn_backward ignores its activation argument: pass",
    "loss_averaged_over_time": "you averaged over every entry (np.mean):",
    "loss_summed_over_batch": "you summed over the batch as",
    "loss_mask_ignored": "the mask was ignored: the loss",
    "loss_not_clipped": "y_hat was not clipped: log(0) is",
    "output_gradient_not_averaged": "the output gradient was not divided",
    "sigmoid_derivative_twice": "the sigmoid's derivative was applied on",
    "dwya_last_step_only": "dWya was overwritten at every step",
    "gradient_mask_ignored": "the mask was ignored in the",
    "gradients_ignore_activation": "the activation argument was not passed",
    "ce_gradient_not_averaged": "dscores was not divided by m:",
    "ce_gradient_sign": "dscores has the wrong sign: it",
    "ce_overflow": "np.exp overflowed: subtract each column's maximum",
    "forward_difference": "you used a one-sided (forward) difference,",
    "divided_by_eps": "you divided by eps instead of",
    "no_denominator": "you returned the absolute error ||analytic",
    "clip_kills_negatives": "entries between -max_value and 0 were",
    "clip_in_place": "the arrays were clipped in place",
    "rescale_small_gradients": "gradients were rescaled although their global",
}


# What the chapter's visible tests say when they catch each mistake (a regular expression
# over their failure message; see tests/test_visible_tests.py).
VISIBLE_TESTS_SAY = {
    "derivative_at_a_prev": r"OUTPUT a_next",
    "no_activation_derivative": r"dz = da_next \* g'\(z\)",
    "dba_not_summed": r"sum dz over the batch",
    "dwaa_with_a_next": r"dWaa = dz @ a_prev\.T",
    "dwaa_transposed": r"dWaa = dz @ a_prev\.T \(not its transpose",
    "da_prev_without_transpose": r"Waa\.T @ dz",
    "forgot_output_gradient": r"pass da\[:, :, t\]",
    "forgot_next_step_gradient": r"PLUS what step t \+ 1 sends back",
    "overwrote_dwaa": r"add up \(\+=\)",
    "loop_forwards": r"run backwards",
    "backward_ignores_activation": r"activation",
    "loss_averaged_over_time": r"SUMS the losses over the time steps",
    "loss_summed_over_batch": r"divide the sum by m",
    "loss_mask_ignored": r"mask was not applied",
    "loss_not_clipped": r"clip y_hat",
    "output_gradient_not_averaged": r"divide dz_y by m",
    "sigmoid_derivative_twice": r"sigmoid's derivative is already inside",
    "dwya_last_step_only": r"add up dz_y<t> @ a<t>\.T over all the steps",
    "gradient_mask_ignored": r"multiply dz_y<t> by the mask",
    "gradients_ignore_activation": r"pass activation on",
    "ce_gradient_not_averaged": r"divide y_hat - y by m",
    "ce_gradient_sign": r"wrong sign",
    "ce_overflow": r"overflow",
    "forward_difference": r"centred difference",
    "divided_by_eps": r"2 \* eps",
    "no_denominator": r"sum of the two norms",
    "clip_kills_negatives": r"stays as it is",
    "clip_in_place": r"must not change",
    "rescale_small_gradients": r"unchanged",
    "gradients_extra_keys": r"exactly the keys",
    "ce_log_of_softmax": r"log-softmax directly",
    "gradient_keeps_int": r"FLOAT copy",
}

# (n_x, n_a, n_y, m, T_x): distinct sizes, T_x of 1, 2 and 7, m = 1 and more
SIZES = [(3, 5, 2, 4, 7), (4, 3, 1, 1, 2), (2, 4, 3, 3, 1), (5, 2, 1, 1, 7), (3, 4, 2, 5, 2)]
ACTIVATIONS = common.ACTIVATIONS
EXPECTED_REL_ERROR = 1e-7  # a correct gradient gives about 1e-10 here (see the chapter)


def _cases():
    return common.cases(3000, SIZES)


def _params(rng, n_x, n_a, n_y):
    return common.rnn_parameters(rng, n_x, n_a, n_y, waa=0.7)


_kwargs = common.activation_kwargs
_gprime = common.g_prime


def _fd_error(f, theta, analytic, eps=1e-5):
    """Relative error of ``analytic`` against a centred finite-difference estimate of df/dtheta."""
    numeric = ref.numerical_gradient(f, theta, eps)
    return ref.relative_error(np.asarray(analytic, dtype=float), numeric)


def _expect_dict(out, keys, name, extra: str | None = None):
    """``out`` as a dict holding ``keys``; ``extra``: the name of the mistake of returning
    more keys than these (when the docstring gives exactly these keys)."""
    if not isinstance(out, dict):
        fail(f"{name} should return a dict of gradients with the keys {', '.join(keys)}; got {type(out).__name__}.")
    missing = [k for k in keys if k not in out]
    if missing:
        fail(f"{name} returned a dict without {', '.join(missing)}: it should hold {', '.join(keys)}.")
    if extra is not None and set(out) != set(keys):
        more = sorted(str(k) for k in set(out) - set(keys))
        fail(f"{name} returned a dict with more keys than {', '.join(keys)} (also {', '.join(more)}).",
             mistake=extra, looks_like=(
                 "the gradients dict holds more than one gradient per parameter: the next steps (clipping, the "
                 "update parameters[name] - learning_rate * gradients['d' + name]) go over its keys, and an extra "
                 "one such as da0 breaks them. Return exactly dWaa, dWax, dba, dWya and dby."))
    return out


# ---------------------------------------------------------------- rnn_cell_backward
def _cell_variants(da_next, cache, activation):
    """(explanation, gradients dict) for the classic mistakes of one cell's backward pass."""
    a_next, a_prev, xt, p = cache

    def grads(dz, state_for_dWaa=a_prev, Waa=p["Waa"], bias=lambda d: d.sum(axis=1, keepdims=True), flip=False):
        dWaa = dz @ state_for_dWaa.T
        return {"dxt": p["Wax"].T @ dz, "da_prev": Waa.T @ dz, "dWax": dz @ xt.T,
                "dWaa": dWaa.T if flip else dWaa, "dba": bias(dz)}

    good = da_next * _gprime(a_next, activation)
    yield ("the derivative of the activation was taken at a_prev, the state of the previous step. "
           "g'(z) belongs to this step: use a_next = a<t> (for tanh, 1 - a_next**2).",
           grads(da_next * _gprime(a_prev, activation)))
    yield ("the derivative of the activation was left out: dz = da_next * g'(z), with "
           "g'(z) = 1 - a_next**2 for tanh and (a_next > 0) for ReLU.", grads(da_next))
    if activation == "tanh":
        yield ("tanh was applied twice: a_next is already tanh(z), so tanh'(z) = 1 - a_next**2, "
               "not 1 - np.tanh(a_next)**2.", grads(da_next * (1 - np.tanh(a_next) ** 2)))
    else:
        yield ("the activation argument was ignored: with activation='relu' the derivative is "
               "(a_next > 0), not 1 - a_next**2.", grads(da_next * (1 - a_next ** 2)))
        yield ("the ReLU derivative was written as a_next itself: it is 1 where a_next > 0 and 0 elsewhere.",
               grads(da_next * a_next))
    yield ("dWaa used a_next, this step's new state: Waa multiplied a_prev in the forward pass, "
           "so dWaa = dz @ a_prev.T.", grads(good, state_for_dWaa=a_next))
    yield ("dWaa is transposed (a_prev @ dz.T): the gradient of Waa has the layout of Waa, "
           "dWaa = dz @ a_prev.T.", grads(good, flip=True))
    yield "da_prev used Waa instead of its transpose: da_prev = Waa.T @ dz.", grads(good, Waa=p["Waa"].T)
    yield ("dba was averaged over the batch instead of summed: ba is added to every column, "
           "so its gradient is the sum of dz over the columns.", grads(good, bias=lambda d: d.mean(axis=1, keepdims=True)))


CELL_KEYS = ("dxt", "da_prev", "dWax", "dWaa", "dba")


def check_rnn_cell_backward(rnn_cell_backward):
    """Checks rnn_cell_backward (the gradients of one step) against the reference.

    Inputs: five random problems per activation; every key of the cell's dict, compared
    with the reference and with finite differences.
    Names: derivative_at_a_prev, no_activation_derivative, dba_not_summed,
    dwaa_with_a_next, dwaa_transposed, da_prev_without_transpose.
    """
    fn = isolate(rnn_cell_backward)
    for activation in ACTIVATIONS:
        for rng, (n_x, n_a, n_y, m, T_x) in _cases():
            p = _params(rng, n_x, n_a, n_y)
            xt, a_prev = rng.standard_normal((n_x, m)), np.tanh(rng.standard_normal((n_a, m)))
            a_next, _, cache = ref04.rnn_cell_forward(xt, a_prev, p, activation)
            da_next = rng.standard_normal((n_a, m))
            out = _expect_dict(call(fn, "rnn_cell_backward", da_next, cache, **_kwargs(activation)),
                               CELL_KEYS, "rnn_cell_backward")
            shapes = {"dxt": (n_x, m), "da_prev": (n_a, m), "dWax": (n_a, n_x), "dWaa": (n_a, n_a), "dba": (n_a, 1)}
            got_dba = out["dba"]
            with part("dba"):
                if isinstance(got_dba, np.ndarray) and m > 1 and got_dba.shape == (n_a, m):
                    fail(f"dba has shape {got_dba.shape}, expected {(n_a, 1)}.", looks_like="dba was not summed "
                         "over the batch. ba is added to every one of the m columns, so "
                         "dba = np.sum(dz, axis=1, keepdims=True).")
                if isinstance(got_dba, np.ndarray) and got_dba.shape in {(n_a,), (1, n_a)}:
                    fail(f"dba has shape {got_dba.shape}, expected {(n_a, 1)}: keep it a column, like ba "
                         "(np.sum(..., axis=1, keepdims=True)).")
            expected = ref.rnn_cell_backward(da_next, cache, activation)
            variants = list(_cell_variants(da_next, cache, activation))
            for key in CELL_KEYS:
                with part(key):  # each gradient is a sub-check of its own
                    expect_array(out[key], shapes[key], key)
                    if not close(out[key], expected[key]):
                        diagnose(out[key], expected[key], [(t, v[key]) for t, v in variants],
                                 f"{key} (activation={activation!r}, m={m})")


# ---------------------------------------------------------------- rnn_backward
def _bptt(da, caches, activation, mode="right"):
    """BPTT written out again, with one classic mistake selected by ``mode``."""
    cache_list, x = caches
    n_a, m, T_x = da.shape
    out = {"dx": np.zeros(x.shape), "dWax": np.zeros((n_a, x.shape[0])), "dWaa": np.zeros((n_a, n_a)),
           "dba": np.zeros((n_a, 1))}
    carry = np.zeros((n_a, m))
    order = range(T_x) if mode == "forwards" else range(T_x - 1, -1, -1)
    for t in order:
        incoming = {"no_output": carry, "no_carry": da[:, :, t]}.get(mode, da[:, :, t] + carry)
        cache = cache_list[t - 1] if mode == "cache_off_by_one" else cache_list[t]
        act = "tanh" if mode == "ignore_activation" else activation
        step = ref.rnn_cell_backward(incoming, cache, act)
        out["dx"][:, :, t] = step["dxt"]
        for k in ("dWax", "dWaa", "dba"):
            out[k] = step[k] if mode == "overwrite" else out[k] + step[k]
        carry = step["da_prev"]
    out["da0"] = carry
    return out


BPTT_MISTAKES = {
    "no_output": "the output gradient da[:, :, t] was not added to the gradient coming from the next step. "
                 "a<t> feeds both its own output and step t+1, so pass da[:, :, t] + da_prevt to rnn_cell_backward.",
    "no_carry": "the gradient from the next step (da_prev of step t+1) was not carried back: pass "
                "da[:, :, t] + da_prevt to rnn_cell_backward, not da[:, :, t] alone.",
    "overwrite": "the parameter gradients were overwritten at each step instead of added up. The same Waa, Wax "
                 "and ba are used at every step, so each step adds its share: dWaa += ..., and so on.",
    "forwards": "the loop runs forwards in time. The gradient of step t needs the gradient of step t+1 first, "
                "so go from the last step back to the first (reversed(range(T_x))).",
    "cache_off_by_one": "each step used the cache of the wrong time step (caches[t - 1] instead of caches[t]), "
                        "so the activations of another step were used.",
    "ignore_activation": "rnn_backward ignores its activation argument: pass it on to rnn_cell_backward.",
}
BPTT_KEYS = ("dx", "da0", "dWax", "dWaa", "dba")


def _bptt_problem(da, caches, x, a0, p, activation, key, got):
    """A finite-difference statement about the learner's gradient ``key``, for the failure message."""
    if key not in ("dWaa", "dWax", "dba"):
        return ""
    name = key[1:]

    def f(theta):
        q = dict(p)
        q[name] = theta
        a, _, _ = ref04.rnn_forward(x, a0, q, activation)
        return float(np.sum(da * a))

    err = _fd_error(f, p[name], got)
    return (f" A centred finite-difference check of {key} gives a relative error of {err:.1e} "
            f"(a correct backward pass gives below {EXPECTED_REL_ERROR:.0e}).")


def check_rnn_backward(rnn_backward):
    """Checks rnn_backward (backpropagation through time) against the reference.

    Inputs: five random problems per activation, T_x = 1 among them; dx, da0 and the
    parameter gradients.
    Names: forgot_output_gradient, forgot_next_step_gradient, overwrote_dwaa,
    loop_forwards, backward_ignores_activation.
    """
    fn = isolate(rnn_backward, rnn_cell_backward=ref.rnn_cell_backward)
    for activation in ACTIVATIONS:
        for rng, (n_x, n_a, n_y, m, T_x) in _cases():
            p = _params(rng, n_x, n_a, n_y)
            x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m)) * 0.5
            _, _, caches = ref04.rnn_forward(x, a0, p, activation)
            da = rng.standard_normal((n_a, m, T_x))
            out = _expect_dict(call(fn, "rnn_backward", da, caches, **_kwargs(activation)), BPTT_KEYS, "rnn_backward")
            shapes = {"dx": (n_x, m, T_x), "da0": (n_a, m), "dWax": (n_a, n_x), "dWaa": (n_a, n_a), "dba": (n_a, 1)}
            for key in BPTT_KEYS:
                expect_array(out[key], shapes[key], key)
            expected = ref.rnn_backward(da, caches, activation)
            variants = [(text, _bptt(da, caches, activation, mode)) for mode, text in BPTT_MISTAKES.items()]
            for key in ("dWaa", "dWax", "dba", "da0", "dx"):
                if not close(out[key], expected[key]):
                    where = f"{key} (activation={activation!r}, T_x={T_x}, m={m})"
                    for text, v in variants:
                        if close(out[key], v[key]):
                            fail(f"{where} is wrong.", looks_like=f"{text}")
                    fail(f"{where} is wrong.{_bptt_problem(da, caches, x, a0, p, activation, key, out[key])} "
                         "Check the loop against the equations: da_next = da[:, :, t] + da_prevt, "
                         "and add up the parameter gradients of every step.")


# ---------------------------------------------------------------- binary_cross_entropy
def _scalar(value, name):
    return expect_float(value, name, ": keep y_hat inside (0, 1) when taking logs.")


def _lengths_mask(rng, m, T_x):
    """A padding mask (m, T_x): example i holds a real word at its first lengths[i] steps."""
    lengths = rng.integers(1, T_x + 1, size=m)
    lengths[0] = T_x  # the longest sets T_max
    return (np.arange(T_x) < lengths[:, None]).astype(float)


def check_binary_cross_entropy(binary_cross_entropy):
    """Checks binary_cross_entropy (summed over outputs and steps, averaged over the batch,
    with an optional mask) against the reference.

    Inputs: five random problems, every other one with a mask of lengths, then
    predictions of exactly 0.0 and 1.0.
    Names: loss_averaged_over_time, loss_summed_over_batch, loss_mask_ignored,
    loss_not_clipped.
    """
    for k, (rng, (n_x, n_a, n_y, m, T_x)) in enumerate(_cases()):
        y_hat = rng.uniform(0.02, 0.98, size=(n_y, m, T_x))
        y = (rng.random((n_y, m, T_x)) < 0.5).astype(float)
        mask = _lengths_mask(rng, m, T_x) if k % 2 == 0 else None
        args = (y_hat, y) if mask is None else (y_hat, y, mask)
        got = _scalar(call(binary_cross_entropy, "binary_cross_entropy", *args), "binary_cross_entropy")
        expected = ref.binary_cross_entropy(*args)
        if not np.isclose(got, expected, rtol=1e-7, atol=1e-10):
            terms = -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
            weight = np.ones((m, T_x)) if mask is None else mask
            kept = terms * weight
            wrong = [
                ("you averaged over the time steps as well: the chapter's loss is a SUM over the time steps "
                 "(every word's loss counts), averaged only over the m examples.", kept.sum() / (m * T_x)),
                ("you averaged over every entry (np.mean): sum over the outputs and time steps, then divide by m.",
                 kept.mean()),
                ("you summed over the batch as well: divide the total by m, the number of examples.", kept.sum()),
                ("the sign is flipped: the loss is MINUS the sum of y log(y_hat) + (1 - y) log(1 - y_hat), "
                 "so it is positive.", -expected),
                ("the term (1 - y) log(1 - y_hat) is missing: words labelled 0 must cost something too.",
                 -(y * np.log(y_hat) * weight).sum() / m),
                ("the term y log(y_hat) is missing: words labelled 1 must cost something too.",
                 -((1 - y) * np.log(1 - y_hat) * weight).sum() / m),
            ]
            if mask is not None:
                wrong.insert(0, ("the mask was ignored: the loss of step t of example i is multiplied by mask[i, t], "
                                 "so that padded steps cost nothing.", terms.sum() / m))
                wrong.append(("you divided by the number of real steps: the loss is averaged over the m examples "
                              "only, whatever their lengths.", kept.sum() / mask.sum()))
            for text, value in wrong:
                if np.isclose(got, value, rtol=1e-7):
                    fail(f"binary_cross_entropy is {got:.6f}"
                         + (" (with a mask)." if mask is not None else "."), looks_like=f"{text}")
            fail(f"binary_cross_entropy is {got:.6f} (y_hat of shape {y_hat.shape}"
                 + (", with a mask)" if mask is not None else ")") + ". Compare with "
                 "J = -(1/m) * sum of mask * [y log(y_hat) + (1 - y) log(1 - y_hat)].")
    # saturated predictions: a sigmoid gives exactly 0.0 or 1.0 beyond |z| of about 37
    y_hat = np.array([[[1.0, 0.0, 0.7], [0.2, 1.0, 0.0]]])
    y = np.array([[[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]]])
    with quiet_numpy():
        got = call(binary_cross_entropy, "binary_cross_entropy", y_hat, y)
    if isinstance(got, (numbers.Real, np.ndarray)) and np.size(got) == 1 and not np.isfinite(got):
        fail("binary_cross_entropy is infinite (or nan) for predictions of exactly 0.0 or 1.0.",
             looks_like="y_hat was not clipped: log(0) is -inf. Clip y_hat into [1e-12, 1 - 1e-12] before the logs.")
    got = _scalar(got, "binary_cross_entropy")
    expected = ref.binary_cross_entropy(y_hat, y)
    if not np.isclose(got, expected, rtol=1e-6):
        fail(f"for predictions of exactly 0.0 or 1.0, binary_cross_entropy is {got:.4f}: "
             "clip y_hat into [1e-12, 1 - 1e-12] before the logs.")


# ---------------------------------------------------------------- rnn_loss_and_gradients
PARAM_KEYS = common.GRADIENT_KEYS


def _full(x, y, a0, p, activation, mask=None, mode="right"):
    """The gradients of the loss, written out again, with one classic mistake selected by ``mode``."""
    a, y_hat, caches = ref.rnn_forward(x, a0, p, activation)
    m = x.shape[1]
    weight = 1.0 if mask is None or mode == "mask_ignored" else mask[None, :, :]
    if mode == "not_averaged":
        dzy = (y_hat - y) * weight
    elif mode == "sigmoid_twice":
        dzy = (y_hat - y) * y_hat * (1 - y_hat) / m * weight
    elif mode == "no_sigmoid":
        dzy = (y_hat - y) / (y_hat * (1 - y_hat)) / m * weight
    else:
        dzy = (y_hat - y) / m * weight
    states = a if mode != "previous_state" else np.concatenate([a0[:, :, None], a[:, :, :-1]], axis=2)
    if mode == "last_step_only":
        out = {"dWya": dzy[:, :, -1] @ states[:, :, -1].T}  # "=" instead of "+=": only the last step's share
    else:
        out = {"dWya": np.einsum("ymt,amt->ya", dzy, states)}
    out["dby"] = dzy.sum(axis=(1, 2))[:, None]
    da = np.einsum("ya,ymt->amt", p["Wya"], dzy)
    back = ref.rnn_backward(da if mode != "no_recurrent" else np.zeros_like(da), caches,
                            "tanh" if mode == "backward_tanh" else activation)
    out.update({k: back[k] for k in ("dWaa", "dWax", "dba")})
    return out


FULL_MISTAKES = {
    "not_averaged": "the output gradient was not divided by m. The loss averages over the batch, so "
                    "dJ/dz = (y_hat - y) / m at every step.",
    "sigmoid_twice": "the sigmoid's derivative was applied on top of (y_hat - y). For a sigmoid output with "
                     "cross-entropy, dJ/dz = (y_hat - y) / m already includes it.",
    "no_sigmoid": "the gradient stopped at y_hat: dJ/dy_hat still has to go through the sigmoid; together "
                  "they give dJ/dz = (y_hat - y) / m.",
    "previous_state": "dWya used a<t-1>: the output of step t reads a<t>, so dWya adds dz_y<t> @ a<t>.T.",
    "last_step_only": "dWya was overwritten at every step instead of added up: Wya serves every step, so "
                      "dWya += dz_y<t> @ a<t>.T.",
    "no_recurrent": "the gradient from the outputs never reached the recurrent part: build da (n_a, m, T_x) "
                    "with da[:, :, t] = Wya.T @ dz_y<t> and pass it to rnn_backward.",
    "backward_tanh": "the activation argument was not passed on to rnn_backward: with ReLU the backward pass "
                     "used the derivative of tanh.",
    "mask_ignored": "the mask was ignored in the gradients: multiply dz_y<t> by mask[:, t], so that padded steps "
                    "send nothing back (the loss leaves them out too).",
}


def check_rnn_loss_and_gradients(rnn_loss_and_gradients):
    """Checks rnn_loss_and_gradients (the loss and the five parameter gradients) against
    the reference.

    Inputs: five random problems per activation, every other one with a mask; the
    gradients dict must hold exactly dWaa, dWax, dba, dWya and dby.
    Names: output_gradient_not_averaged, sigmoid_derivative_twice, dwya_last_step_only,
    gradient_mask_ignored, gradients_ignore_activation, gradients_extra_keys.
    """
    fn = isolate(rnn_loss_and_gradients, rnn_forward=ref.rnn_forward, sigmoid=ref.sigmoid,
                 binary_cross_entropy=ref.binary_cross_entropy, rnn_backward=ref.rnn_backward,
                 rnn_cell_backward=ref.rnn_cell_backward)
    for activation in ACTIVATIONS:
        for k, (rng, (n_x, n_a, n_y, m, T_x)) in enumerate(_cases()):
            p = _params(rng, n_x, n_a, n_y)
            x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m)) * 0.5
            y = (rng.random((n_y, m, T_x)) < 0.5).astype(float)
            mask = _lengths_mask(rng, m, T_x) if k % 2 == 0 else None
            kwargs = _kwargs(activation) if mask is None else dict(_kwargs(activation), mask=mask)
            out = call(fn, "rnn_loss_and_gradients", x, y, a0, p, **kwargs)
            if not (isinstance(out, tuple) and len(out) == 2):
                fail("rnn_loss_and_gradients should return a tuple of two: (loss, gradients).")
            loss, grads = out
            loss = _scalar(loss, "the loss")
            expected_loss, expected = ref.rnn_loss_and_gradients(x, y, a0, p, activation, mask)
            where = f"(activation={activation!r}, T_x={T_x}, m={m}" + (", with a mask)" if mask is not None else ")")
            if not np.isclose(loss, expected_loss, rtol=1e-7):
                if mask is not None and np.isclose(loss, ref.rnn_loss_and_gradients(x, y, a0, p, activation)[0], rtol=1e-7):
                    fail(f"the loss {where} is {loss:.6f}.",
                         looks_like="the mask was not passed on to binary_cross_entropy: padded steps were counted.")
                if activation == "relu" and np.isclose(loss, ref.rnn_loss_and_gradients(x, y, a0, p, "tanh", mask)[0],
                                                       rtol=1e-7):
                    fail(f"the loss {where} is the loss of a tanh network.",
                         looks_like="the activation argument was not passed on to rnn_forward.")
                fail(f"the loss {where} is {loss:.6f}: it should be "
                     "binary_cross_entropy(y_hat, y, mask) of the forward pass's y_hat.")
            grads = _expect_dict(grads, PARAM_KEYS, "rnn_loss_and_gradients", extra="gradients_extra_keys")
            for key in PARAM_KEYS:
                shape = p[key[1:]].shape
                got = grads[key]
                if key == "dby" and isinstance(got, np.ndarray) and got.shape in {(n_y, m), (n_y, m, T_x)} and got.shape != shape:
                    fail(f"dby has shape {got.shape}, expected {shape}.", looks_like="dby was not summed over the "
                         "batch and the time steps. by is added at every step to every column.")
                expect_array(got, shape, key)
            variants = [(text, _full(x, y, a0, p, activation, mask, mode)) for mode, text in FULL_MISTAKES.items()
                        if (mode != "backward_tanh" or activation == "relu") and (mode != "mask_ignored" or mask is not None)]
            for key in ("dWya", "dby", "dWaa", "dWax", "dba"):
                if not close(grads[key], expected[key]):
                    where_key = f"{key} {where}"
                    for text, v in variants:
                        if close(grads[key], v[key]):
                            fail(f"{where_key} is wrong.", looks_like=f"{text}")
                    name = key[1:]

                    def f(theta, name=name, p=p, x=x, y=y, a0=a0, activation=activation, mask=mask):
                        q = dict(p)
                        q[name] = theta
                        return ref.rnn_loss_and_gradients(x, y, a0, q, activation, mask)[0]

                    err = _fd_error(f, p[name], grads[key])
                    fail(f"{where_key} is wrong. A centred finite-difference check gives a relative error of {err:.1e} "
                         f"(a correct gradient gives below {EXPECTED_REL_ERROR:.0e}). Go through the output layer "
                         "step by step: dz_y<t> = (y_hat<t> - y<t>) / m times the mask, dWya += dz_y<t> @ a<t>.T, "
                         "dby += the sum of dz_y<t> over the batch, da[:, :, t] = Wya.T @ dz_y<t>.")


# ---------------------------------------------------------------- softmax_cross_entropy
def _one_hot_classes(rng, shape):
    n_y = shape[0]
    return np.moveaxis(np.eye(n_y)[rng.integers(n_y, size=shape[1:])], -1, 0)


def check_softmax_cross_entropy(softmax_cross_entropy):
    """Checks softmax_cross_entropy (the batch-averaged loss and dscores) against the
    reference.

    Inputs: six score arrays of 2 or 3 dimensions (m = 1 included), the last one with
    scores near 1000 where a true class's probability underflows.
    Names: ce_gradient_not_averaged, ce_gradient_sign, ce_overflow, ce_log_of_softmax.
    """
    rng = np.random.default_rng(3500)
    cases = [(4, 3), (3, 5), (5, 1), (4, 2, 6), (3, 1, 3), (2, 4)]
    for k, shape in enumerate(cases):
        scores = rng.standard_normal(shape) * 3
        if k == len(cases) - 1:
            scores = scores * 400  # scores near 1000: exp overflows unless each column's maximum is subtracted
        y = _one_hot_classes(rng, shape)
        with quiet_numpy():
            out = call(softmax_cross_entropy, "softmax_cross_entropy", scores, y)
        if not (isinstance(out, tuple) and len(out) == 2):
            fail("softmax_cross_entropy should return a tuple of two: (loss, dscores).")
        loss, dscores = out
        where = f"(scores of shape {shape}" + (", up to about 1000)" if k == len(cases) - 1 else ")")
        if (isinstance(loss, (numbers.Real, np.ndarray)) and np.size(loss) == 1 and not np.isfinite(loss)) or (
                isinstance(dscores, np.ndarray) and dscores.dtype.kind == "f" and not np.all(np.isfinite(dscores))):
            e_loss, e_d = ref.softmax_cross_entropy(scores, y)
            if isinstance(dscores, np.ndarray) and dscores.shape == e_d.shape and close(dscores, e_d):
                fail(f"softmax_cross_entropy gives an infinite loss {where}, though dscores is right.",
                     mistake="ce_log_of_softmax", looks_like="the loss took the log of the softmax "
                     "probabilities: a probability that underflows to 0 (a true class far below the best score) "
                     "gives log(0) = -inf. Take the log-softmax directly, (z - max) - log(sum(exp(z - max))).")
            fail(f"softmax_cross_entropy gives inf or nan {where}.", mistake="ce_overflow",
                 looks_like="np.exp overflowed: subtract each column's maximum from the scores before np.exp, and "
                 "take the log-softmax as (z - max) - log(sum(exp(z - max))).")
        loss = _scalar(loss, "the loss")
        expect_array(dscores, shape, f"dscores {where}")
        e_loss, e_d = ref.softmax_cross_entropy(scores, y)
        m = shape[1]
        if not np.isclose(loss, e_loss, rtol=1e-7, atol=1e-10):
            for text, value in [("you summed over the batch as well: divide the total by m = scores.shape[1].", e_loss * m),
                                ("the sign is flipped: the loss is MINUS the sum of y log(softmax(scores)).", -e_loss),
                                ("you averaged over every entry: sum everything, then divide by m = scores.shape[1].",
                                 e_loss * m / y.size)]:
                if np.isclose(loss, value, rtol=1e-7):
                    fail(f"the loss {where} is wrong.", looks_like=text)
            fail(f"the loss {where} is wrong: -(1/m) * sum of y * log(softmax(scores)), the softmax over axis 0.")
        if not close(dscores, e_d):
            probs = e_d * m + y
            diagnose(dscores, e_d, [
                ("dscores was not divided by m: the loss averages over the batch, so dscores = (y_hat - y) / m.",
                 e_d * m),
                ("dscores has the wrong sign: it is (y_hat - y) / m, not (y - y_hat) / m.", -e_d),
                ("dscores is y_hat / m: subtract the one-hot labels y, (y_hat - y) / m.", probs / m),
                ("the softmax was taken over the wrong axis: the classes are on axis 0.",
                 (np.exp(scores - scores.max(axis=1, keepdims=True))
                  / np.exp(scores - scores.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True) - y) / m),
            ], f"dscores {where}")


# ---------------------------------------------------------------- numerical_gradient
def _test_functions(rng):
    A = rng.standard_normal((6, 6))
    yield (lambda th: float(np.sum(th ** 3) / 3 + np.sum(np.sin(2 * th)))), rng.standard_normal(4), 1e-3
    yield (lambda th: float(np.exp(0.3 * th).sum() * np.sum(th ** 2))), rng.standard_normal((2, 3)), 1e-4
    yield (lambda th: float(th.ravel() @ A @ th.ravel() + np.sum(th ** 4))), rng.standard_normal((3, 2)), 1e-3
    yield (lambda th: float(np.tanh(th).sum() + (th ** 2).sum())), rng.standard_normal((5, 1)), None
    # an integer point (theta "of any shape", its entries numbers): the nudges must not be rounded away
    yield (lambda th: float(np.sum(th ** 3) / 3 + np.sum(np.sin(2 * th)))), np.array([[1, -2], [3, 0]]), 1e-3


def _fd_variants(f, theta, eps):
    base = np.array(theta, dtype=float)
    fwd, bwd, once = (np.zeros_like(base) for _ in range(3))
    for i in np.ndindex(base.shape):
        e = np.zeros_like(base)
        e[i] = eps
        fwd[i] = (f(base + e) - f(base)) / eps
        bwd[i] = (f(base) - f(base - e)) / eps
    ones = np.full_like(base, eps)
    once[...] = (f(base + ones) - f(base - ones)) / (2 * eps)
    right = ref.numerical_gradient(f, theta, eps)
    yield ("you used a one-sided (forward) difference, (f(theta + eps) - f(theta)) / eps. The centred "
           "difference (f(theta + eps) - f(theta - eps)) / (2 eps) is far more accurate: its error shrinks "
           "like eps**2 instead of eps.", fwd)
    yield "you used a one-sided (backward) difference: use the centred one, divided by 2 eps.", bwd
    yield "you divided by eps instead of 2 eps: the two nudged points are 2 eps apart.", 2 * right
    yield ("every entry of theta was nudged at once: nudge one entry at a time (and put it back "
           "before the next).", once)


def check_numerical_gradient(numerical_gradient):
    """Checks numerical_gradient (centred differences, one entry at a time) against the
    reference.

    Inputs: four smooth functions at random points of several shapes, eps given or the
    default, and an integer point.
    Names: forward_difference, divided_by_eps, gradient_keeps_int.
    """
    rng = np.random.default_rng(3100)
    for f, theta, eps in _test_functions(rng):
        kwargs = {} if eps is None else {"eps": eps}
        used = 1e-5 if eps is None else eps
        with quiet_numpy():
            got = call(numerical_gradient, "numerical_gradient", f, theta, **kwargs)
        expect_array(got, theta.shape, f"the numerical gradient (theta of shape {theta.shape})")
        expected = ref.numerical_gradient(f, theta, used)
        if theta.dtype.kind == "i" and not close(got, expected, rtol=1e-6, atol=1e-9) and (
                got.dtype.kind in "iu" or close(got, np.zeros(theta.shape))):
            fail(f"the numerical gradient at an integer theta ({theta.tolist()}) is wrong.",
                 mistake="gradient_keeps_int", looks_like="the nudged copy of theta kept its integer dtype, so "
                 "theta + eps was rounded back to theta and every difference was 0. Copy it as floats: "
                 "np.array(theta, dtype=float).")
        if not close(got, expected, rtol=1e-6, atol=1e-9):
            diagnose(got, expected, _fd_variants(f, theta, used), f"the numerical gradient (eps={used})")


# ---------------------------------------------------------------- relative_error
def check_relative_error(relative_error):
    """Checks relative_error (||a - n|| / (||a|| + ||n||)) against the reference.

    Inputs: equal arrays, orthogonal ones, close and tiny random pairs, several shapes.
    Names: no_denominator.
    """
    rng = np.random.default_rng(3200)
    pairs = [(np.array([3.0, 4.0]), np.array([3.0, 4.0])), (np.array([1.0, 0.0]), np.array([0.0, 1.0])),
             (np.array([[2.0, 0.0], [0.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 0.0]]))]
    for shape in [(3, 4), (5,), (2, 3, 2)]:
        g = rng.standard_normal(shape) * 10
        pairs.append((g, g + rng.standard_normal(shape) * 1e-3))
        pairs.append((g * 1e-6, rng.standard_normal(shape) * 1e-6))
    for analytic, numeric in pairs:
        got = _scalar(call(relative_error, "relative_error", analytic, numeric), "relative_error")
        expected = ref.relative_error(analytic, numeric)
        if not np.isclose(got, expected, rtol=1e-7, atol=1e-15):
            diff = np.linalg.norm(analytic - numeric)
            wrong = [
                ("you returned the absolute error ||analytic - numeric||: divide by ||analytic|| + ||numeric||, "
                 "so the error means the same for big and for tiny gradients.", diff),
                ("you divided by ||analytic|| only: divide by ||analytic|| + ||numeric||.",
                 diff / np.linalg.norm(analytic) if np.linalg.norm(analytic) else np.nan),
                ("you used the largest entry instead of the Euclidean norm: use np.linalg.norm over all entries.",
                 np.abs(analytic - numeric).max() / (np.abs(analytic).max() + np.abs(numeric).max())),
                ("you divided by the norm of the sum, ||analytic + numeric||: divide by the sum of the norms.",
                 diff / np.linalg.norm(analytic + numeric) if np.linalg.norm(analytic + numeric) else np.nan),
            ]
            for text, value in wrong:
                if np.isfinite(value) and np.isclose(got, value, rtol=1e-7, atol=1e-15):
                    fail(f"relative_error gives {got:.4g}.", looks_like=f"{text}")
            fail(f"relative_error gives {got:.4g} for arrays of shape {analytic.shape}. "
                 "It should be ||analytic - numeric|| / (||analytic|| + ||numeric||).")
    with quiet_numpy():
        got = call(relative_error, "relative_error", np.zeros((2, 2)), np.zeros((2, 2)))
    if isinstance(got, (numbers.Real, np.ndarray)) and not np.isfinite(got):
        fail("relative_error of two all-zero gradients gives nan.", looks_like="0 / 0. Two equal "
             "gradients have no error, so return 0.0 when both norms are 0.")
    if _scalar(got, "relative_error") != 0.0:
        fail(f"relative_error of two all-zero gradients should be 0.0, got {got}.")


# ---------------------------------------------------------------- clipping
def _grads(rng, scale):
    return {"dWaa": rng.standard_normal((4, 4)) * scale, "dWax": rng.standard_normal((4, 3)) * scale,
            "dba": rng.standard_normal((4, 1)) * scale, "dWya": rng.standard_normal((2, 4)) * scale,
            "dby": rng.standard_normal((2, 1)) * scale}


def _call_clip(fn, name, gradients, limit):
    with quiet_numpy():
        out = call(fn, name, gradients, limit, mutated=(
            "the arrays were clipped in place (np.clip(..., out=g), g *= ..., or g[...] = ...). Return new "
            "arrays and leave the input as it was: the caller may still need the unclipped gradients."))
    if not isinstance(out, dict):
        fail(f"{name} should return a dict with the same names as its input, got {type(out).__name__}.")
    if set(out) != set(gradients):
        fail(f"{name} should return a dict with the same names as its input ({', '.join(gradients)}), "
             f"got {', '.join(map(str, out))}.")
    for k, g in gradients.items():
        expect_array(out[k], g.shape, f"{name}(...)[{k!r}]")
    return out

def check_clip_elementwise(clip_elementwise):
    """Checks clip_elementwise (np.clip of every gradient, new arrays) against the
    reference.

    Inputs: four random gradient dicts, limits from 0.25 to 10, the inputs unchanged.
    Names: clip_kills_negatives, clip_in_place.
    """
    rng = np.random.default_rng(3300)
    for scale, limit in [(5.0, 1.0), (2.0, 3.5), (0.1, 10.0), (50.0, 0.25)]:
        grads = _grads(rng, scale)
        out = _call_clip(clip_elementwise, "clip_elementwise", grads, limit)
        expected = ref.clip_elementwise(grads, limit)
        for k in grads:
            if not close(out[k], expected[k]):
                g = grads[k]
                norm = np.sqrt(sum(np.sum(v ** 2) for v in grads.values()))
                diagnose(out[k], expected[k], [
                    ("entries between -max_value and 0 were changed (set to 0): clipping must leave every entry "
                     "inside [-max_value, max_value] as it is. Use np.clip(g, -max_value, max_value).",
                     np.clip(g, 0, limit)),
                    ("only the upper limit was applied: entries below -max_value must become -max_value too.",
                     np.minimum(g, limit)),
                    ("the arrays were rescaled instead of clipped entry by entry: entries inside the range must "
                     "not change.", g * min(1.0, limit / max(norm, 1e-300))),
                    ("each array was rescaled so that its largest entry is max_value: clipping changes only the "
                     "entries outside the range.", g * limit / max(np.abs(g).max(), 1e-300)),
                ], f"clip_elementwise(...)[{k!r}] with max_value={limit}")


def check_clip_by_global_norm(clip_by_global_norm):
    """Checks clip_by_global_norm (rescale all gradients together when their global norm is
    too large) against the reference.

    Inputs: five random gradient dicts, norms above and below the limit, the inputs
    unchanged.
    Names: rescale_small_gradients.
    """
    rng = np.random.default_rng(3400)
    for scale, limit in [(5.0, 1.0), (0.1, 5.0), (3.0, 4.0), (0.5, 100.0), (20.0, 0.5)]:
        grads = _grads(rng, scale)
        out = _call_clip(clip_by_global_norm, "clip_by_global_norm", grads, limit)
        expected = ref.clip_by_global_norm(grads, limit)
        norm = np.sqrt(sum(np.sum(v ** 2) for v in grads.values()))
        for k in grads:
            if not close(out[k], expected[k]):
                g = grads[k]
                own = np.linalg.norm(g)
                situation = (f"With a global norm of {norm:.3g} and max_norm = {limit:g} (so the gradients "
                             + ("must come back unchanged)" if norm <= limit else f"must be scaled by {limit / norm:.3g})"))
                diagnose(out[k], expected[k], [
                    ("gradients were rescaled although their global norm was already below max_norm: clipping "
                     "must not change gradients that are small enough (scaling them UP to max_norm is wrong).",
                     g * limit / norm),
                    ("each array was clipped by its own norm: use ONE global norm, over all the arrays together, "
                     "so that the direction of the whole update is kept.", g * min(1.0, limit / own) if own else g),
                    ("the entries were clipped one by one: this function rescales all the arrays together.",
                     np.clip(g, -limit, limit)),
                    ("the global norm was taken without the square root: it is sqrt(sum of all squares).",
                     g * min(1.0, limit / norm ** 2)),
                    ("the scale is upside down: multiply by max_norm / global_norm.", g * (norm / limit if norm > limit else 1.0)),
                ], f"{situation}, clip_by_global_norm(...)[{k!r}]")
