"""Hidden checks of chapter 1, why sequence models."""
from __future__ import annotations

import numbers

import numpy as np

from autograde.checks import CheckFailed, call, fail
from solutions import ch01 as ref

# The classic mistakes these checks must catch and name, each as an edit of the
# reference body: name -> (exercise, old text, new text).
MISTAKES = {
    "translation_same_length": ("sequence_answers", '"machine_translation": (True, True, False)',
                                '"machine_translation": (True, True, True)'),
    "rating_as_sequence": ("sequence_answers", '"sentiment_classification": (True, False, False)',
                           '"sentiment_classification": (True, True, False)'),
    "music_input_as_sequence": ("sequence_answers", '"music_generation": (False, True, False)',
                                '"music_generation": (True, True, False)'),
    "dense_without_biases": ("dense_parameter_count", "n_h * n_in + n_h + n_out * n_h + n_out", "n_h * n_in + n_out * n_h"),
    "dense_one_output_position": ("dense_parameter_count", "n_out = T_max * n_y", "n_out = n_y"),
    "rnn_without_waa": ("rnn_parameter_count", "n_a * n_a + n_a * n_x + n_a", "n_a * n_x + n_a"),
    "rnn_without_biases": ("rnn_parameter_count", "hidden + output", "hidden + output - n_a - n_y"),
}
# name -> a phrase of the diagnosis its check gives (see autograde.checks.named)
DIAGNOSES_SAY = {
    "translation_same_length": "you assumed a translation has as",
    "rating_as_sequence": "you took the rating as a",
    "music_input_as_sequence": "you took the input of music",
    "dense_without_biases": "you left out the two bias",
    "dense_one_output_position": "the output layer has n_y units;",
    "rnn_without_waa": "you left out Waa, the (n_a,",
    "rnn_without_biases": "you left out the biases ba",
}


# What the chapter's visible tests say when they catch each mistake (a regular expression
# over their failure message; see tests/test_visible_tests.py).
VISIBLE_TESTS_SAY = {
    "translation_same_length": r"machine_translation: same_length",
    "rating_as_sequence": r"sentiment_classification: y_is_sequence",
    "music_input_as_sequence": r"music_generation: x_is_sequence",
    "dense_without_biases": r"biases b1 \(5\) and b2 \(6\) are missing",
    "dense_one_output_position": r"T_max \* n_y",
    "rnn_without_waa": r"leaves out Waa \(3 x 3 = 9\)",
    "rnn_without_biases": r"leaves out the biases ba and by",
}

FIELDS = ("x_is_sequence", "y_is_sequence", "same_length")
# what to revisit when answers of a field are wrong (field index -> advice)
REVISIT = {
    0: "whether its INPUT is a sequence (several values in an order) or a single value, or nothing",
    1: "whether its OUTPUT is a sequence or a single value",
    2: "whether the input and the output ALWAYS have the same length (T_x = T_y in every example), which needs "
       "both to be sequences",
}

# Why each answer is what it is: shown when a learner's answer differs from the reference.
# (application, field index) -> explanation that completes "It looks like ...".
WHY = {
    ("speech_recognition", 0): "you missed that the audio clip is a long sequence of samples.",
    ("speech_recognition", 1): "you took the transcript as a single value: it is a sequence of words.",
    ("speech_recognition", 2): "you matched the lengths: thousands of audio samples give a transcript of a few words, so T_x != T_y.",
    ("music_generation", 0): "you took the input of music generation as a sequence: it is nothing at all, or a single number such as the genre or the first note.",
    ("music_generation", 1): "you missed that the output, a piece of music, is a sequence of notes.",
    ("music_generation", 2): "you matched the lengths, but the input is not a sequence, so same_length is False.",
    ("sentiment_classification", 0): "you missed that a review is a sequence of words.",
    ("sentiment_classification", 1): "you took the rating as a sequence: a review gets a single number of stars (one value, not a sequence).",
    ("sentiment_classification", 2): "you matched the lengths, but the rating is a single value, so same_length is False.",
    ("dna_sequence_analysis", 0): "you missed that a DNA strand is a sequence of bases.",
    ("dna_sequence_analysis", 1): "you took the labels as a single value: there is one label per base, a sequence.",
    ("dna_sequence_analysis", 2): "you missed that there is exactly one label per base, so T_y = T_x in every example.",
    ("machine_translation", 0): "you missed that the sentence to translate is a sequence of words.",
    ("machine_translation", 1): "you missed that the translation is a sequence of words too.",
    ("machine_translation", 2): "you assumed a translation has as many words as the original; it often does not (7 French words became 8 English ones), so same_length is False.",
    ("video_activity_recognition", 0): "you missed that a video is a sequence of frames.",
    ("video_activity_recognition", 1): "you took the activity as a sequence: the whole clip gets one label such as \"running\".",
    ("video_activity_recognition", 2): "you matched the lengths, but the activity is a single label, so same_length is False.",
    ("named_entity_recognition", 0): "you missed that a sentence is a sequence of words.",
    ("named_entity_recognition", 1): "you missed that there is one label per word, a sequence.",
    ("named_entity_recognition", 2): "you missed that there is exactly one label per word, so T_y = T_x (the chapter works this one out).",
}


