"""Hidden checks of chapter 3, representing words."""
from __future__ import annotations

import collections
import itertools

import numpy as np

from autograde.checks import SEEDS, CheckFailed, call, close, expect_array, fail, isolate
from solutions import ch03 as ref

UNK = ref.UNK

# The classic mistakes these checks must catch and name, each as an edit of the
# reference body: name -> (exercise, old text, new text).
MISTAKES = {
    "ties_by_first_appearance": ("build_vocabulary", "key=lambda word: (-counts[word], word)", "key=lambda word: -counts[word]"),
    "size_without_unk": ("build_vocabulary", "ranked[: size - 1]", "ranked[:size]"),
    "unk_token_counted": ("build_vocabulary", 'if token != "<UNK>":', "if True:"),
    "index_from_one": ("word_to_index", "enumerate(vocab)", "enumerate(vocab, start=1)"),
    "index_reversed": ("word_to_index", "{word: k for k, word in enumerate(vocab)}", "{k: word for k, word in enumerate(vocab)}"),
    "unknown_words_dropped": ("encode", "[index.get(token, unk) for token in tokens]", "[index[token] for token in tokens if token in index]"),
    "unknown_words_crash": ("encode", "[index.get(token, unk) for token in tokens]", "[index[token] for token in tokens]"),
    "decode_off_by_one": ("decode", "vocab[k]", "vocab[k - 1]"),
    "one_hot_flat": ("one_hot", "return x", "return x.ravel()"),
    "one_hot_negative_accepted": ("one_hot", "if not 0 <= index < V:", "if not index < V:"),
    "one_hot_int_dtype": ("one_hot", "x = np.zeros((V, 1))", "x = np.zeros((V, 1), dtype=int)"),
    "sentence_transposed": ("one_hot_sentence", "return X", "return X.T"),
    "padding_as_unk": ("one_hot_batch", "x[:, i, : len(indices)] = one_hot_sentence(indices, V)",
                       "x[:, i, :] = one_hot_sentence(list(indices) + [0] * (T_max - len(indices)), V)"),
    "batch_axes_swapped": ("one_hot_batch", "return x", "return x.transpose(1, 0, 2)"),
    "sentence_int_dtype": ("one_hot_sentence", "X = np.zeros((V, len(indices)))",
                           "X = np.zeros((V, len(indices)), dtype=int)"),
    "batch_int_dtype": ("one_hot_batch", "x = np.zeros((V, m, T_max))", "x = np.zeros((V, m, T_max), dtype=int)"),
}
# name -> a phrase of the diagnosis its check gives (see autograde.checks.named)
DIAGNOSES_SAY = {
    "ties_by_first_appearance": "ties were broken by first appearance",
    "size_without_unk": 'you kept size words after "<UNK>":',
    "unk_token_counted": 'the "<UNK>" tokens of the corpus',
    "index_from_one": "you counted from 1: the index",
    "index_reversed": "you built the reverse mapping, index",
    "unknown_words_dropped": "unknown words were left out: each",
    "unknown_words_crash": "encode crashed on a word that",
    "decode_off_by_one": "the indices were shifted by one:",
    "one_hot_flat": "you returned a flat vector: a",
    "one_hot_negative_accepted": "a negative index was accepted: numpy",
    "one_hot_int_dtype": "the vector was built with integers:",
    "sentence_transposed": "rows and columns are swapped: one",
    "padding_as_unk": "the padding steps got a 1",
    "batch_axes_swapped": "the axes are in the wrong",
}


# What the chapter's visible tests say when they catch each mistake (a regular expression
# over their failure message; see tests/test_visible_tests.py).
VISIBLE_TESTS_SAY = {
    "ties_by_first_appearance": r"alphabetical order, not in the order they first appear",
    "size_without_unk": r"keeps '<UNK>' and the 2 best-ranked words",
    "unk_token_counted": r"'<UNK>' token in the corpus is not counted",
    "index_from_one": r"counted from 0",
    "index_reversed": r"maps each word to its index",
    "unknown_words_dropped": r"get index 0",
    "unknown_words_crash": r"not in the vocabulary",
    "decode_off_by_one": r"counted from 0",
    "one_hot_flat": r"shape \(4, 1\), a column",
    "one_hot_negative_accepted": r"should raise an IndexError",
    "one_hot_int_dtype": r"holds floats",
    "sentence_transposed": r"\(V, T_x\)",
    "padding_as_unk": r"all-zero column",
    "batch_axes_swapped": r"\(V, m, T_max\)",
    "sentence_int_dtype": r"floats 0.0 and 1.0",
    "batch_int_dtype": r"floats 0.0 and 1.0",
}

