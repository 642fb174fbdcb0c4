"""Hidden checks of chapter 8, the capstone: a character-level language model.

Every exercise is compared with the reference on small random problems (vocabularies of
5 to 9 characters in a shuffled order, so that <EOS> is not always index 0; names of 1 to
8 characters; hidden states of 3 to 6 units). The training step is checked with the
clip active and inactive, and the sampler with several seeds, temperatures below, at
and above 1, and a max_length that is reached. When an answer differs, the check looks
for the classic mistake it matches and names it.
"""
from __future__ import annotations

import numbers

import numpy as np

from autograde.checks import (
    CheckFailed,
    Mistake,
    call,
    close,
    common,
    decide,
    diagnose,
    expect_array,
    expect_float,
    fail,
    fail_with,
    isolate,
    quiet_numpy,
)
from solutions import ch08 as ref

# name -> (exercise, old text, new text): edits of the reference body that the check of
# that exercise must catch and name (see autograde.authoring.synthetic).
MISTAKES = {
    "targets_not_shifted": ("encode_name", "x[targets[t - 1], 0, t] = 1.0", "x[targets[t], 0, t] = 1.0"),
    "eos_missing_from_targets": ("encode_name", '[char_to_ix[ch] for ch in name] + [char_to_ix["\\n"]]',
                                 "[char_to_ix[ch] for ch in name]"),
    "loss_averaged_over_time": ("cross_entropy", "-np.sum(np.log(p_true))", "-np.mean(np.log(p_true))"),
    "loss_sign_flipped": ("cross_entropy", "-np.sum(np.log(p_true))", "np.sum(np.log(p_true))"),
    "softmax_jacobian_times_error": ("cross_entropy_gradient", "return dz",
                                     "return y_hat * (dz - np.sum(y_hat * dz, axis=0, keepdims=True))"),
    "sigmoid_derivative_times_error": ("cross_entropy_gradient", "return dz", "return y_hat * (1 - y_hat) * dz"),
    "gradient_in_place": ("cross_entropy_gradient", "dz = np.array(y_hat, dtype=float)", "dz = y_hat"),
    "dwya_overwritten": ("lm_loss_and_gradients", "dWya += dz[:, :, t] @ a[:, :, t].T",
                         "dWya = dz[:, :, t] @ a[:, :, t].T"),
    "dby_overwritten": ("lm_loss_and_gradients", "dby += dz[:, :, t]", "dby = dz[:, :, t]"),
    "no_clipping": ("optimize_step", "gradients = clip_by_global_norm(gradients, max_norm)\n", ""),
    "clip_after_update": (
        "optimize_step",
        'gradients = clip_by_global_norm(gradients, max_norm)\n'
        'new_parameters = {name: value - learning_rate * gradients["d" + name] for name, value in parameters.items()}',
        'new_parameters = {name: value - learning_rate * gradients["d" + name] for name, value in parameters.items()}\n'
        'gradients = clip_by_global_norm(gradients, max_norm)'),
    "gradient_ascent": ("optimize_step", 'value - learning_rate * gradients', 'value + learning_rate * gradients'),
    "hidden_state_not_reset": ("train", "loss, parameters, a_last = optimize_step(x, targets, a0,",
                               "loss, parameters, a0 = optimize_step(x, targets, a0,"),
    "train_a0_not_zero": ("train", "a0 = np.zeros((n_a, 1))", "a0 = np.ones((n_a, 1))"),
    "train_shuffles_or_reorders": ("train", "for name in names:", "for name in sorted(names):"),
    "sampling_with_argmax": ("sample", "int(rng.choice(V, p=probabilities.ravel()))", "int(np.argmax(probabilities))"),
    "sample_not_fed_back": ("sample", "x[idx] = 1.0", "x[idx] = 0.0"),
    "sample_state_not_carried": ("sample", "a_prev = a_next", "a_prev = np.zeros((n_a, 1))"),
    "sample_bias_ignored": ("sample", ' + parameters["ba"])', ")"),
    "sample_first_input_not_zero": ("sample", "x = np.zeros((V, 1))  # x<1> = 0",
                                    "x = np.zeros((V, 1))\nx[eos_index] = 1.0  # x<1> = 0"),
    "sample_eos_assumed_last": ("sample", "if idx == eos_index:", "if idx == V - 1:"),
    "sample_global_random": ("sample", "int(rng.choice(V, p=probabilities.ravel()))",
                             "int(np.random.choice(V, p=probabilities.ravel()))"),
    "sample_new_generator_each_step": ("sample", "int(rng.choice(V, p=probabilities.ravel()))",
                                       "int(np.random.default_rng(seed).choice(V, p=probabilities.ravel()))"),
    "temperature_multiplies_logits": ("sample", "softmax(z / temperature)", "softmax(z * temperature)"),
    "temperature_ignored": ("sample", "softmax(z / temperature)", "softmax(z)"),
    "temperature_divides_unnormalised": ("sample", "softmax(z / temperature)", "softmax(z) / temperature"),
    "lm_gradients_extra_keys": ("lm_loss_and_gradients", 'gradients = {"dWaa": back["dWaa"]',
                                'gradients = {**back, "dWaa": back["dWaa"]'),
}

