"""Hidden checks of chapter 2, notation."""
from __future__ import annotations

import numpy as np

from autograde.checks import SEEDS, CheckFailed, call, close, expect_array, fail, isolate
from solutions import ch02 as ref

# The classic mistakes these checks must catch and name, each as an edit of the
# reference body: name -> (exercise, old text, new text).
MISTAKES = {
    "split_on_single_space": ("tokenize", "sentence.split()", 'sentence.split(" ")'),
    "punctuation_left_attached": ("tokenize", """if ch in '.,!?;:"()':""", "if ch in '':"),
    "tokens_lower_cased": ("tokenize", "word += ch", "word += ch.lower()"),
    "labels_by_substring": ("name_labels", "1 if token in names else 0", "1 if any(name in token for name in names) else 0"),
    "labels_ignore_case": ("name_labels", "1 if token in names else 0", "1 if token.lower() in {n.lower() for n in names} else 0"),
    "labels_flat": ("name_labels", ".reshape(1, len(tokens))", ""),
    "step_zero_accepted": ("get_step", "if not 1 <= t <= T_x:", "if not 0 <= t <= T_x:"),
    "step_math_indices_in_numpy": ("get_step", "X[:, i - 1, t - 1]", "X[:, i, t]"),
    "step_flat": ("get_step", ".reshape(n_x, 1)", ""),
    "lengths_count_rows": ("sequence_lengths", "seq.shape[1]", "len(seq)"),
    "padding_in_front": ("pad_batch", "X[:, i, :T_i] = seq", "X[:, i, T_max - T_i:] = seq"),
    "pad_value_ignored": ("pad_batch", "np.full((n_x, m, T_max), pad_value, dtype=float)", "np.zeros((n_x, m, T_max))"),
    "mask_all_ones": ("pad_batch", "mask = np.zeros((m, T_max))", "mask = np.ones((m, T_max))"),
    "labels_without_int_dtype": ("name_labels", "np.array(labels, dtype=int)", "np.array(labels)"),
    "pad_without_float_dtype": ("pad_batch", "np.full((n_x, m, T_max), pad_value, dtype=float)",
                                "np.full((n_x, m, T_max), pad_value)"),
    "mask_as_booleans": ("pad_batch", "mask = np.zeros((m, T_max))", "mask = np.zeros((m, T_max), dtype=bool)"),
}
# name -> a phrase of the diagnosis its check gives (see autograde.checks.named)
DIAGNOSES_SAY = {
    "split_on_single_space": "you split on spaces only: tabs",
    "punctuation_left_attached": "punctuation stayed attached to the words",
    "tokens_lower_cased": "you lower-cased the tokens: keep the",
    "labels_by_substring": "you matched part of a token:",
    "labels_ignore_case": 'you ignored capital letters: "harry" is',
    "labels_flat": "you returned a flat array: labels",
    "step_zero_accepted": "index 0 was accepted: there is",
    "step_math_indices_in_numpy": "you used the math indices directly",
    "step_flat": "you returned a flat array: keep",
    "lengths_count_rows": "you used len(seq), which counts the",
    "padding_in_front": "you put the padding before the",
    "pad_value_ignored": "pad_value was ignored: the padded entries",
    "mask_all_ones": "the mask marks every step as",
}


# What the chapter's visible tests say when they catch each mistake (a regular expression
# over their failure message; see tests/test_visible_tests.py).
VISIBLE_TESTS_SAY = {
    "split_on_single_space": r"spaces, tabs and new lines",
    "punctuation_left_attached": r"token of its own",
    "tokens_lower_cased": r"capital letters",
    "labels_by_substring": r"whole tokens",
    "labels_ignore_case": r"case-sensitive",
    "labels_flat": r"shape \(1, T_x\)",
    "step_zero_accepted": r"should raise an IndexError",
    "step_math_indices_in_numpy": r"X\[:, i - 1, t - 1\]",
    "step_flat": r"reshape it to \(n_x, 1\)",
    "lengths_count_rows": r"columns of each array",
    "padding_in_front": r"real step first, then the padding",
    "pad_value_ignored": r"pad_value",
    "mask_all_ones": r"0\.0 on the padded steps",
    "labels_without_int_dtype": r"give dtype=int",
    "pad_without_float_dtype": r"give dtype=float",
    "mask_as_booleans": r"floats 1.0 and 0.0",
}

WORDS = ["Harry", "Potter", "and", "Hermione", "spell", "don't", "well-known", "Marie", "curie", "42",
         "O'Brien", "x", "Zoe", "apple", "café", "e-mail", "it's", "Ron"]
