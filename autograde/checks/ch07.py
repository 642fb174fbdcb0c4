"""Hidden checks of chapter 7, RNN types."""
from __future__ import annotations

import numpy as np

from autograde.checks import CheckFailed, call, close, common, diagnose, expect_array, fail, isolate
from solutions import ch07 as ref

# name -> (exercise, old text, new text): edits of the reference body that the check of
# that exercise must catch and name (see autograde.authoring.synthetic).
MISTAKES = {
    "translation_as_many_to_many": ("architectures", '"machine translation": "encoder-decoder"',
                                    '"machine translation": "many-to-many"'),
    "captioning_as_one_to_one": ("architectures", '"image captioning": "one-to-many"', '"image captioning": "one-to-one"'),
    "many_to_one_not_from_a0": ("many_to_one_forward", "a_t = a0", "a_t = np.zeros_like(a0)"),
    "many_to_one_first_step_only": ("many_to_one_forward", "for t in range(x.shape[2]):", "for t in range(1):"),
    "many_to_one_state_not_carried": ("many_to_one_forward", "rnn_step(x[:, :, t], a_t,", "rnn_step(x[:, :, t], a0,"),
    "many_to_one_ignores_activation": ("many_to_one_forward", "a_t, parameters, activation)", "a_t, parameters)"),
    "many_to_one_reads_padding": ("many_to_one_forward",
                                  "a_t = a_new if lengths is None else np.where(t < np.asarray(lengths), a_new, a_t)",
                                  "a_t = a_new"),
    "output_not_fed_back": ("one_to_many_forward", "x_t = np.eye(n_y)[:, idx]", "x_t = x1"),
    "probabilities_fed_back": ("one_to_many_forward", "x_t = np.eye(n_y)[:, idx]", "x_t = y_t"),
    "one_to_many_ignores_activation": ("one_to_many_forward", "rnn_step(x_t, a_t, parameters, activation)",
                                       "rnn_step(x_t, a_t, parameters)"),
    "decoder_ignores_encoder": ("encoder_decoder_forward", "one_to_many_forward(start, a_t,",
                                "one_to_many_forward(start, np.zeros_like(a_t),"),
    "decoder_runs_t_x_steps": ("encoder_decoder_forward", "decoder_parameters, T_y, activation)",
                               "decoder_parameters, x.shape[2], activation)"),
    "encoder_ignores_activation": ("encoder_decoder_forward", "a_t, encoder_parameters, activation)",
                                   "a_t, encoder_parameters)"),
}
# name -> a phrase of the diagnosis its check gives (see autograde.checks.named)
DIAGNOSES_SAY = {
    "translation_as_many_to_many": "the shape of this task was misread: a translation",
    "captioning_as_one_to_one": "the shape of this task was misread: a single",
    "many_to_one_not_from_a0": "the loop does not start from",
    "many_to_one_first_step_only": "only the first time step was",
    "many_to_one_state_not_carried": "every step started again from a0:",
    "many_to_one_ignores_activation": "it was not passed on to",
    "many_to_one_reads_padding": "the padding was read: with lengths,",
    "output_not_fed_back": "the output is not fed back:",
    "probabilities_fed_back": "the probabilities y_hat<t> were fed back",
    "one_to_many_ignores_activation": "it was not passed on to",
    "decoder_ignores_encoder": "the decoder does not start from",
    "decoder_runs_t_x_steps": "the decoder ran for T_x =",
    "encoder_ignores_activation": "the encoder ignores the activation argument:",
}


# What the chapter's visible tests say when they catch each mistake (a regular expression
# over their failure message; see tests/test_visible_tests.py).
VISIBLE_TESTS_SAY = {
    "translation_as_many_to_many": r"machine translation: both sides are sequences",
    "captioning_as_one_to_one": r"image captioning: is the photo a sequence",
    "many_to_one_not_from_a0": r"start the loop from the a0 that was passed in",
    "many_to_one_first_step_only": r"must read all T_x",
    "many_to_one_state_not_carried": r"start from the state the previous step returned",
    "many_to_one_ignores_activation": r"Pass activation on",
    "many_to_one_reads_padding": r"padding is not read",
    "output_not_fed_back": r"not fed back",
    "probabilities_fed_back": r"ONE-HOT column of the chosen symbol",
    "one_to_many_ignores_activation": r"Pass activation on",
    "decoder_ignores_encoder": r"start from the encoder's last state",
    "decoder_runs_t_x_steps": r"decoder runs T_y steps",
    "encoder_ignores_activation": r"Pass activation on to both RNNs",
}