# name -> a phrase of the diagnosis its check gives (see autograde.checks.named)
DIAGNOSES_SAY = {
    "targets_not_shifted": "the targets are not shifted by",
    "eos_missing_from_targets": "<EOS> is missing from the targets:",
    "loss_averaged_over_time": "the loss was averaged over the",
    "loss_sign_flipped": "the sign is flipped: the loss",
    "softmax_jacobian_times_error": "the gradient went through softmax's Jacobian",
    "sigmoid_derivative_times_error": "the error was multiplied by y_hat",
    "gradient_in_place": "y_hat was changed in place (dz",
    "dwya_overwritten": "dWya was overwritten at each step",
    "dby_overwritten": "dby was overwritten at each step",
}

# mistake -> what the chapter's visible tests say about it (tests/test_visible_tests.py)
VISIBLE_TESTS_SAY = {
    "targets_not_shifted": r"shifted by one step",
    "eos_missing_from_targets": r"<EOS>",
    "loss_averaged_over_time": r"the MEAN",
    "loss_sign_flipped": r"MINUS",
    "softmax_jacobian_times_error": r"Jacobian",
    "sigmoid_derivative_times_error": r"Jacobian",
    "gradient_in_place": r"in place",
    "dwya_overwritten": r"dWya .*SUMS",
    "dby_overwritten": r"dby .*SUMS",
    "clip_after_update": r"BEFORE",
    "gradient_ascent": r"against its gradient",
    "hidden_state_not_reset": r"a<0> = 0",
    "sampling_with_argmax": r"argmax",
    "sample_not_fed_back": r"feed each drawn character back",
    "sample_state_not_carried": r"hidden state was not carried",
    "sample_bias_ignored": r"ba was left out",
    "sample_first_input_not_zero": r"first input x<1> should be all zeros",
    "sample_eos_assumed_last": r"went on after drawing <EOS>",
    "sample_global_random": r"GLOBAL random state",
    "sample_new_generator_each_step": r"ONCE, before the loop",
    "temperature_multiplies_logits": r"MULTIPLIED by the temperature",
    "temperature_ignored": r"temperature had no effect",
    "temperature_divides_unnormalised": r"PROBABILITIES were divided",
    "no_clipping": r"UNCLIPPED",
    "train_a0_not_zero": r"a<0> = 0",
    "train_shuffles_or_reorders": r"order given",
    "lm_gradients_extra_keys": r"exactly the keys",
}

KEYS = common.GRADIENT_KEYS
PARAMS = common.PARAMETER_NAMES
LETTERS = "AbcdeFghIjk"


# ---------------------------------------------------------------- random problems
def _vocabulary(rng, V):
    """A char_to_ix of V characters, <EOS> included, in a shuffled order."""
    chars = [ref.EOS] + list(LETTERS[: V - 1])
    order = rng.permutation(V)
    return {chars[k]: int(order[k]) for k in range(V)}


def _name(rng, char_to_ix, length):
    letters = [c for c in char_to_ix if c != ref.EOS]
    return "".join(str(rng.choice(letters)) for _ in range(length))


def _params(rng, V, n_a, scale=1.0):
    return common.rnn_parameters(rng, V, n_a, V, waa=0.6 * scale, wax=scale, ba=0.3, wya=scale)


def _probabilities(rng, V, T_x):
    """Random softmax outputs of shape (V, 1, T_x), every column summing to 1."""
    z = rng.standard_normal((V, 1, T_x)) * 1.5
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


# (V, n_a, name length): the one-character name, <EOS> anywhere, longer names
SIZES = [(5, 4, 3), (7, 3, 1), (6, 5, 8), (9, 6, 5), (5, 3, 2)]


def _cases(base):
    return common.cases(base, SIZES)


def _int_array(value, shape, what):
    value = expect_array(value, shape, what)
    if not np.issubdtype(value.dtype, np.integer):
        fail(f"{what} should hold ints (indices into the vocabulary), got dtype {value.dtype}: "
             "build it from a list of ints, for example np.array([...]).")
    return value


def _one_hot(V, idx):
    v = np.zeros(V)
    v[idx] = 1.0
    return v