SPACES = [" ", " ", " ", "  ", "\t", "\n", " \t "]


# ---------------------------------------------------------------- tokenize
def _random_sentence(rng) -> str:
    parts = []
    for _ in range(int(rng.integers(1, 9))):
        word = str(rng.choice(WORDS))
        r = rng.random()
        if r < 0.25:
            word += str(rng.choice(list(ref.PUNCTUATION)))  # "spell."
        elif r < 0.35:
            word = str(rng.choice(list('"('))) + word + str(rng.choice(list('")')))  # "(twice)"
        elif r < 0.45:
            word = str(rng.choice(list(ref.PUNCTUATION)))  # a lone "!"
        elif r < 0.5:
            word += "?!"  # two punctuation characters in a row
        parts.append(word)
    sentence = "".join(p + str(rng.choice(SPACES)) for p in parts)
    return str(rng.choice(["", " ", "\t"])) + sentence


TOKENIZE_CASES = ["", "   \t\n ", "Hermione", "spell.", "Ron laughed.", '"Wait," said Ron (twice).',
                  "  Harry   Potter\tand\nHermione  ", "What?!", "don't panic: it's well-known"]


def _tokenize_mistakes(sentence, expected):
    chunks = sentence.split()
    yield "punctuation stayed attached to the words (like 'spell.'): each character of PUNCTUATION is a token of its own.", chunks
    yield "you lower-cased the tokens: keep the capital letters, they help to find names.", [t.lower() for t in expected]
    yield "you dropped the punctuation: each punctuation character should be a token of its own.", [t for t in expected if t not in ref.PUNCTUATION]


def _merged_punctuation(sentence):
    """The tokens when a run of punctuation characters is kept as one token ("?!")."""
    tokens = []
    for tok in ref.tokenize(sentence):
        if tokens and tok in ref.PUNCTUATION and tokens[-1] and all(c in ref.PUNCTUATION for c in tokens[-1]):
            tokens[-1] += tok
        else:
            tokens.append(tok)
    return tokens


def check_tokenize(tokenize):
    """Checks tokenize (whitespace and punctuation split, case kept) against the reference.

    Inputs: fixed sentences (tabs, new lines, punctuation, capitals, empty) and 20
    random ones; the result must be a list of str.
    Names: split_on_single_space, punctuation_left_attached, tokens_lower_cased.
    """
    cases = list(TOKENIZE_CASES)
    for seed in SEEDS:
        rng = np.random.default_rng(200 + seed)
        cases += [_random_sentence(rng) for _ in range(4)]
    for sentence in cases:
        got = call(tokenize, "tokenize", sentence)
        if not isinstance(got, list):
            fail(f"tokenize should return a list of str, got {type(got).__name__}.")
        expected = ref.tokenize(sentence)
        if got == expected:
            continue
        shown = f"tokenize({sentence!r}) gave {got}."
        if not all(isinstance(t, str) for t in got):
            fail(f"tokenize should return a list of str. {shown}")
        if "" in got:
            fail(f"{shown}", looks_like="you split on single spaces (split(' ')): two spaces in a row give an "
                 "empty string. Use split() with no argument.")
        if any(any(c.isspace() for c in t) for t in got):
            fail(f"{shown}", looks_like="you split on spaces only: tabs and new lines separate tokens too. "
                 "split() with no argument splits on any whitespace.")
        for why, wrong in _tokenize_mistakes(sentence, expected):
            if got == wrong:
                fail(f"{shown}", looks_like=f"{why}")
        if got == _merged_punctuation(sentence):
            fail(f"{shown}", looks_like="a run of punctuation such as '?!' became one token: every punctuation "
                 "character is a token on its own.")
        fail(f"{shown} Check the rules: whitespace separates tokens, each punctuation character is a token, "
             f"everything else belongs to a word.")


# ---------------------------------------------------------------- name_labels
NAME_SETS = [{"Harry", "Potter", "Hermione", "Granger"}, {"Anna", "Lee"}, {"Marie", "Curie", "Ron"}, set()]
TOKEN_POOL = ["Harry", "harry", "Harrys", "Potter", "Hermione", "Granger", "and", "the", "Anna", "Ann", "Annabel",
              "anna", "Lee", "Leeds", "Marie", "Curie", "curie", "Ron", "Brussels", "Yesterday", ".", ","]