def check_sequence_answers(sequence_answers):
    """Checks the seven yes/no triples (x_is_sequence, y_is_sequence, same_length) against
    the reference.

    Inputs: the value returned, keys exactly APPLICATIONS, three booleans each. A
    failure names what to revisit, never which application or field is wrong.
    Names: translation_same_length, rating_as_sequence, music_input_as_sequence.
    """
    answers = call(sequence_answers, "sequence_answers")
    if not isinstance(answers, dict):
        fail(f"sequence_answers() should return a dict, got {type(answers).__name__}.")
    expected = ref.sequence_answers()
    missing = [k for k in ref.APPLICATIONS if k not in answers]
    extra = [k for k in answers if k not in expected]
    if missing or extra:
        fail(f"the keys of the dict should be exactly the seven names in APPLICATIONS; "
             f"missing: {missing}, unexpected: {extra}.")
    for name in ref.APPLICATIONS:
        value = answers[name]
        if not (isinstance(value, tuple) and len(value) == 3
                and all(isinstance(v, (bool, np.bool_)) for v in value)):
            fail(f"answers[{name!r}] should be a tuple of three booleans "
                 f"(x_is_sequence, y_is_sequence, same_length), got {value!r}.")
    wrong = [(name, k) for name in ref.APPLICATIONS for k in range(3) if bool(answers[name][k]) != expected[name][k]]
    if wrong:
        # Feedback is not an answer key: the learner reads which questions to revisit, never
        # which application or field was wrong, nor how many; the diagnosis (for the class
        # report only) is given when one explanation accounts for the whole difference.
        kinds = sorted({k for _, k in wrong})
        raise CheckFailed("Some of your answers are wrong. Revisit, for every application, "
                          + "; and ".join(REVISIT[k] for k in kinds) + ".",
                          WHY[wrong[0]] if len(wrong) == 1 else None)


# ---------------------------------------------------------------- parameter counts
def _count(fn, name, *args):
    got = call(fn, name, *args)
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Real):
        fail(f"{name}{args} should return a number, got {type(got).__name__}.")
    if got != int(got):
        fail(f"{name}{args} returned {got}, which is not a whole number: a count of weights and biases is an integer.")
    return int(got)


def _sizes(seed):
    rng = np.random.default_rng(100 + seed)
    # distinct sizes, so that swapping two of them changes the count; T_max = 1 and n_y = 1 sometimes
    while True:
        T_max, n_x, n_h, n_y = (int(v) for v in rng.integers(1, 40, size=4))
        if seed == 0:
            T_max = 1
        if seed == 1:
            n_y = 1
        if len({n_x, n_h, n_y}) == 3 and T_max not in (n_x, n_h, n_y):
            return T_max, n_x, n_h, n_y