# ---------------------------------------------------------------- encode_name
def check_encode_name(encode_name):
    """Checks encode_name (x with x<1> = 0 and the shifted one-hot inputs; targets ending
    with <EOS>) against the reference.

    Inputs: five random names of 1 to 8 characters over shuffled vocabularies (<EOS> at
    any index); targets an int array.
    Names: targets_not_shifted, eos_missing_from_targets.
    """
    for rng, (V, _, length) in _cases(8000):
        char_to_ix = _vocabulary(rng, V)
        name = _name(rng, char_to_ix, length)
        out = call(encode_name, "encode_name", name, char_to_ix)
        if not (isinstance(out, tuple) and len(out) == 2):
            fail("encode_name should return a tuple of two: (x, targets).")
        x, targets = out
        eos = char_to_ix[ref.EOS]
        chars = [char_to_ix[c] for c in name]
        T_x = length + 1
        where = f"for the name {name!r} (with <EOS> at index {eos})"
        if isinstance(targets, np.ndarray) and targets.shape == (length,) and np.array_equal(targets, chars):
            fail(f"targets {where} is {targets.tolist()}.", looks_like="<EOS> is missing from the targets: after the "
                 "last character the model must learn to predict the end of the name, so the targets are the name's "
                 f"characters followed by the index of '\\n' ({T_x} targets for {length} characters).")
        if isinstance(x, np.ndarray) and x.shape == (V, 1, length) and T_x > 1:
            fail(f"x has shape {x.shape} {where}.", looks_like="one time step is missing: a name of n characters has "
                 "n + 1 steps (its characters, then <EOS>), and x has one column per step.")
        expect_array(x, (V, 1, T_x), f"x {where}")
        _int_array(targets, (T_x,), f"targets {where}")
        e_x, e_t = ref.encode_name(name, char_to_ix)
        if not np.array_equal(targets, e_t):
            if np.array_equal(targets, [eos] + chars):
                fail(f"targets {where} is wrong.", looks_like="<EOS> was put first instead of last: the targets are "
                     "the name's characters, then <EOS>.")
            fail(f"targets {where} is {targets.tolist()}: the indices of the name's "
                 "characters, then the index of '\\n'.")
        if not np.array_equal(x, e_x):
            same_step = np.stack([_one_hot(V, i) for i in e_t], axis=1)[:, None, :]
            if np.array_equal(x[:, :, 1:], same_step[:, :, 1:]) or np.array_equal(x, same_step):
                fail(f"x {where} is wrong.", looks_like="the targets are not shifted by one: at step t the input is "
                     "the very character the model must predict (y<t>), so it only learns to copy. The input of step "
                     "t is the PREVIOUS true character, y<t-1>: x<t> = y<t-1>, and x<1> = 0.")
            if np.array_equal(x[:, 0, 1:], e_x[:, 0, 1:]) and not np.array_equal(x[:, 0, 0], 0.0):
                fail(f"x {where} is wrong: the first column (step 1) should be all zeros, since no character comes "
                     "before the first one.")
            fail(f"x {where} is wrong: column 0 should be all zeros and column t (t >= 1) the one-hot vector of "
                 "targets[t - 1].")


# ---------------------------------------------------------------- cross_entropy
def check_cross_entropy(cross_entropy):
    """Checks cross_entropy (MINUS the SUM of the log-probabilities of the targets) against
    the reference.

    Inputs: five random softmax outputs and targets.
    Names: loss_averaged_over_time, loss_sign_flipped.
    """
    for rng, (V, _, length) in _cases(8100):
        T_x = length + 1
        y_hat = _probabilities(rng, V, T_x)
        targets = rng.integers(V, size=T_x)
        got = expect_float(call(cross_entropy, "cross_entropy", y_hat, targets), "cross_entropy")
        expected = ref.cross_entropy(y_hat, targets)
        if np.isclose(got, expected, rtol=1e-7, atol=1e-10):
            continue
        logs = np.log(y_hat[:, 0, :])
        y = np.zeros_like(logs)
        y[targets, np.arange(T_x)] = 1.0
        wrong = [
            ("the loss was averaged over the time steps: a name's loss is the SUM over its characters "
             "(every character counts, and a longer name costs more).", expected / T_x),
            ("the sign is flipped: the loss is MINUS the sum of the log-probabilities, so it is positive.", -expected),
            ("the log of every entry of y_hat was summed: only the probability of the TRUE character at each "
             "step counts, y_hat[targets[t], 0, t].", -logs.sum()),
            ("chapter 6's binary cross-entropy was used: with a softmax over V characters the loss is only "
             "-log y_hat[target] at each step, not y log y_hat + (1 - y) log(1 - y_hat) over every entry.",
             -(y * logs + (1 - y) * np.log(1 - y_hat[:, 0, :])).sum()),
            ("y_hat[targets, 0, :] picks every target at every step (a T_x by T_x table): pair each step with its "
             "own target, y_hat[targets, 0, np.arange(T_x)].", -np.log(y_hat[targets, 0, :]).sum()),
        ]
        for text, value in wrong:
            if np.isclose(got, value, rtol=1e-7):
                fail(f"cross_entropy gives {got:.6g}.", looks_like=text)
        fail(f"cross_entropy gives {got:.6g} (V={V}, T_x={T_x}): it should be "
             "-sum over t of log(y_hat[targets[t], 0, t]).")


# ---------------------------------------------------------------- cross_entropy_gradient
def _gradient_mistakes(y_hat, targets):
    T_x = len(targets)
    y = np.zeros_like(y_hat)
    y[targets, 0, np.arange(T_x)] = 1.0
    good = y_hat - y
    yield ("the gradient went through softmax's Jacobian once more: y_hat - y is ALREADY the gradient with "
           "respect to the logits z (the Jacobian of softmax and the derivative of the log cancel out), so do "
           "not multiply it by the Jacobian again.", y_hat * (good - np.sum(y_hat * good, axis=0, keepdims=True)))
    yield ("the error was multiplied by y_hat (1 - y_hat), the derivative of a SIGMOID: softmax's Jacobian is "
           "not diagonal, and with the cross-entropy it cancels to dz = y_hat - y.", y_hat * (1 - y_hat) * good)
    yield ("y_hat was returned unchanged: subtract 1 in the row of the true character at every step.", y_hat)
    yield "the sign is flipped: dz = y_hat - y, not y - y_hat.", -good
    yield ("this is the gradient with respect to y_hat (-y / y_hat), not with respect to the logits z.",
           -y / y_hat)
    with quiet_numpy():
        yield ("dz was taken as softmax's Jacobian times the gradient with respect to y_hat, but with the wrong "
               "sign or factor: the product simplifies to exactly y_hat - y.",
               y_hat * (y / y_hat - np.sum(y, axis=0, keepdims=True)))