def _label_mistakes(tokens, names):
    lower = {n.lower() for n in names}
    yield "you matched part of a token: only whole tokens are names (\"Ann\" is inside \"Annabel\" but is not it).", \
        [1 if any(n in tok for n in names) else 0 for tok in tokens]
    yield "you matched part of a token: only whole tokens are names.", [1 if any(tok in n for n in names) else 0 for tok in tokens]
    yield "you ignored capital letters: \"harry\" is not the name \"Harry\"; compare tokens exactly.", \
        [1 if tok.lower() in lower else 0 for tok in tokens]
    yield "you labelled every word that starts with a capital letter: only the tokens in names count.", \
        [1 if tok[:1].isupper() else 0 for tok in tokens]


def check_name_labels(name_labels):
    """Checks name_labels (1 for a token in names, 0 otherwise) against the reference.

    Inputs: an empty sentence, one-word sentences, a lower-cased name, a sentence of the
    chapter and 15 random ones; shape (1, T_x) and an int dtype, also for the empty
    sentence.
    Names: labels_by_substring, labels_ignore_case, labels_flat,
    labels_without_int_dtype.
    """
    cases = [([], NAME_SETS[0]), (["Harry"], NAME_SETS[0]), (["harry"], NAME_SETS[0]),
             ("Harry Potter and Hermione Granger invented a new spell".split(), NAME_SETS[0])]
    for seed in SEEDS:
        rng = np.random.default_rng(300 + seed)
        for names in NAME_SETS:
            tokens = [str(w) for w in rng.choice(TOKEN_POOL, size=int(rng.integers(1, 12)))]
            cases.append((tokens, names))
    for tokens, names in cases:
        T_x = len(tokens)
        got = call(name_labels, "name_labels", tokens, set(names))
        expected = ref.name_labels(tokens, names)
        shown = f"name_labels({tokens}, {sorted(names)})"
        if isinstance(got, np.ndarray) and got.shape == (T_x,):
            fail(f"{shown} has shape ({T_x},).", looks_like=f"you returned a flat array: labels are a sequence with "
                 f"one row and one column per time step, shape (1, T_x) = (1, {T_x}).")
        got = expect_array(got, (1, T_x), shown)
        if not np.issubdtype(got.dtype, np.integer):
            fail(f"{shown} holds {got.dtype} values.", mistake="labels_without_int_dtype", looks_like=(
                "the labels are not integers: the docstring asks for an array of int, even for an empty sentence "
                "(np.array([]) holds floats), so give the dtype: np.array(labels, dtype=int)."))
        if np.array_equal(got, expected):
            continue
        row = [int(v) for v in got[0]]
        for why, wrong in _label_mistakes(tokens, names):
            if row == wrong:
                fail(f"{shown} gave {row}.", looks_like=f"{why}")
        if T_x > 1 and (row[1:] == expected[0, :-1].tolist() or row[:-1] == expected[0, 1:].tolist()):
            fail(f"{shown} gave {row}.", looks_like="the labels are shifted by one "
                 "position: label t goes with token t.")
        fail(f"{shown} gave {row}: y<t> is 1 exactly when token x<t> is in names.")


# ---------------------------------------------------------------- get_step
def _batch(rng, n_x, m, T_x):
    # every entry different, so a value tells where it was read
    return rng.permutation(n_x * m * T_x).reshape(n_x, m, T_x).astype(float) + 0.5


STEP_SIZES = [(3, 4, 5), (2, 1, 6), (4, 5, 1), (1, 1, 1), (2, 3, 7)]  # m = 1, T_x = 1, both


def _get_step_valid(get_step, X, i, t):
    n_x, m, T_x = X.shape
    where = f"get_step(X, {i}, {t}) with X of shape {X.shape}"
    try:
        got = call(get_step, "get_step", X, i, t)
    except CheckFailed as err:
        if "raised IndexError" in str(err):
            if i == m or t == T_x:
                fail(f"{where} raised an IndexError, but i = {i} and t = {t} are valid (i in 1..{m}, t in 1..{T_x}). "
                     f"It looks like you used the math indices directly as numpy indices: X^(i)<t> is X[:, i - 1, t - 1].")
            fail(f"{where} raised an IndexError, but i = {i} and t = {t} are valid (i in 1..{m}, t in 1..{T_x}).")
        raise
    expected = ref.get_step(X, i, t)
    if isinstance(got, np.ndarray) and got.shape == (n_x,):
        fail(f"{where} has shape ({n_x},).", looks_like=f"you returned a flat array: keep it a column of shape "
             f"(n_x, 1) = ({n_x}, 1), for example with .reshape(n_x, 1).")
    got = expect_array(got, (n_x, 1), where)
    if close(got, expected):
        return
    if i < m and t < T_x and close(got[:, 0], X[:, i, t]):
        fail(f"{where} returned X[:, {i}, {t}].", looks_like="you used the math indices directly as numpy "
             "indices: X^(i)<t> is X[:, i - 1, t - 1].")
    if t <= m and i <= T_x and close(got[:, 0], X[:, t - 1, i - 1]):
        fail(f"{where} returned X[:, {t - 1}, {i - 1}].", looks_like="i and t were swapped: the examples are the "
             "second axis and time the third, X[:, i - 1, t - 1].")
    fail(f"{where} returned the wrong column: X^(i)<t> is X[:, i - 1, t - 1].")


