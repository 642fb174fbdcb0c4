"""The chapter 3 reference, checked independently: vocabularies ranked by hand, and
invariants that any correct encoding satisfies."""
import itertools

import numpy as np
import pytest

from solutions.ch03 import (
    UNK,
    build_vocabulary,
    decode,
    encode,
    one_hot,
    one_hot_batch,
    one_hot_sentence,
    word_to_index,
)

SMALL = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat"]]


def test_vocabulary_by_hand():
    # counts: the 2, cat 2, sat 2, dog 1, a 1; ties alphabetical
    assert build_vocabulary(SMALL, size=10) == [UNK, "cat", "sat", "the", "a", "dog"]
    assert build_vocabulary(SMALL, size=4) == [UNK, "cat", "sat", "the"]
    assert build_vocabulary(SMALL, size=5) == [UNK, "cat", "sat", "the", "a"]  # the cut falls inside a tie
    assert build_vocabulary(SMALL) == [UNK, "cat", "sat", "the", "a", "dog"]  # default 10,000
    # Python's string order: capitals first
    assert build_vocabulary([["b", "B", "a", "a", "Zoe", "apple"]]) == [UNK, "a", "B", "Zoe", "apple", "b"]


def test_vocabulary_edges():
    assert build_vocabulary([]) == [UNK]
    assert build_vocabulary([[], []], size=3) == [UNK]
    assert build_vocabulary([["Hermione"]]) == [UNK, "Hermione"]  # one-word corpus
    assert build_vocabulary(SMALL, size=1) == [UNK]
    assert build_vocabulary([[UNK, UNK, UNK, "x"]]) == [UNK, "x"]  # <UNK> is never counted or repeated


def test_vocabulary_default_size_is_10000_entries():
    words = [f"w{k:05d}" for k in range(12_000)]
    vocab = build_vocabulary([words])  # every word once: all tied, so alphabetical
    assert len(vocab) == 10_000 and vocab[0] == UNK
    assert vocab[1:] == words[:9_999]


def test_vocabulary_does_not_depend_on_the_order_of_the_corpus():
    rng = np.random.default_rng(0)
    tokens = list(rng.choice(["a", "b", "c", "D", "e", "f"], size=60))
    base = build_vocabulary([tokens], size=4)
    for _ in range(10):
        shuffled = list(rng.permutation(tokens))
        cut = int(rng.integers(0, 60))
        assert build_vocabulary([shuffled[:cut], shuffled[cut:]], size=4) == base


def test_vocabulary_invariants_on_random_corpora():
    rng = np.random.default_rng(1)
    for _ in range(50):
        tokens = [str(w) for w in rng.choice(list("abcdeABC") + ["xy", UNK], size=int(rng.integers(0, 40)))]
        size = int(rng.integers(1, 12))
        vocab = build_vocabulary([tokens], size=size)
        counts = {w: tokens.count(w) for w in set(tokens) if w != UNK}
        assert vocab[0] == UNK and len(set(vocab)) == len(vocab) == min(size, len(counts) + 1)
        rest = vocab[1:]
        # ranked by count, then alphabetically, and nothing left out ranks above the last one kept
        assert all((-counts[a], a) < (-counts[b], b) for a, b in zip(rest, rest[1:]))
        left_out = set(counts) - set(rest)
        if rest and left_out:
            assert all((-counts[w], w) > (-counts[rest[-1]], rest[-1]) for w in left_out)


def test_word_to_index_and_back():
    vocab = [UNK, "cat", "sat", "the"]
    index = word_to_index(vocab)
    assert index == {UNK: 0, "cat": 1, "sat": 2, "the": 3}
    assert encode(["the", "cat", "sat"], index) == [3, 1, 2]
    assert encode(["the", "dragon", "sat", "Cat"], index) == [3, 0, 2, 0]
    assert encode([], index) == [] and encode(["dragon"], index) == [0]
    assert decode([3, 0, 2], vocab) == ["the", UNK, "sat"]
    assert decode([], vocab) == []


def test_encode_uses_the_index_of_unk_wherever_it_is():
    index = {"a": 0, UNK: 1}
    assert encode(["a", "b", UNK], index) == [0, 1, 1]