def check_cross_entropy_gradient(cross_entropy_gradient):
    """Checks cross_entropy_gradient (y_hat minus the one-hot targets, y_hat unchanged)
    against the reference.

    Inputs: five random softmax outputs and targets.
    Names: softmax_jacobian_times_error, sigmoid_derivative_times_error,
    gradient_in_place.
    """
    for rng, (V, _, length) in _cases(8200):
        T_x = length + 1
        y_hat = _probabilities(rng, V, T_x)
        targets = rng.integers(V, size=T_x)
        got = expect_array(call(cross_entropy_gradient, "cross_entropy_gradient", y_hat, targets, mutated=(
            "y_hat was changed in place (dz = y_hat, then dz[...] -= 1): the caller still needs y_hat. Work on a "
            "copy, dz = y_hat.copy().")), (V, 1, T_x), f"dz (V={V}, T_x={T_x})")
        expected = ref.cross_entropy_gradient(y_hat, targets)
        if not close(got, expected):
            diagnose(got, expected, _gradient_mistakes(y_hat, targets), f"dz (V={V}, T_x={T_x})")


# ---------------------------------------------------------------- lm_loss_and_gradients
def _lm_problem(rng, V, n_a, length, a0_zero):
    char_to_ix = _vocabulary(rng, V)
    x, targets = ref.encode_name(_name(rng, char_to_ix, length), char_to_ix)
    p = _params(rng, V, n_a)
    a0 = np.zeros((n_a, 1)) if a0_zero else rng.standard_normal((n_a, 1)) * 0.5
    return x, targets, a0, p


def _lm_variants(x, targets, a0, p):
    """(explanation, gradients) of the classic mistakes of the output layer's backward pass."""
    a, y_hat, caches = ref.rnn_forward(x, a0, p)
    dz = ref.cross_entropy_gradient(y_hat, targets)
    T_x = x.shape[2]

    def grads(mode):
        dWya, dby, da = np.zeros_like(p["Wya"]), np.zeros_like(p["by"]), np.zeros_like(a)
        for t in range(T_x):
            step_W, step_b = dz[:, :, t] @ a[:, :, t].T, dz[:, :, t]
            dWya = step_W if mode == "overwrite_W" else dWya + step_W
            dby = step_b if mode == "overwrite_b" else dby + step_b
            if not (mode == "last_only" and t != T_x - 1):
                da[:, :, t] = p["Wya"].T @ dz[:, :, t]
        back = ref.rnn_backward(da, caches)
        return {"dWaa": back["dWaa"], "dWax": back["dWax"], "dba": back["dba"], "dWya": dWya, "dby": dby}

    yield ("dWya was overwritten at each step instead of added up: Wya serves every step, so each step adds "
           "its share, dWya += dz<t> a<t>^T.", grads("overwrite_W"))
    yield ("dby was overwritten at each step instead of added up: by serves every step, so dby += dz<t>.",
           grads("overwrite_b"))
    yield ("only the last step's output sent gradient into the hidden states: every step's output does, "
           "da[:, :, t] = Wya.T @ dz<t> for every t.", grads("last_only"))


def check_lm_loss_and_gradients(lm_loss_and_gradients):
    """Checks lm_loss_and_gradients (loss, the five gradients, a_last) against the
    reference.

    Inputs: five random problems, a0 zero and non-zero; the gradients dict must hold
    exactly the five keys.
    Names: dwya_overwritten, dby_overwritten, lm_gradients_extra_keys.
    """
    fn = isolate(lm_loss_and_gradients, rnn_forward=ref.rnn_forward, rnn_backward=ref.rnn_backward,
                 cross_entropy=ref.cross_entropy, cross_entropy_gradient=ref.cross_entropy_gradient,
                 softmax=ref.softmax)
    for rng, (V, n_a, length) in _cases(8300):
        x, targets, a0, p = _lm_problem(rng, V, n_a, length, a0_zero=length % 2 == 1)
        T_x = x.shape[2]
        out = call(fn, "lm_loss_and_gradients", x, targets, a0, p)
        if not (isinstance(out, tuple) and len(out) == 3):
            fail("lm_loss_and_gradients should return a tuple of three: (loss, gradients, a_last).")
        loss, grads, a_last = out
        loss = expect_float(loss, "lm_loss_and_gradients (its loss)")
        if not isinstance(grads, dict) or any(k not in grads for k in KEYS):
            fail(f"the gradients should be a dict with the keys {', '.join(KEYS)}.")
        if set(grads) != set(KEYS):
            fail(f"the gradients dict has more keys than {', '.join(KEYS)}.", mistake="lm_gradients_extra_keys",
                 looks_like="the gradients dict holds more than the five parameter gradients (da0 from rnn_backward, "
                 "say): optimize_step updates every parameter with gradients['d' + name] and clips every entry, so "
                 "return exactly dWaa, dWax, dba, dWya and dby.")
        for key, name in zip(KEYS, PARAMS):
            expect_array(grads[key], p[name].shape, key)
        expect_array(a_last, (n_a, 1), "a_last")
        e_loss, e_grads, e_last = ref.lm_loss_and_gradients(x, targets, a0, p)
        where = f"(V={V}, n_a={n_a}, T_x={T_x})"
        if not np.isclose(loss, e_loss, rtol=1e-7):
            fail(f"the loss {where} is {loss:.6g}: run rnn_forward on x from a0 and pass "
                 "its y_hat to cross_entropy.")
        if not close(a_last, e_last):
            a, _, _ = ref.rnn_forward(x, a0, p)
            if T_x > 1 and close(a_last, a[:, :, 0]):
                fail(f"a_last {where} is wrong.", looks_like="the FIRST hidden state was returned: a_last is the "
                     "state after the last step, a[:, :, -1].")
            fail(f"a_last {where} is wrong: it should be the hidden state after the last step, a[:, :, T_x - 1].")
        variants = list(_lm_variants(x, targets, a0, p))
        for key in ("dWya", "dby", "dWaa", "dWax", "dba"):
            if not close(grads[key], e_grads[key]):
                diagnose(grads[key], e_grads[key], [(text, v[key]) for text, v in variants], f"{key} {where}")