# words that make ties and case matter: "Zoe" < "apple" < "b" in Python's string order
POOL = ["the", "a", "cat", "Cat", "sat", "Zoe", "apple", "Apple", "b", "ab", "a-b", "zebra", "x", "mat", "on", "dog",
        "don't", "Harry", "harry", "spell"]


# ---------------------------------------------------------------- build_vocabulary
def _corpus(rng, n_words, max_count=3, with_unk=False):
    """A shuffled corpus of n_words distinct words with small counts (so ties are common), cut into sentences."""
    words = [str(w) for w in rng.choice(POOL, size=n_words, replace=False)]
    tokens = [w for w in words for _ in range(int(rng.integers(1, max_count + 1)))]
    if with_unk:
        tokens += [UNK] * 5  # more often than any word: it must not be counted
    rng.shuffle(tokens)
    cuts = sorted(int(c) for c in rng.integers(0, len(tokens) + 1, size=int(rng.integers(0, 4))))
    bounds = [0] + cuts + [len(tokens)]
    return [tokens[a:b] for a, b in zip(bounds[:-1], bounds[1:])]  # some sentences may be empty


def _vocab_mistakes(sentences, size):
    tokens = [t for s in sentences for t in s]
    counts = collections.Counter(t for t in tokens if t != UNK)
    by_first = [w for w, _ in counts.most_common()]
    yield ("ties were broken by first appearance (that is what Counter.most_common and a sort on the count alone do): "
           "sort words with the same count in alphabetical order, for example with key=lambda w: (-counts[w], w)."), \
        [UNK] + by_first[: size - 1]
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    yield "you kept size words after \"<UNK>\": size counts \"<UNK>\" too, so keep the size - 1 most frequent words.", \
        [UNK] + ranked[:size]
    yield "\"<UNK>\" is at the end: it must come first, at index 0.", ranked[: size - 1] + [UNK]
    yield "\"<UNK>\" is missing: the vocabulary starts with it, at index 0.", ranked[:size]
    with_unk = collections.Counter(tokens)
    counted = sorted(with_unk, key=lambda w: (-with_unk[w], w))
    yield ("the \"<UNK>\" tokens of the corpus were counted as a word: skip them when counting, "
           "\"<UNK>\" is already at index 0."), [UNK] + counted[: size - 1]
    yield ("ties were sorted without regard to case: use Python's own string order (capitals first), "
           "so the order is fully determined."), [UNK] + sorted(counts, key=lambda w: (-counts[w], w.lower(), w))[: size - 1]
    yield ("ties were sorted in reverse alphabetical order: words with the same count go in alphabetical order."), \
        [UNK] + sorted(sorted(counts, reverse=True), key=lambda w: -counts[w])[: size - 1]
    yield "the least frequent words came first: rank the words from the most frequent down.", \
        [UNK] + sorted(counts, key=lambda w: (counts[w], w))[: size - 1]


def check_build_vocabulary(build_vocabulary):
    """Checks build_vocabulary ("<UNK>" first, then the most frequent words, ties
    alphabetical) against the reference.

    Inputs: an empty corpus, empty sentences, size 1, "<UNK>" tokens in the corpus, and
    random corpora with a size that cuts inside the ranking, a larger one and the
    default.
    Names: ties_by_first_appearance, size_without_unk, unk_token_counted.
    """
    cases = [([], 5), ([[]], 3), ([["Hermione"]], None), ([["a", "b", "a"]], 1), ([[UNK, UNK, "x"]], 10)]
    for seed in SEEDS:
        rng = np.random.default_rng(700 + seed)
        n_words = int(rng.integers(4, 12))
        sentences = _corpus(rng, n_words, with_unk=seed % 2 == 1)
        distinct = len({t for s in sentences for t in s if t != UNK})
        # a size that cuts inside the ranking, one larger than needed, and the default
        cases += [(sentences, int(rng.integers(2, distinct + 1))), (sentences, distinct + 5), (sentences, None)]
    failing = []  # (message, explanations that fit this case)
    for sentences, size in cases:
        args = (sentences,) if size is None else (sentences, size)
        got = call(build_vocabulary, "build_vocabulary", *args)
        expected = ref.build_vocabulary(*args)
        where = f"build_vocabulary({sentences}" + (")" if size is None else f", size={size})")
        if not (isinstance(got, list) and all(isinstance(w, str) for w in got)):
            fail(f"{where} should return a list of str, got {type(got).__name__}.")
        if got == expected:
            continue
        shown = f"{where} gave {got}."
        eff = 10000 if size is None else size
        fits = [why for why, wrong in _vocab_mistakes(sentences, eff) if got == wrong]
        if not fits and len(set(got)) != len(got):
            fail(f"{shown} The vocabulary should not hold a word twice.")
        failing.append((shown, fits))
    if not failing:
        return
    # Several orders can coincide on one corpus (first appearance may happen to be reverse
    # alphabetical order): name the mistake only if it explains every failing case.
    for why, _ in _vocab_mistakes([["a"]], 2):
        if all(why in fits for _, fits in failing):
            fail(failing[0][0], looks_like=why)
    fail(f"{failing[0][0]} Rank the words by count (most frequent first, ties in alphabetical order), "
         f"keep the first size - 1, and put \"<UNK>\" in front.")