def _get_step_invalid(get_step, X, i, t):
    n_x, m, T_x = X.shape
    where = f"get_step(X, {i}, {t}) with X of shape {X.shape} (i in 1..{m}, t in 1..{T_x})"
    try:
        get_step(X, i, t)
    except IndexError:
        return
    except NotImplementedError:
        fail("get_step is not implemented yet: replace the line that raises NotImplementedError with your code.")
    except Exception as exc:
        fail(f"{where} raised {type(exc).__name__}: {exc}. An index out of range should raise an IndexError.")
    if i == 0 or t == 0:
        fail(f"{where} returned a value instead of raising an IndexError.", looks_like="index 0 was accepted: there is "
             "no X^(0) or x<0> in the math, and numpy reads index 0 - 1 = -1 as the last one. Check 1 <= i <= m "
             "and 1 <= t <= T_x yourself.")
    fail(f"{where} returned a value instead of raising an IndexError.", looks_like="a negative index got through: "
         "numpy reads negative indices from the end, so check 1 <= i <= m and 1 <= t <= T_x yourself.")


def check_get_step(get_step):
    """Checks get_step (X^(i)<t> with 1-based indices, as a column) against the reference.

    Inputs: five batches (m = 1 and T_x = 1 included), the corners and a random inside
    step, then indices 0, negative and past the end, which must raise IndexError.
    Names: step_zero_accepted, step_math_indices_in_numpy, step_flat.
    """
    for seed, (n_x, m, T_x) in enumerate(STEP_SIZES):
        rng = np.random.default_rng(400 + seed)
        X = _batch(rng, n_x, m, T_x)
        valid = {(1, 1), (m, T_x), (1, T_x), (m, 1), (int(rng.integers(1, m + 1)), int(rng.integers(1, T_x + 1)))}
        for i, t in sorted(valid):
            _get_step_valid(get_step, X, i, t)
        for i, t in [(1, 0), (0, 1), (m, 0), (m + 1, 1), (1, T_x + 1), (-1, 1), (1, -1), (m + 5, T_x + 5)]:
            _get_step_invalid(get_step, X, i, t)


# ---------------------------------------------------------------- sequence_lengths
def _ragged(rng, n_x, lengths):
    return [rng.standard_normal((n_x, int(T))) for T in lengths]


LENGTH_CASES = [(3, [4, 2, 0, 5]), (2, [7]), (5, [1]), (4, [0, 0]), (1, [3, 1, 2]), (6, [1, 9, 2, 2, 4])]


def check_sequence_lengths(sequence_lengths):
    """Checks sequence_lengths (the number of columns of each sequence) against the
    reference.

    Inputs: six ragged batches (empty sequences, one sequence, n_x = 1); an int array of
    shape (m,).
    Names: lengths_count_rows.
    """
    for seed, (n_x, lengths) in enumerate(LENGTH_CASES):
        seqs = _ragged(np.random.default_rng(500 + seed), n_x, lengths)
        got = call(sequence_lengths, "sequence_lengths", seqs)
        where = f"sequence_lengths of {len(seqs)} sequences of shapes {[s.shape for s in seqs]}"
        got = expect_array(got, (len(seqs),), where)
        if not np.issubdtype(got.dtype, np.integer):
            fail(f"{where} holds {got.dtype} values: lengths are integers (use dtype=int).")
        if got.tolist() == lengths:
            continue
        if got.tolist() == [n_x] * len(seqs):
            fail(f"{where} gave {got.tolist()}.", looks_like=f"you used len(seq), which counts the "
                 f"rows of an array (n_x = {n_x}); the time steps are its columns, seq.shape[1].")
        if got.tolist() == [lengths[0]] * len(seqs):
            fail(f"{where} gave {got.tolist()}.", looks_like="every sequence got the length of "
                 "the first: measure each one.")
        fail(f"{where} gave {got.tolist()}: T_x^(i) is the number of columns of sequence i.")