# ---------------------------------------------------------------- optimize_step
def _update(p, grads, lr, sign=-1.0):
    return {k: v + sign * lr * grads["d" + k] for k, v in p.items()}


def _params_close(a, b) -> bool:
    return isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b) and all(close(a[k], b[k]) for k in a)


def _step_mistake(name, explanation, update):
    """A mistake of optimize_step; a case is (p, raw, clipped, lr, max_norm, clip_called)."""
    return Mistake(name, explanation, update)


STEP_MISTAKES = [
    _step_mistake("clip_after_update", "the gradients were clipped AFTER the update (clip_by_global_norm was "
                  "called, but the update used the unclipped gradients), so the clip had no effect. Clip first, "
                  "then update with the clipped gradients.",
                  lambda c: _update(c[0], c[1], c[3]) if c[5] else None),
    _step_mistake("no_clipping", "the gradients were not clipped at all (clip_by_global_norm was never called): "
                  "clip them with clip_by_global_norm(gradients, max_norm) before the update.",
                  lambda c: _update(c[0], c[1], c[3]) if not c[5] else None),
    _step_mistake("gradient_ascent", "the update went uphill (parameters + learning_rate * gradient): gradient "
                  "DESCENT subtracts it.", lambda c: _update(c[0], c[2], c[3], sign=1.0)),
    _step_mistake("clip_elementwise_in_step", "the gradients were clipped entry by entry (np.clip): this chapter "
                  "clips by global norm, with the given clip_by_global_norm.",
                  lambda c: _update(c[0], {g: np.clip(v, -c[4], c[4]) for g, v in c[1].items()}, c[3])),
    _step_mistake("learning_rate_missing", "the learning rate is missing from the update.",
                  lambda c: _update(c[0], c[2], 1.0)),
]


def check_optimize_step(optimize_step):
    """Checks ``optimize_step`` (forward, backward, clip by global norm, update).

    Inputs: five small language-model problems (V = 5 to 9, <EOS> at a shuffled index,
    names of 1 to 8 characters), the clip active (max_norm a quarter of the gradients'
    global norm) in four and inactive in one, learning rates 0.05 to 1. The other
    exercises it calls are answered by the reference; the calls of clip_by_global_norm
    are counted. Checks the loss (before the update), the new parameters (a new dict,
    the caller's unchanged) and a_last.
    Names: clip_after_update, no_clipping, gradient_ascent, clip_elementwise_in_step,
    learning_rate_missing (each only if it reproduces the new parameters on every case).
    """
    fn = isolate(optimize_step, lm_loss_and_gradients=ref.lm_loss_and_gradients, rnn_forward=ref.rnn_forward,
                 rnn_backward=ref.rnn_backward, clip_by_global_norm=ref.clip_by_global_norm, softmax=ref.softmax)
    calls = fn.window.stand_in_calls  # counted on the trusted side, whichever process answers them
    observed, failing = [], []
    for k, (rng, (V, n_a, length)) in enumerate(_cases(8400)):
        x, targets, a0, p = _lm_problem(rng, V, n_a, length, a0_zero=True)
        raw = ref.lm_loss_and_gradients(x, targets, a0, p)[1]
        norm = float(np.sqrt(sum(np.sum(g ** 2) for g in raw.values())))
        max_norm = norm / 4 if k != 2 else norm * 2  # clipping active in all cases but one
        lr = [0.5, 0.1, 0.3, 0.05, 1.0][k]
        calls.clear()
        out = call(fn, "optimize_step", x, targets, a0, p, lr, max_norm, mutated=(
            "the parameters were updated in place (parameters[name] -= ...): the caller's dict must not change. "
            "Build a new dict of new arrays."))
        if not (isinstance(out, tuple) and len(out) == 3):
            fail("optimize_step should return a tuple of three: (loss, new_parameters, a_last).")
        loss, new_p, a_last = out
        loss = expect_float(loss, "optimize_step (its loss)")
        if not isinstance(new_p, dict) or set(new_p) != set(p):
            fail(f"new_parameters should be a dict with the keys {', '.join(PARAMS)}.")
        for name in PARAMS:
            expect_array(new_p[name], p[name].shape, f"new_parameters[{name!r}]")
        expect_array(a_last, (n_a, 1), "a_last")
        e_loss, e_p, e_last = ref.optimize_step(x, targets, a0, p, lr, max_norm)
        where = (f"(the gradients' global norm is {norm:.3g}, max_norm = {max_norm:.3g}, "
                 f"learning_rate = {lr:g})")
        if not np.isclose(loss, e_loss, rtol=1e-7):
            fail(f"the loss {where} is wrong: return the loss that lm_loss_and_gradients gives for the "
                 "parameters BEFORE the update.")
        if not close(a_last, e_last):
            fail("a_last is wrong: return the a_last that lm_loss_and_gradients gives.")
        case = (p, raw, ref.clip_by_global_norm(raw, max_norm), lr, max_norm,
                "clip_by_global_norm" in calls)
        observed.append((case, new_p))
        if not _params_close(new_p, e_p):
            failing.append(where)
    if failing:
        fail_with(f"new_parameters {failing[0]} are wrong ({len(failing)} of {len(observed)} cases).", observed,
                  STEP_MISTAKES, "Subtract learning_rate times each gradient clipped by "
                  "clip_by_global_norm(gradients, max_norm).", _params_close)