ACTIVATIONS = common.ACTIVATIONS
_kwargs = common.activation_kwargs


def _rnn(rng, n_in, n_a, n_y=None, scale=1.0):
    return common.rnn_parameters(rng, n_in, n_a, n_y, waa=0.8 * scale, wax=scale, wya=2.0, by=1.0)


# ---------------------------------------------------------------- architectures
WHY = {
    "named-entity recognition": ("it reads a sentence and labels every word, one output per input (T_y = T_x)",
                                 "many-to-many"),
    "sentiment classification": ("it reads a whole review (many inputs) and gives one rating or one "
                                 "positive/negative label at the end", "many-to-one"),
    "music generation": ("it starts from at most one input (a genre, a first note, or nothing) and "
                         "produces a whole sequence of notes, each fed back as the next input", "one-to-many"),
    "machine translation": ("a translation rarely has as many words as its source (T_x != T_y), and its word "
                            "order differs: the whole sentence is read first (encoder), then the translation is "
                            "written (decoder)", "encoder-decoder"),
    "image classification": ("one image in, one label out: no sequence on either side, an ordinary network",
                             "one-to-one"),
    "video activity recognition": ("it reads a sequence of frames and gives one label for the whole clip",
                                   "many-to-one"),
    "part-of-speech tagging": ("every word gets its own tag (noun, verb, ...), one output per input, T_y = T_x",
                               "many-to-many"),
    "image captioning": ("a single input (one image) becomes a sequence of words", "one-to-many"),
}


def check_architectures(architectures):
    """Checks the architecture named for each task against the reference.

    Inputs: the dict answer, keys exactly TASKS; a failure names what to revisit.
    Names: translation_as_many_to_many, captioning_as_one_to_one.
    """
    if architectures is None:  # the answer cell still raises NotImplementedError
        fail("architectures is not implemented yet: replace the line that raises NotImplementedError with "
             "your dict.")
    if not isinstance(architectures, dict):
        fail(f"architectures should be a dict from each task to the name of its architecture, "
             f"got {type(architectures).__name__}.")
    missing = [t for t in ref.TASKS if t not in architectures]
    if missing:
        fail(f"architectures has no answer for {', '.join(repr(t) for t in missing)}: give one for each of the "
             f"{len(ref.TASKS)} tasks, spelled as in TASKS.")
    extra = [t for t in architectures if t not in ref.TASKS]
    if extra:
        fail(f"architectures has keys that are not tasks of the list: {', '.join(map(repr, extra))}.")
    for task in ref.TASKS:
        answer = architectures[task]
        if answer not in ref.ARCHITECTURES:
            hint = ""
            if isinstance(answer, str):
                norm = answer.strip().lower().replace(" ", "-").replace("_", "-")
                if norm in ref.ARCHITECTURES:
                    hint = f" (did you mean {norm!r}?)"
            fail(f"architectures[{task!r}] is {answer!r}, which is not one of the names "
                 f"{', '.join(map(repr, ref.ARCHITECTURES))}{hint}.")
    wrong = [t for t in ref.TASKS if architectures[t] != WHY[t][1]]
    if wrong:
        # Feedback is not an answer key: the learner reads what to revisit, never which task
        # is wrong nor its architecture; the diagnosis (for the class report only) is given
        # when one task accounts for the whole difference.
        why, right = WHY[wrong[0]]
        raise CheckFailed("Some architectures are wrong. Revisit, for every task, whether its input is one "
                          "item or a sequence, whether its output is, and whether the two lengths always match "
                          "(T_x = T_y) or not.",
                          f"the shape of this task was misread: {why}, so it is {right!r}." if len(wrong) == 1
                          else None)