# ---------------------------------------------------------------- pad_batch
# (n_x, lengths, pad_value): padding with a non-zero value, m = 1, T = 1, an empty sequence, all empty
# and integer sequences padded with an int (ints are numbers the docstring allows; X holds floats)
PAD_CASES = [(2, [3, 1, 4], 0.0), (3, [2, 5, 0], -1.5), (1, [6], 7.0), (4, [1, 1], 2.0), (2, [1, 3], None),
             (3, [0, 0, 0], 9.0), (2, [5, 2, 3, 1], 0.25), (2, [2, 4, 1], -1)]


def check_pad_batch(pad_batch):
    """Checks pad_batch (padding after the real steps, and the mask) against the reference.

    Inputs: seven ragged batches: non-zero pad values, the default, m = 1, empty
    sequences, all empty, and integer sequences with an int pad_value; X and mask must
    be float arrays of shapes (n_x, m, T_max) and (m, T_max).
    Names: padding_in_front, pad_value_ignored, mask_all_ones, pad_without_float_dtype,
    mask_as_booleans.
    """
    fn = isolate(pad_batch, sequence_lengths=ref.sequence_lengths)
    for seed, (n_x, lengths, pad_value) in enumerate(PAD_CASES):
        seqs = _ragged(np.random.default_rng(600 + seed), n_x, lengths)
        if isinstance(pad_value, int):
            seqs = [np.round(10 * seq).astype(int) for seq in seqs]
        m, T_max = len(seqs), max(lengths)
        kwargs = {} if pad_value is None else {"pad_value": pad_value}
        where = f"pad_batch of sequences of shapes {[s.shape for s in seqs]}" + (f" with pad_value={pad_value}" if kwargs else "")
        out = call(fn, "pad_batch", seqs, **kwargs)
        if not (isinstance(out, tuple) and len(out) == 2):
            fail("pad_batch should return a tuple of two arrays: (X, mask).")
        X, mask = out
        if isinstance(mask, np.ndarray) and mask.shape == (T_max, m) and m != T_max:
            fail(f"{where}: mask has shape {mask.shape}.", looks_like=f"its axes are swapped: one row per example, "
                 f"shape (m, T_max) = ({m}, {T_max}).")
        X = expect_array(X, (n_x, m, T_max), f"X ({where})")
        mask = expect_array(mask, (m, T_max), f"mask ({where})")
        if not np.issubdtype(mask.dtype, np.floating):
            fail(f"{where}: mask holds {mask.dtype} values.", mistake="mask_as_booleans", looks_like=(
                "the mask is not made of floats: the docstring asks for 1.0 and 0.0 (a mask of booleans or ints "
                "cannot weigh a loss the same way); build it with np.zeros((m, T_max)) and set 1.0."))
        if not np.issubdtype(X.dtype, np.floating):
            fail(f"{where}: X holds {X.dtype} values.", mistake="pad_without_float_dtype", looks_like=(
                "X is not an array of floats: with integer sequences and an integer pad_value, np.full keeps "
                "ints; the docstring asks for floats, so give dtype=float."))
        e_X, e_mask = ref.pad_batch(seqs, **kwargs)
        if not close(mask, e_mask):
            if close(mask, np.ones_like(e_mask)):
                fail(f"{where}: the mask is all ones.", looks_like="the mask marks every step as real: it should be "
                     "0.0 on the padded steps.")
            if close(mask, e_mask[:, ::-1]):
                fail(f"{where}: the mask is reversed.", looks_like="it marks the padding at the start: the real steps "
                     "come first, then the padding.")
            fail(f"{where}: the mask is wrong: mask[i - 1, t - 1] is 1.0 when t <= T_x^(i), else 0.0.\n"
                 f"got\n{mask}")
        if close(X, e_X):
            continue
        front = np.full_like(e_X, 0.0 if pad_value is None else pad_value)
        for i, seq in enumerate(seqs):
            if seq.shape[1]:
                front[:, i, T_max - seq.shape[1]:] = seq
        if close(X, front):
            fail(f"{where}: X is wrong.", looks_like="you put the padding before the real steps: each sequence "
                 "starts at t = 1 and the padding comes after its last step.")
        zeros = ref.pad_batch(seqs, 0.0)[0]
        if pad_value and close(X, zeros):
            fail(f"{where}: X is wrong.", looks_like=f"pad_value was ignored: the padded entries should be {pad_value}, "
                 f"not 0.")
        fail(f"{where}: X is wrong: X[:, i - 1, t - 1] should be column t of sequence i for t <= T_x^(i), "
             f"and pad_value after that.")