# ---------------------------------------------------------------- train
def _train(names, char_to_ix, p, lr, max_norm, mode="right", order=None):
    """Training written out again, with one classic mistake selected by ``mode``; ``order``:
    the order in which the names are used (default: as given)."""
    n_a = p["Waa"].shape[0]
    a_prev = np.zeros((n_a, 1))
    losses = []
    params = p
    for name in (names if order is None else [names[i] for i in order]):
        x, targets = ref.encode_name(name, char_to_ix)
        start = {"carry": a_prev, "ones": np.ones((n_a, 1))}.get(mode, np.zeros((n_a, 1)))
        loss, new_params, a_prev = ref.optimize_step(x, targets, start, params if mode != "frozen" else p,
                                                     lr, max_norm)
        params = new_params
        losses.append(loss)
    return params, losses


def _reordered(case):
    """Training in the order the learner's own losses reveal (at each step, the one unused
    name whose loss at the current parameters is the learner's; on a case where that is
    the order given, the right answer); None if no order explains the losses."""
    names, char_to_ix, p, lr, max_norm, got_losses = case
    left, order, params = list(range(len(names))), [], p
    for loss in got_losses:
        n_a = p["Waa"].shape[0]
        for i in left:
            x, targets = ref.encode_name(names[i], char_to_ix)
            step = ref.optimize_step(x, targets, np.zeros((n_a, 1)), params, lr, max_norm)
            if np.isclose(step[0], loss, rtol=1e-7):
                order.append(i)
                left.remove(i)
                params = step[1]
                break
        else:
            return None
    return _train(names, char_to_ix, p, lr, max_norm, order=order)


def _train_mistake(name, explanation, mode):
    return Mistake(name, explanation, lambda c: _train(*c[:5], mode=mode))


TRAIN_MISTAKES = [
    _train_mistake("hidden_state_not_reset", "the hidden state was not reset between names: each name passed the "
                   "last state of the previous name as its a<0>. Names are independent examples: start every one "
                   "from a<0> = 0.", "carry"),
    _train_mistake("train_a0_not_zero", "the first hidden state a<0> was not zero: every name starts from "
                   "a<0> = np.zeros((n_a, 1)).", "ones"),
    _train_mistake("train_parameters_not_passed_on", "every step started again from the initial parameters: "
                   "pass each step's new_parameters on to the next step.", "frozen"),
    Mistake("train_shuffles_or_reorders", "the names were used in another order than the one given (sorted, "
            "shuffled or reversed): train on them in the order of the list, one optimize_step per name.",
            _reordered),
]


def _train_same(a, b) -> bool:
    return b is not None and close(a[1], b[1]) and _params_close(a[0], b[0])


def check_train(train):
    """Checks ``train`` (one optimize_step per name, in the order given, from a<0> = 0).

    Inputs: three small problems (4, 1 and 3 random names of 1 to 5 characters, V = 6 to
    8 with <EOS> at a shuffled index, learning_rate 0.2, max_norm 3); the other
    exercises are answered by the reference. Checks the losses (one float per name) and
    the final parameters (a new dict; the caller's unchanged).
    Names: hidden_state_not_reset, train_a0_not_zero, train_parameters_not_passed_on,
    train_shuffles_or_reorders (each only if it reproduces losses and parameters on
    every case).
    """
    fn = isolate(train, encode_name=ref.encode_name, optimize_step=ref.optimize_step,
                 lm_loss_and_gradients=ref.lm_loss_and_gradients, rnn_forward=ref.rnn_forward,
                 rnn_backward=ref.rnn_backward, clip_by_global_norm=ref.clip_by_global_norm, softmax=ref.softmax,
                 cross_entropy=ref.cross_entropy, cross_entropy_gradient=ref.cross_entropy_gradient)
    observed, failing = [], []
    for k, n_names in enumerate([4, 1, 3]):
        rng = np.random.default_rng(8500 + k)
        V, n_a = 6 + k, 4 + k
        char_to_ix = _vocabulary(rng, V)
        names = [_name(rng, char_to_ix, int(rng.integers(1, 6))) for _ in range(n_names)]
        p = _params(rng, V, n_a)
        lr, max_norm = 0.2, 3.0
        out = call(fn, "train", names, char_to_ix, p, lr, max_norm, mutated=(
            "the parameters passed in were changed in place: train must leave the caller's dict as it was."))
        if not (isinstance(out, tuple) and len(out) == 2):
            fail("train should return a tuple of two: (parameters, losses).")
        new_p, losses = out
        if isinstance(losses, np.ndarray):
            losses = losses.tolist()
        if not isinstance(losses, (list, tuple)) or len(losses) != n_names:
            fail(f"losses should be a list with one loss per name ({n_names} names), got "
                 f"{len(losses) if isinstance(losses, (list, tuple)) else type(losses).__name__}.")
        losses = [expect_float(v, "train (each loss)") for v in losses]
        if not isinstance(new_p, dict) or set(new_p) != set(p):
            fail(f"the parameters returned should be a dict with the keys {', '.join(PARAMS)}.")
        for name in PARAMS:
            expect_array(new_p[name], p[name].shape, f"parameters[{name!r}]")
        e_p, e_losses = ref.train(names, char_to_ix, p, lr, max_norm)
        observed.append(((names, char_to_ix, p, lr, max_norm, losses), (new_p, losses)))
        if not (close(losses, e_losses) and _params_close(new_p, e_p)):
            failing.append(f"(names {names})")
    if failing:
        fail_with(f"the losses or the final parameters {failing[0]} are wrong ({len(failing)} of 3 cases).",
                  observed, TRAIN_MISTAKES, "One optimize_step per name, in the order given, each from a<0> = 0 "
                  "and the parameters of the step before.", _train_same)