# ---------------------------------------------------------------- many_to_one_forward
def _m21(x, a0, p, activation, lengths=None, mode="right"):
    """The many-to-one forward pass written out again, with one classic mistake selected by ``mode``."""
    a_t = np.zeros_like(a0) if mode == "zeros" else a0
    steps = 1 if mode == "first_only" else x.shape[2]
    keep = lengths is not None and mode != "reads_padding"
    outputs = []
    for t in range(steps):
        a_new = ref.rnn_step(x[:, :, t], a0 if mode == "no_carry" else a_t, p, activation)
        a_t = np.where(t < np.asarray(lengths), a_new, a_t) if keep else a_new
        outputs.append(ref.softmax(p["Wya"] @ a_t + p["by"]))
    y = np.mean(outputs, axis=0) if mode == "mean" else outputs[-1]
    return y, a_t


M21_MISTAKES = {
    "zeros": "the loop does not start from a0: the first step must use the a0 that was passed in.",
    "first_only": "only the first time step was read: the loop must go over all T_x inputs before the output.",
    "no_carry": "every step started again from a0: pass each step's new state on to the next step.",
    "mean": "you averaged the outputs of every step: a many-to-one RNN gives ONE output, from the last state.",
    "reads_padding": "the padding was read: with lengths, each example must keep the state of its own last step "
                     "(for example np.where(t < lengths, a_new, a_old)), not go on to a<T_max>.",
}

# (n_x, n_a, n_y, m, T_x, lengths): distinct sizes, T_x of 7, 2, 1; m of 4, 1, 3; padded batches too
M21_CASES = [(3, 5, 2, 4, 7, None), (4, 3, 5, 1, 2, None), (2, 4, 3, 3, 1, None), (5, 2, 4, 1, 7, None),
             (3, 4, 2, 4, 6, [6, 2, 5, 1]), (2, 3, 4, 3, 3, [1, 3, 2])]


def check_many_to_one_forward(many_to_one_forward):
    """Checks many_to_one_forward (read every step, one output from the last state) against
    the reference.

    Inputs: the M21 cases per activation, with and without lengths (zero padding after
    each sequence), a non-zero a0.
    Names: many_to_one_not_from_a0, many_to_one_first_step_only,
    many_to_one_state_not_carried, many_to_one_ignores_activation,
    many_to_one_reads_padding.
    """
    fn = isolate(many_to_one_forward, rnn_step=ref.rnn_step, softmax=ref.softmax)
    for activation in ACTIVATIONS:
        for k, (n_x, n_a, n_y, m, T_x, lengths) in enumerate(M21_CASES):
            rng = np.random.default_rng(4000 + k)
            p = _rnn(rng, n_x, n_a, n_y)
            x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
            if lengths is not None:
                x = x * (np.arange(T_x) < np.array(lengths)[:, None])  # zero padding after each sequence
            kwargs = _kwargs(activation) if lengths is None else dict(_kwargs(activation), lengths=list(lengths))
            out = call(fn, "many_to_one_forward", x, a0, p, **kwargs)
            if not (isinstance(out, tuple) and len(out) == 2):
                fail("many_to_one_forward should return a tuple of two: (y_hat, a_last).")
            y_hat, a_last = out
            if isinstance(y_hat, np.ndarray) and y_hat.shape == (n_y, m, T_x) and T_x > 1:
                fail(f"y_hat has shape {y_hat.shape}.", looks_like=f"you kept an output at every step. A many-to-one "
                     f"RNN gives one output per example, shape (n_y, m) = {(n_y, m)}, after the last step.")
            expect_array(y_hat, (n_y, m), "y_hat")
            expect_array(a_last, (n_a, m), "a_last")
            e_y, e_a = ref.many_to_one_forward(x, a0, p, activation, lengths)
            variants = {mode: _m21(x, a0, p, activation, lengths, mode) for mode in M21_MISTAKES
                        if mode != "reads_padding" or lengths is not None}
            where = f"(activation={activation!r}, T_x={T_x}, m={m}" + (f", lengths={lengths})" if lengths else ")")
            if not close(a_last, e_a):
                if activation == "relu" and close(a_last, ref.many_to_one_forward(x, a0, p, "tanh", lengths)[1]):
                    fail("many_to_one_forward ignores its activation argument.", looks_like="it was not passed on "
                         "to rnn_step.")
                diagnose(a_last, e_a, [(M21_MISTAKES[k], v[1]) for k, v in variants.items()], f"a_last {where}")
            if not close(y_hat, e_y):
                diagnose(y_hat, e_y, [(M21_MISTAKES[k], v[0]) for k, v in variants.items()] + [
                    ("the output was computed from a0 instead of the last state.", ref.softmax(p["Wya"] @ a0 + p["by"])),
                    ("softmax is missing: y_hat should be softmax(Wya a<T_x> + by).", p["Wya"] @ e_a + p["by"]),
                ], f"y_hat {where}")