def check_dense_parameter_count(dense_parameter_count):
    """Checks the weight and bias count of the dense network that reads a whole padded
    sequence against the reference.

    Inputs: six sets of distinct sizes (T_max, n_x, n_h, n_y) between 1 and 39, T_max =
    1 and n_y = 1 among them; the result must be a whole number.
    Names: dense_without_biases, dense_one_output_position.
    """
    for seed in range(6):
        T_max, n_x, n_h, n_y = _sizes(seed)
        got = _count(dense_parameter_count, "dense_parameter_count", T_max, n_x, n_h, n_y)
        expected = ref.dense_parameter_count(T_max, n_x, n_h, n_y)
        if got == expected:
            continue
        n_in, n_out = T_max * n_x, T_max * n_y
        mistakes = [
            (n_h * n_in + n_out * n_h, "you left out the two bias vectors (one bias per hidden unit and one per output unit)."),
            (n_h * n_in + n_h + n_y * n_h + n_y, "the output layer has n_y units; it needs n_y for every one of the T_max positions, T_max * n_y units."),
            (n_h * n_x + n_h + n_out * n_h + n_out, "the hidden layer reads n_x inputs; it reads all T_max vectors side by side, T_max * n_x inputs."),
            (n_h * n_x + n_h + n_y * n_h + n_y, "you counted a network for one position: its input is T_max * n_x numbers and its output T_max * n_y units."),
            (n_h * n_in + n_out * n_h + n_h * n_out, "the second bias has one entry per output unit (T_max * n_y), not one per hidden unit."),
            (n_h * n_in + n_h + n_out * n_h, "you left out the bias of the output layer."),
            (n_h * n_in + n_out * n_h + n_out, "you left out the bias of the hidden layer."),
            (n_h * n_in * n_out + n_h + n_out, "you multiplied the sizes of the two weight matrices: add them instead."),
        ]
        for wrong, why in mistakes:
            if got == wrong:
                fail(f"dense_parameter_count{(T_max, n_x, n_h, n_y)} is {got:,}.", looks_like=f"{why}")
        fail(f"dense_parameter_count{(T_max, n_x, n_h, n_y)} is {got:,}. Write the shape of "
             f"each weight matrix and bias vector, then add up their sizes.")


def check_rnn_parameter_count(rnn_parameter_count):
    """Checks the weight and bias count of an RNN (Waa, Wax, ba, Wya, by) against the
    reference.

    Inputs: six sets of distinct sizes (n_x, n_a, n_y) between 1 and 39, n_y = 1 among
    them; the result must be a whole number.
    Names: rnn_without_waa, rnn_without_biases.
    """
    for seed in range(6):
        _, n_x, n_a, n_y = _sizes(seed)
        got = _count(rnn_parameter_count, "rnn_parameter_count", n_x, n_a, n_y)
        expected = ref.rnn_parameter_count(n_x, n_a, n_y)
        if got == expected:
            continue
        mistakes = [
            (n_a * n_x + n_a + n_y * n_a + n_y, "you left out Waa, the (n_a, n_a) matrix that carries the hidden state from one step to the next."),
            (n_a * n_a + n_a * n_x + n_y * n_a, "you left out the biases ba (n_a entries) and by (n_y entries)."),
            (n_a * n_a + n_a * n_x + n_y * n_a + n_y, "you left out the bias ba (n_a entries)."),
            (n_a * n_a + n_a * n_x + n_a + n_y * n_a, "you left out the bias by (n_y entries)."),
            (n_a * n_a + n_a * n_x + n_a, "you left out the output layer, Wya (n_y, n_a) and by (n_y, 1)."),
            (n_a * n_a + n_a * n_x + n_a + n_y * n_x + n_y, "Wya maps the hidden state to the output, so its shape is (n_y, n_a), not (n_y, n_x)."),
            (n_a * n_a + n_x * n_x + n_a + n_y * n_a + n_y, "Wax maps an input of size n_x to the hidden state, so its shape is (n_a, n_x)."),
        ]
        for wrong, why in mistakes:
            if got == wrong:
                fail(f"rnn_parameter_count{(n_x, n_a, n_y)} is {got:,}.", looks_like=f"{why}")
        fail(f"rnn_parameter_count{(n_x, n_a, n_y)} is {got:,}. Add up the sizes of "
             f"Waa (n_a, n_a), Wax (n_a, n_x), ba (n_a, 1), Wya (n_y, n_a) and by (n_y, 1).")