# ---------------------------------------------------------------- sample
def _sample(p, eos_index, seed, temperature, max_length, **wrong):
    """The sampler written out again; ``wrong`` selects classic mistakes: scale ("times",
    "ignored"), draw ("argmax", "fresh"), no_feedback, no_state, no_ba, no_by, first (the
    index of a one-hot first input), stop (the index taken for <EOS>), drop_eos; "eos" and
    "last" stand for eos_index and V - 1."""
    rng = np.random.default_rng(seed)
    V, n_a = p["Wya"].shape
    x, a_prev = np.zeros((V, 1)), np.zeros((n_a, 1))
    where = {"eos": eos_index, "last": V - 1}  # the symbolic indices of the mistakes
    if wrong.get("first") is not None:
        x[where.get(wrong["first"], wrong["first"])] = 1.0
    stop = where.get(wrong.get("stop", "eos"), wrong.get("stop"))
    ba = 0.0 if wrong.get("no_ba") else p["ba"]
    by = 0.0 if wrong.get("no_by") else p["by"]
    out = []
    while len(out) < max_length:
        a = np.tanh(p["Waa"] @ a_prev + p["Wax"] @ x + ba)
        z = p["Wya"] @ a + by
        scaled = {"times": z * temperature, "ignored": z}.get(wrong.get("scale"), z / temperature)
        probs = ref.softmax(scaled).ravel()
        draw = wrong.get("draw")
        if draw == "argmax":
            idx = int(np.argmax(probs))
        elif draw == "fresh":
            idx = int(np.random.default_rng(seed).choice(V, p=probs))
        else:
            idx = int(rng.choice(V, p=probs))
        out.append(idx)
        if idx == stop:
            break
        if not wrong.get("no_feedback"):
            x = np.zeros((V, 1))
            x[idx] = 1.0
        if not wrong.get("no_state"):
            a_prev = a
    if wrong.get("drop_eos") and out and out[-1] == eos_index:
        out = out[:-1]
    return out


def _sampler_mistake(name, explanation, **wrong):
    return Mistake(name, explanation, lambda case: _sample(*case, **wrong))


SAMPLE_MISTAKES = [
    _sampler_mistake("sampling_with_argmax", "the most probable character was taken at every step (np.argmax) "
                     "instead of drawing one: every name is then the same, whatever the seed. Draw with "
                     "rng.choice(V, p=...).", draw="argmax"),
    _sampler_mistake("sample_not_fed_back", "the drawn character is not fed back: every step received the all-zero "
                     "input x<1> again. After drawing, set x to the one-hot vector of the drawn character.",
                     no_feedback=True),
    _sampler_mistake("sample_state_not_carried", "the hidden state is not carried from one step to the next: pass "
                     "each step's a<t> on as the next step's a_prev.", no_state=True),
    *[_sampler_mistake("sample_bias_ignored", "a bias was left out of the sampler's step: a<t> = tanh(Waa a<t-1> + "
                       "Wax x<t> + ba) and z<t> = Wya a<t> + by, both biases included.", **wrong)
      for wrong in ({"no_ba": True}, {"no_by": True}, {"no_ba": True, "no_by": True})],
    *[_sampler_mistake("sample_first_input_not_zero", "the first input was not the all-zero vector: x<1> = 0, "
                       "since there is no previous character (not the one-hot vector of <EOS> or of index 0).",
                       first=first) for first in ("eos", 0)],
    *[_sampler_mistake("sample_eos_assumed_last", "the sampler stopped on a fixed index instead of eos_index: "
                       "<EOS> can be at any index of the vocabulary, stop when the drawn index equals eos_index.",
                       stop=stop) for stop in ("last", 0)],
    _sampler_mistake("sample_new_generator_each_step", "a new generator was made from the seed at every step "
                     "(np.random.default_rng(seed) inside the loop), so every step makes the same first draw. "
                     "Make rng once, before the loop, and draw from it.", draw="fresh"),
    _sampler_mistake("temperature_multiplies_logits", "the logits were multiplied by the temperature: divide "
                     "them, softmax(z / temperature), so that a temperature above 1 flattens the distribution.",
                     scale="times"),
    _sampler_mistake("temperature_ignored", "the temperature had no effect (the probabilities were those of "
                     "temperature 1; dividing the probabilities and normalising them again also gives these). "
                     "Divide the LOGITS: softmax(z / temperature).", scale="ignored"),
    _sampler_mistake("sample_eos_left_out", "<EOS> was left out of the list: append the drawn index first, then "
                     "stop if it is eos_index.", drop_eos=True),
]
GLOBAL_RANDOM = ("the draws do not come from the generator made from the seed: the same seed gave different "
                 "names (np.random.choice or np.random.default_rng() without the seed use a global, unseeded "
                 "state). Draw with rng = np.random.default_rng(seed), then rng.choice(V, p=...).")