# ---------------------------------------------------------------- one_to_many_forward
def _generate(x1, a0, p, T_y, activation, mode="right"):
    n_y, m = p["Wya"].shape[0], x1.shape[1]
    y_hat, idx_all = np.zeros((n_y, m, T_y)), np.zeros((m, T_y), dtype=int)
    x_t, a_t = x1, a0
    for t in range(T_y):
        a_new = ref.rnn_step(x_t, a_t, p, activation)
        y_t = ref.softmax(p["Wya"] @ (a_t if mode == "output_from_a_prev" else a_new) + p["by"])
        a_t = a_new
        idx = np.argmax(y_t, axis=0)
        y_hat[:, :, t], idx_all[:, t] = y_t, idx
        x_t = {"no_feedback": x1, "probabilities": y_t}.get(mode, np.eye(n_y)[:, idx])
    return y_hat, idx_all


O2M_MISTAKES = {
    "no_feedback": "the output is not fed back: every step received x1 again. After each step, the chosen "
                   "symbol (one-hot) must be the next step's input.",
    "probabilities": "the probabilities y_hat<t> were fed back as the next input. Feed back the chosen symbol "
                     "instead: the one-hot column of np.argmax(y_hat<t>, axis=0).",
    "output_from_a_prev": "each output was computed from the state before the step: compute y_hat<t> from the "
                          "new state a<t>.",
}


def check_one_to_many_forward(one_to_many_forward):
    """Checks one_to_many_forward (feed each chosen symbol back) against the reference.

    Inputs: four problems per activation, a one-hot or all-zero x1, T_y = 1 included.
    Names: output_not_fed_back, probabilities_fed_back, one_to_many_ignores_activation.
    """
    fn = isolate(one_to_many_forward, rnn_step=ref.rnn_step, softmax=ref.softmax)
    for activation in ACTIVATIONS:
        for k, (n_y, n_a, m, T_y) in enumerate([(4, 5, 3, 7), (5, 3, 1, 2), (3, 4, 2, 1), (6, 6, 1, 7)]):
            rng = np.random.default_rng(4100 + k)
            p = _rnn(rng, n_y, n_a, n_y, scale=1.5)
            x1 = np.eye(n_y)[:, rng.integers(n_y, size=m)] if k % 2 == 0 else np.zeros((n_y, m))
            a0 = rng.standard_normal((n_a, m)) * 0.5
            out = call(fn, "one_to_many_forward", x1, a0, p, T_y, **_kwargs(activation))
            if not (isinstance(out, tuple) and len(out) == 2):
                fail("one_to_many_forward should return a tuple of two: (y_hat, indices).")
            y_hat, indices = out
            expect_array(y_hat, (n_y, m, T_y), "y_hat")
            if isinstance(indices, np.ndarray) and indices.shape == (T_y, m) and T_y != m:
                fail(f"indices has shape {indices.shape}.", looks_like=f"it is transposed. It should be (m, T_y) "
                     f"= {(m, T_y)}, one row per example.")
            expect_array(indices, (m, T_y), "indices")
            if not np.issubdtype(indices.dtype, np.integer):
                fail(f"indices should hold ints (the chosen symbols), got dtype {indices.dtype}: "
                     "create it with dtype=int.")
            e_y, e_idx = ref.one_to_many_forward(x1, a0, p, T_y, activation)
            where = f"(activation={activation!r}, T_y={T_y}, m={m})"
            variants = {mode: _generate(x1, a0, p, T_y, activation, mode) for mode in O2M_MISTAKES}
            if not close(y_hat, e_y):
                if activation == "relu" and close(y_hat, ref.one_to_many_forward(x1, a0, p, T_y)[0]):
                    fail("one_to_many_forward ignores its activation argument.", looks_like="it was not passed on "
                         "to rnn_step.")
                diagnose(y_hat, e_y, [(O2M_MISTAKES[k], v[0]) for k, v in variants.items()], f"y_hat {where}")
            if not np.array_equal(indices, e_idx):
                fail(f"indices {where} is wrong: entry [j, t] should be the symbol chosen for example j at step t, "
                     "np.argmax(y_hat<t>, axis=0)[j], stored step by step in indices[:, t].")