# ---------------------------------------------------------------- word_to_index
def _vocab(rng, V):
    return [UNK] + [str(w) for w in rng.choice(POOL, size=V - 1, replace=False)]


def check_word_to_index(word_to_index):
    """Checks word_to_index (word -> position in the vocabulary) against the reference.

    Inputs: vocabularies of 1, 2, 6, 12 and 20 words; a dict.
    Names: index_from_one, index_reversed.
    """
    for seed, V in enumerate([1, 2, 6, 12, 20]):
        vocab = _vocab(np.random.default_rng(800 + seed), V)
        got = call(word_to_index, "word_to_index", vocab)
        expected = ref.word_to_index(vocab)
        where = f"word_to_index({vocab})"
        if not isinstance(got, dict):
            fail(f"{where} should return a dict, got {type(got).__name__}.")
        if got == expected:
            continue
        if got == {k: w for k, w in enumerate(vocab)} and V > 0:
            fail(f"{where} is wrong.", looks_like="you built the reverse mapping, index -> word: the dict should take "
                 "a word and give its index, {'<UNK>': 0, ...}.")
        if got == {w: k + 1 for k, w in enumerate(vocab)}:
            fail(f"{where} is wrong.", looks_like="you counted from 1: the index of a word is its position in the list, "
                 "counted from 0 as in numpy, so \"<UNK>\" is 0.")
        fail(f"{where} gave {got}: index[vocab[k]] should be k.")


# ---------------------------------------------------------------- encode
def _as_index_list(got, what):
    if isinstance(got, np.ndarray) and got.ndim == 1 and (got.size == 0 or np.issubdtype(got.dtype, np.integer)):
        return [int(k) for k in got]
    if isinstance(got, (list, tuple)) and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in got):
        return [int(k) for k in got]
    fail(f"{what} should return a list of int, got {got!r}.")


def check_encode(encode):
    """Checks encode (a word's index, or that of "<UNK>") against the reference.

    Inputs: five random sentences of 0 to 9 tokens with known and unknown words; a list
    of int.
    Names: unknown_words_dropped, unknown_words_crash.
    """
    cases = []
    for seed in SEEDS:
        rng = np.random.default_rng(900 + seed)
        vocab = _vocab(rng, 8)
        known = vocab[1:]
        unknown = [w for w in POOL if w not in vocab] + ["Quidditch", "HARRY"]
        T = [0, 1, 5, 9, 3][seed]
        tokens = [str(rng.choice(known)) if rng.random() < 0.6 else str(rng.choice(unknown)) for _ in range(T)]
        if T >= 3:
            tokens[1] = str(rng.choice(unknown))  # at least one unknown word
            tokens[2] = UNK  # the token "<UNK>" itself is in the vocabulary
        cases.append((tokens, ref.word_to_index(vocab)))
    cases.append((["Quidditch"], ref.word_to_index([UNK, "spell"])))  # one word, unknown
    for tokens, index in cases:
        where = f"encode({tokens}, index) with index = {index}"
        try:
            got = call(encode, "encode", tokens, dict(index))
        except CheckFailed as err:
            if "raised KeyError" in str(err):
                fail(f"{where} raised a KeyError.", looks_like="encode crashed on a word that is not in the vocabulary: "
                     "such a word gets the index of \"<UNK>\" (index.get(token, default) helps).")
            raise
        got = _as_index_list(got, "encode")
        expected = ref.encode(tokens, index)
        if got == expected:
            continue
        known = [index[t] for t in tokens if t in index]
        if got == known:
            fail(f"{where} gave {got}.", looks_like="unknown words were left out: each one becomes "
                 "the index of \"<UNK>\", so the result has one index per token.")
        for bad in (-1, len(index)):
            if got == [index.get(t, bad) for t in tokens]:
                fail(f"{where} gave {got}.", looks_like=f"unknown words got the index {bad}: they get "
                     f"the index of \"<UNK>\", index['<UNK>'].")
        fail(f"{where} gave {got}: each token gets index[token], or index['<UNK>'] if it is not there.")