def test_round_trip_keeps_known_words_and_replaces_the_rest():
    rng = np.random.default_rng(2)
    corpus = [[str(w) for w in rng.choice(list("abcdefgh"), size=8)] for _ in range(20)]
    vocab = build_vocabulary(corpus, size=5)
    index = word_to_index(vocab)
    for tokens in corpus:
        back = decode(encode(tokens, index), vocab)
        assert back == [t if t in vocab else UNK for t in tokens]


def test_one_hot_by_hand():
    assert one_hot(2, 4).tolist() == [[0.0], [0.0], [1.0], [0.0]]
    assert one_hot(0, 1).tolist() == [[1.0]]
    x = one_hot(9_999, 10_000)
    assert x.shape == (10_000, 1) and x.dtype == float and x.sum() == 1.0 and x[9_999, 0] == 1.0


@pytest.mark.parametrize("index,V", [(-1, 4), (4, 4), (1, 1), (-4, 4)])
def test_one_hot_refuses_indices_outside_the_vocabulary(index, V):
    with pytest.raises(IndexError, match="0 to V - 1"):
        one_hot(index, V)


def test_one_hot_sentence_by_hand():
    X = one_hot_sentence([3, 1, 1], 4)
    assert X.tolist() == [[0, 0, 0], [0, 1, 1], [0, 0, 0], [1, 0, 0]]
    assert one_hot_sentence([], 4).shape == (4, 0)
    assert one_hot_sentence([2], 3).tolist() == [[0.0], [0.0], [1.0]]


def test_one_hot_sentence_inverts_to_the_indices():
    rng = np.random.default_rng(3)
    for _ in range(20):
        V = int(rng.integers(1, 30))
        indices = [int(k) for k in rng.integers(0, V, size=int(rng.integers(0, 10)))]
        X = one_hot_sentence(indices, V)
        assert X.shape == (V, len(indices))
        assert np.all(X.sum(axis=0) == 1) and set(np.unique(X)) <= {0.0, 1.0}
        assert X.argmax(axis=0).tolist() == indices


def test_one_hot_batch_by_hand():
    x = one_hot_batch([[3, 1], [2], [0, 0, 2]], 4)
    assert x.shape == (4, 3, 3)
    assert x[:, 0, :].tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]]
    assert x[:, 1, :].tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]]
    assert x[:, 2, :].tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]]


def test_one_hot_batch_edges():
    assert one_hot_batch([[1, 2]], 3).shape == (3, 1, 2)  # m = 1
    x = one_hot_batch([[2], [0]], 3)  # T_max = 1
    assert x.shape == (3, 2, 1) and x[:, :, 0].tolist() == [[0, 1], [0, 0], [1, 0]]
    x = one_hot_batch([[], [1]], 2)  # an empty sentence is all padding
    assert x.tolist() == [[[0.0], [0.0]], [[0.0], [1.0]]]


def test_one_hot_batch_padding_is_zero_and_matches_the_lengths():
    rng = np.random.default_rng(4)
    for _ in range(20):
        V = int(rng.integers(2, 15))
        batch = [[int(k) for k in rng.integers(0, V, size=int(rng.integers(0, 6)))] for _ in range(int(rng.integers(1, 5)))]
        if not any(batch):
            continue
        x = one_hot_batch(batch, V)
        ones = x.sum(axis=0)  # (m, T_max): 1 for a word, 0 for padding
        for i, s in enumerate(batch):
            assert ones[i].tolist() == [1.0] * len(s) + [0.0] * (x.shape[2] - len(s))
            if s:
                assert np.array_equal(x[:, i, : len(s)], one_hot_sentence(s, V))


def test_a_one_hot_product_is_a_column_lookup():
    # the fact the chapter measures: W_ax @ one_hot(k) == W_ax[:, k], exactly
    rng = np.random.default_rng(5)
    Wax = rng.standard_normal((7, 50))
    for k in (0, 13, 49):
        assert np.array_equal(Wax @ one_hot(k, 50), Wax[:, [k]])
    x = one_hot_batch([[3, 4, 5], [9]], 50)
    for i, t in itertools.product(range(2), range(3)):
        col = Wax @ x[:, i, t]
        assert np.array_equal(col, Wax[:, [3, 4, 5][t]] if i == 0 else (Wax[:, 9] if t == 0 else np.zeros(7)))