# ---------------------------------------------------------------- encoder_decoder_forward
def _encdec(x, enc, dec, T_y, activation, mode="right"):
    n_a, m = enc["Waa"].shape[0], x.shape[1]
    a_t = np.zeros((n_a, m))
    for t in range(x.shape[2]):
        a_t = ref.rnn_step(x[:, :, t], a_t, enc, "tanh" if mode == "encoder_tanh" else activation)
    n_y = dec["Wya"].shape[0]
    start = np.zeros((n_y, m))
    return ref.one_to_many_forward(start, np.zeros_like(a_t) if mode == "ignore_encoder" else a_t, dec, T_y,
                                   "tanh" if mode == "decoder_tanh" else activation)


ENCDEC_MISTAKES = {
    "ignore_encoder": "the decoder does not start from the encoder's last hidden state: pass it as the "
                      "decoder's a0, it is the only thing the decoder knows about the input.",
}


def check_encoder_decoder_forward(encoder_decoder_forward):
    """Checks encoder_decoder_forward (the decoder starts from the encoder's last state)
    against the reference.

    Inputs: four problems per activation: output shorter, longer, from one input step,
    equal; m = 1 included.
    Names: decoder_ignores_encoder, decoder_runs_t_x_steps, encoder_ignores_activation.
    """
    fn = isolate(encoder_decoder_forward, one_to_many_forward=ref.one_to_many_forward, rnn_step=ref.rnn_step,
                 softmax=ref.softmax)
    for activation in ACTIVATIONS:
        # (n_x, n_a, n_y, m, T_x, T_y): output shorter, longer, from one step, equal; m = 1 and more
        for k, (n_x, n_a, n_y, m, T_x, T_y) in enumerate(
                [(6, 5, 4, 3, 5, 3), (3, 4, 5, 1, 2, 7), (5, 3, 4, 2, 1, 4), (4, 6, 3, 1, 7, 7)]):
            rng = np.random.default_rng(4200 + k)
            enc, dec = _rnn(rng, n_x, n_a), _rnn(rng, n_y, n_a, n_y, scale=1.5)
            x = rng.standard_normal((n_x, m, T_x)) * 1.5
            out = call(fn, "encoder_decoder_forward", x, enc, dec, T_y, **_kwargs(activation))
            if not (isinstance(out, tuple) and len(out) == 2):
                fail("encoder_decoder_forward should return a tuple of two: (y_hat, indices), as one_to_many_forward does.")
            y_hat, indices = out
            if isinstance(y_hat, np.ndarray) and y_hat.shape == (n_y, m, T_x) and T_x != T_y:
                fail(f"y_hat has shape {y_hat.shape}.", looks_like=f"the decoder ran for T_x = {T_x} steps. It must "
                     f"generate T_y = {T_y} outputs, whatever the input's length.")
            expect_array(y_hat, (n_y, m, T_y), "y_hat")
            expect_array(indices, (m, T_y), "indices")
            e_y, e_idx = ref.encoder_decoder_forward(x, enc, dec, T_y, activation)
            where = f"(activation={activation!r}, T_x={T_x}, T_y={T_y}, m={m})"
            if not close(y_hat, e_y):
                variants = [(text, _encdec(x, enc, dec, T_y, activation, mode)[0])
                            for mode, text in ENCDEC_MISTAKES.items()]
                if activation == "relu":
                    variants.append(("the activation argument was not passed on to both RNNs.",
                                     ref.encoder_decoder_forward(x, enc, dec, T_y)[0]))
                    variants.append(("the encoder ignores the activation argument: pass it on to its rnn_step too.",
                                     _encdec(x, enc, dec, T_y, activation, "encoder_tanh")[0]))
                    variants.append(("the decoder ignores the activation argument: pass it on to one_to_many_forward.",
                                     _encdec(x, enc, dec, T_y, activation, "decoder_tanh")[0]))
                diagnose(y_hat, e_y, variants, f"y_hat {where}")
            if not np.array_equal(indices, e_idx):
                fail(f"indices {where} is wrong: it should be the indices that the decoder's generation loop chose.")