# ---------------------------------------------------------------- decode
def check_decode(decode):
    """Checks decode (indices back to words) against the reference.

    Inputs: sentences of 0, 1, 4, 7 and 10 indices; a list of str.
    Names: decode_off_by_one.
    """
    for seed, T in enumerate([0, 1, 4, 7, 10]):
        rng = np.random.default_rng(1000 + seed)
        vocab = _vocab(rng, 9)
        indices = [int(k) for k in rng.integers(0, len(vocab), size=T)]
        got = call(decode, "decode", indices, list(vocab))
        expected = ref.decode(indices, vocab)
        where = f"decode({indices}, {vocab})"
        if isinstance(got, str):
            fail(f"{where} returned one string: it should return a list of str, one word per index.")
        if not (isinstance(got, list) and all(isinstance(w, str) for w in got)):
            fail(f"{where} should return a list of str, got {got!r}.")
        if got == expected:
            continue
        if got == [vocab[k - 1] for k in indices]:
            fail(f"{where} gave {got}.", looks_like="the indices were shifted by one: index k is "
                 "vocab[k], counted from 0.")
        fail(f"{where} gave {got}: word t is vocab[indices[t - 1]].")


# ---------------------------------------------------------------- one_hot
def check_one_hot(one_hot):
    """Checks one_hot (a (V, 1) float column with one 1.0) against the reference.

    Inputs: V from 1 to 10000 with the first, last and a random index, then indices out
    of range, which must raise IndexError.
    Names: one_hot_flat, one_hot_negative_accepted, one_hot_int_dtype.
    """
    for seed, V in enumerate([1, 2, 7, 15, 10000]):
        rng = np.random.default_rng(1100 + seed)
        for index in sorted({0, V - 1, int(rng.integers(0, V))}):
            where = f"one_hot({index}, {V})"
            got = call(one_hot, "one_hot", index, V)
            if isinstance(got, np.ndarray) and got.shape == (V,):
                fail(f"{where} has shape ({V},).", looks_like="you returned a flat vector: a one-hot vector is a column "
                     "of shape (V, 1).")
            if isinstance(got, np.ndarray) and got.shape == (1, V) and V > 1:
                fail(f"{where} has shape (1, {V}).", looks_like="you returned a row: a one-hot vector is a column of "
                     "shape (V, 1).")
            got = expect_array(got, (V, 1), where)
            if not np.issubdtype(got.dtype, np.floating):
                fail(f"{where} holds {got.dtype} values.", looks_like="the vector was built with integers: a one-hot "
                     "vector holds the floats 0.0 and 1.0 (np.zeros((V, 1)) without dtype=int), like every input of "
                     "chapter 4.")
            expected = ref.one_hot(index, V)
            if close(got, expected):
                continue
            if index + 1 < V and close(got, ref.one_hot(index + 1, V)):
                fail(f"{where} has its 1 in row {index + 1}.", looks_like="you counted rows from 1: index k is row k, "
                     "counted from 0.")
            fail(f"{where} is wrong: it should be all 0.0 except a 1.0 in row {index}.")
    for V, index in [(5, -1), (5, 5), (1, 1), (5, -5), (5, 12)]:
        where = f"one_hot({index}, {V})"
        try:
            one_hot(index, V)
        except IndexError:
            continue
        except NotImplementedError:
            fail("one_hot is not implemented yet: replace the line that raises NotImplementedError with your code.")
        except Exception as exc:
            fail(f"{where} raised {type(exc).__name__}: {exc}. An index outside 0..V-1 should raise an IndexError.")
        fail(f"{where} returned a vector instead of raising an IndexError.", looks_like="a negative index was accepted: "
             "numpy counts it from the end, so the 1 landed in another word's row. Check 0 <= index < V yourself.")