UNNORMALISED = ("the temperature divided the probabilities, which then no longer sum to 1 (rng.choice refuses "
                "them). The temperature divides the LOGITS: softmax(z / temperature).")


def _as_indices(value, what):
    if isinstance(value, np.ndarray) and value.ndim == 1 and np.issubdtype(value.dtype, np.integer):
        value = value.tolist()
    if isinstance(value, str):
        fail(f"{what} returned a string: return the list of drawn indices (ints); the chapter turns them into "
             "characters.")
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value):
        fail(f"{what} should return a list of ints (the drawn indices), got {type(value).__name__}.")
    return [int(v) for v in value]


def _sample_problems():
    """(parameters, eos_index, max_length), small and varied; every parameter non-zero."""
    rng = np.random.default_rng(8600)
    for V, n_a, max_length, eos in [(6, 5, 12, 3), (8, 4, 20, 0), (5, 6, 6, 4), (7, 4, 10, 2)]:
        yield _params(rng, V, n_a, scale=1.3), eos, max_length
    # <EOS> almost never drawn: the name must stop at max_length
    p = _params(rng, 6, 4, scale=1.3)
    p["by"][2, 0] = -40.0
    yield p, 2, 7


def check_sample(sample):
    """Checks ``sample`` (the sampler with a temperature) against the reference.

    Inputs: five small models with every weight and bias non-zero (V = 5 to 8, <EOS> at
    index 0, inside and last, one where <EOS> is almost never drawn so max_length is
    reached), seeds 0-5, temperatures 1 (the default), 0.5 and 2; one case called three
    times with the same seed (the draws must come from default_rng(seed) only).
    Names: sampling_with_argmax, sample_not_fed_back, sample_state_not_carried,
    sample_bias_ignored, sample_first_input_not_zero, sample_eos_assumed_last,
    sample_global_random, sample_new_generator_each_step, temperature_multiplies_logits,
    temperature_ignored, temperature_divides_unnormalised, sample_eos_left_out; each
    only when it reproduces the answer on every case.
    """
    fn = isolate(sample, softmax=ref.softmax)
    problems = list(_sample_problems())

    def draw(p, eos, seed, temperature, max_length):
        kwargs = {"max_length": max_length} if temperature == 1.0 else {
            "temperature": temperature, "max_length": max_length}
        try:
            return _as_indices(call(fn, "sample", p, eos, seed, **kwargs), "sample")
        except CheckFailed as exc:
            if temperature != 1.0 and str(exc).startswith("sample raised ValueError"):
                fail(f"sample raised an error with temperature={temperature:g} (but not with 1).",
                     looks_like=UNNORMALISED, mistake="temperature_divides_unnormalised")
            raise

    p, eos, max_length = problems[-1]
    again = [draw(p, eos, 7, 1.0, max_length) for _ in range(3)]
    if any(got != again[0] for got in again):
        fail("sample gave different names for the same seed (called three times with seed=7).",
             looks_like=GLOBAL_RANDOM, mistake="sample_global_random")
    observed, failing = [], []
    for temperature in (1.0, 0.5, 2.0):
        for p, eos, max_length in problems:
            for seed in range(6):
                case = (p, eos, seed, temperature, max_length)
                got = draw(*case)
                observed.append((case, got))
                if got != _sample(*case):
                    failing.append((case, got))
    if not failing:
        return
    (p, eos, seed, temperature, max_length), got = failing[0]
    V = p["Wya"].shape[0]
    where = (f"sample on a model with V={V} characters and <EOS> at index {eos} (seed={seed}, "
             f"temperature={temperature:g}, max_length={max_length})")
    found, names = decide(observed, SAMPLE_MISTAKES)
    if found is not None:
        fail(f"{where} did not give the name the reference draws ({len(failing)} of {len(observed)} cases "
             "differ).", looks_like=found.explanation, mistake=found.name)
    if len(got) > max_length:
        fail(f"{where} gave {len(got)} indices: stop after max_length = {max_length} characters.")
    if got and eos in got[:-1]:
        fail(f"{where} went on after drawing <EOS> (index {eos}); stop as soon as it is drawn.")
    raise CheckFailed(
        f"{where} did not give the name the reference draws ({len(failing)} of {len(observed)} cases differ). "
        "Draw exactly one index per character, with rng = np.random.default_rng(seed) made once and "
        "rng.choice(V, p=probabilities.ravel()), from x<1> = 0 and a<0> = 0, carrying a<t> and feeding back "
        "the drawn character.", candidates=names if len(names) > 1 else ())