# ---------------------------------------------------------------- one_hot_sentence
def check_one_hot_sentence(one_hot_sentence):
    """Checks one_hot_sentence (one one-hot column per word) against the reference.

    Inputs: six sentences (empty, one word, V = 1, V = T_x); a float array of shape (V,
    T_x).
    Names: sentence_transposed, sentence_int_dtype.
    """
    fn = isolate(one_hot_sentence, one_hot=ref.one_hot)
    for seed, (V, T) in enumerate([(6, 4), (3, 0), (9, 1), (1, 3), (12, 7), (5, 5)]):
        rng = np.random.default_rng(1200 + seed)
        indices = [int(k) for k in rng.integers(0, V, size=T)]
        where = f"one_hot_sentence({indices}, {V})"
        got = call(fn, "one_hot_sentence", indices, V)
        if isinstance(got, np.ndarray) and got.shape == (T, V) and T != V:
            fail(f"{where} has shape ({T}, {V}).", looks_like=f"rows and columns are swapped: one row per word of the "
                 f"vocabulary and one column per time step, shape (V, T_x) = ({V}, {T}).")
        got = expect_array(got, (V, T), where)
        if not np.issubdtype(got.dtype, np.floating):
            fail(f"{where} holds {got.dtype} values.", mistake="sentence_int_dtype", looks_like=(
                "the one-hot columns are not floats: like one_hot, one_hot_sentence holds the floats 0.0 and 1.0 "
                "(np.zeros((V, T_x)) without a dtype)."))
        expected = ref.one_hot_sentence(indices, V)
        if close(got, expected):
            continue
        if T == V and close(got, expected.T):
            fail(f"{where} is transposed.", looks_like="rows and columns are swapped: column t - 1 is the one-hot "
                 "vector of word t.")
        fail(f"{where} is wrong: column t - 1 should be the one-hot vector of indices[t - 1].")


# ---------------------------------------------------------------- one_hot_batch
BATCH_CASES = [(7, [[1, 2, 3], [4], [0, 6]]), (5, [[2, 2]]), (4, [[3], [1], [0]]), (6, [[], [5, 1, 1, 2]]),
               (10, [[9, 0, 3, 3, 1], [2, 7], [8, 8, 8], [4]]), (3, [[1]])]


def check_one_hot_batch(one_hot_batch):
    """Checks one_hot_batch (a (V, m, T_max) batch, zero columns after each sentence)
    against the reference.

    Inputs: six batches (an empty sentence, m = 1, equal lengths); a float array.
    Names: padding_as_unk, batch_axes_swapped, batch_int_dtype.
    """
    fn = isolate(one_hot_batch, one_hot_sentence=ref.one_hot_sentence, one_hot=ref.one_hot)
    for V, batch in BATCH_CASES:
        m, T_max = len(batch), max(len(s) for s in batch)
        where = f"one_hot_batch({batch}, {V})"
        got = call(fn, "one_hot_batch", [list(s) for s in batch], V)
        expected = ref.one_hot_batch(batch, V)
        if isinstance(got, np.ndarray) and got.ndim == 3 and not close(got, expected):
            names = ("V", "m", "T_max")
            for perm in itertools.permutations(range(3)):
                if perm != (0, 1, 2) and close(got, expected.transpose(perm)):
                    order = ", ".join(names[k] for k in perm)
                    fail(f"{where} has shape {got.shape}.", looks_like=f"the axes are in the wrong order ({order}): "
                         f"the course's layout is (V, m, T_max) = {(V, m, T_max)}, vocabulary, then examples, then time.")
        got = expect_array(got, (V, m, T_max), where)
        if not np.issubdtype(got.dtype, np.floating):
            fail(f"{where} holds {got.dtype} values.", mistake="batch_int_dtype", looks_like=(
                "the batch is not made of floats: it holds the floats 0.0 and 1.0 (np.zeros((V, m, T_max)) "
                "without a dtype)."))
        if close(got, expected):
            continue
        padded_unk = expected.copy()
        for i, s in enumerate(batch):
            padded_unk[0, i, len(s):] = 1.0
        if any(len(s) < T_max for s in batch) and close(got, padded_unk):
            fail(f"{where} is wrong.", looks_like="the padding steps got a 1 in row 0 (the one-hot vector of "
                 "\"<UNK>\"): padding is no word at all, an all-zero column.")
        front = np.zeros_like(expected)
        for i, s in enumerate(batch):
            if s:
                front[:, i, T_max - len(s):] = ref.one_hot_sentence(s, V)
        if close(got, front):
            fail(f"{where} is wrong.", looks_like="the padding was put before the words: each sentence starts at t = 1 "
                 "and the zero columns come after its last word.")
        fail(f"{where} is wrong: x[:, i - 1, t - 1] should be the one-hot vector of word t of sentence i, "
             f"and all zeros after the end of the sentence.")
