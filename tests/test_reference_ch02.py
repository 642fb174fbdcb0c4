"""The chapter 2 reference, checked independently: cases worked out by hand, and
invariants that any correct answer satisfies."""
import ast
import pathlib

import numpy as np
import pytest

from solutions.ch02 import PUNCTUATION, get_step, name_labels, pad_batch, sequence_lengths, tokenize

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_tokenize_by_hand():
    assert tokenize("Harry Potter and Hermione Granger invented a new spell") == \
        ["Harry", "Potter", "and", "Hermione", "Granger", "invented", "a", "new", "spell"]
    assert tokenize("Ron laughed.") == ["Ron", "laughed", "."]
    assert tokenize('"Wait," said Ron (twice).') == ['"', "Wait", ",", '"', "said", "Ron", "(", "twice", ")", "."]
    assert tokenize("What?!") == ["What", "?", "!"]
    assert tokenize("  don't   panic,\tit's\nwell-known  ") == ["don't", "panic", ",", "it's", "well-known"]


@pytest.mark.parametrize("sentence", ["", " ", "\t\n  ", "\u00a0"])
def test_tokenize_blank(sentence):
    assert tokenize(sentence) == []


def test_tokenize_one_word_and_lone_punctuation():
    assert tokenize("Hermione") == ["Hermione"]
    assert tokenize("!") == ["!"]
    assert tokenize("...") == [".", ".", "."]


def test_tokenize_invariants_on_random_text():
    rng = np.random.default_rng(0)
    alphabet = list("abcXYZ'-é0") + list(PUNCTUATION) + [" ", " ", "\t", "\n"]
    for _ in range(200):
        sentence = "".join(rng.choice(alphabet, size=int(rng.integers(0, 30))))
        tokens = tokenize(sentence)
        # nothing is lost but whitespace, and the order is kept
        assert "".join(tokens) == "".join(sentence.split())
        for tok in tokens:
            assert tok and not any(c.isspace() for c in tok)
            # a token is either one punctuation character or a word without punctuation
            assert (len(tok) == 1 and tok in PUNCTUATION) or not any(c in PUNCTUATION for c in tok)


def test_notebook_defines_the_same_punctuation():
    nb = ROOT / "chapters" / "02" / "notation.ipynb"
    import nbformat

    values = []
    for cell in nbformat.read(nb, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PUNCTUATION" for t in node.targets):
                values.append(ast.literal_eval(node.value))
    assert values == [PUNCTUATION]


def test_name_labels_by_hand():
    names = {"Harry", "Potter", "Hermione", "Granger", "Marie", "Curie", "Albert", "Einstein"}
    y = name_labels("Harry Potter and Hermione Granger invented a new spell".split(), names)
    assert y.shape == (1, 9) and np.issubdtype(y.dtype, np.integer)
    assert y.tolist() == [[1, 1, 0, 1, 1, 0, 0, 0, 0]]
    y = name_labels("Yesterday Marie Curie met Albert Einstein in Brussels".split(), names)
    assert y.tolist() == [[0, 1, 1, 0, 1, 1, 0, 0]]
    # whole tokens only, case-sensitive
    assert name_labels(["harry", "Harrys", "Harry", "Ann"], {"Harry", "Anna"}).tolist() == [[0, 0, 1, 0]]


def test_name_labels_edges():
    assert name_labels([], {"Harry"}).shape == (1, 0)
    assert name_labels(["Harry"], {"Harry"}).tolist() == [[1]]
    assert name_labels(["Harry", "Potter"], set()).tolist() == [[0, 0]]
    # the number of ones is the number of name tokens, whatever the order
    rng = np.random.default_rng(1)
    pool = ["Ron", "ron", "and", "Ronald", "."]
    for _ in range(50):
        tokens = list(rng.choice(pool, size=int(rng.integers(0, 10))))
        assert name_labels(tokens, {"Ron"}).sum() == tokens.count("Ron")


def test_get_step_by_hand():
    X = np.arange(24).reshape(2, 3, 4)  # X[f, i - 1, t - 1] = 12 f + 4 (i - 1) + (t - 1)
    assert get_step(X, 1, 1).tolist() == [[0], [12]]
    assert get_step(X, 2, 3).tolist() == [[6], [18]]
    assert get_step(X, 3, 4).tolist() == [[11], [23]]


def test_get_step_matches_the_math_everywhere():
    rng = np.random.default_rng(2)
    n_x, m, T_x = 3, 4, 5
    X = rng.standard_normal((n_x, m, T_x))
    for i in range(1, m + 1):
        for t in range(1, T_x + 1):
            expected = np.array([[X[f, i - 1, t - 1]] for f in range(n_x)])
            assert np.array_equal(get_step(X, i, t), expected)


@pytest.mark.parametrize("i,t", [(1, 0), (0, 1), (4, 1), (1, 6), (-1, 1), (1, -1), (0, 0)])
def test_get_step_out_of_range_raises_with_the_valid_range(i, t):
    X = np.zeros((2, 3, 5))
    with pytest.raises(IndexError, match=r"1 to (m = 3|T_x = 5)"):
        get_step(X, i, t)


def test_get_step_m_1_and_T_1():
    X = np.array([[[7.0]], [[8.0]]])  # n_x = 2, m = 1, T_x = 1
    assert get_step(X, 1, 1).tolist() == [[7.0], [8.0]]
    with pytest.raises(IndexError):
        get_step(X, 1, 2)


def test_sequence_lengths():
    seqs = [np.zeros((5, 2)), np.zeros((5, 0)), np.zeros((5, 1))]
    lengths = sequence_lengths(seqs)
    assert lengths.tolist() == [2, 0, 1] and lengths.shape == (3,) and np.issubdtype(lengths.dtype, np.integer)
    assert sequence_lengths([np.zeros((1, 7))]).tolist() == [7]


def test_pad_batch_by_hand():
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([[7.0], [8.0]])
    X, mask = pad_batch([a, b])
    assert X.shape == (2, 2, 3) and mask.shape == (2, 3)
    assert X[:, 1, :].tolist() == [[7.0, 0.0, 0.0], [8.0, 0.0, 0.0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    X, _ = pad_batch([b, a], pad_value=-1.0)
    assert X[:, 0, :].tolist() == [[7.0, -1.0, -1.0], [8.0, -1.0, -1.0]]


def test_pad_batch_invariants_and_inputs_untouched():
    rng = np.random.default_rng(3)
    for _ in range(30):
        n_x = int(rng.integers(1, 4))
        lengths = [int(v) for v in rng.integers(0, 6, size=int(rng.integers(1, 5)))]
        seqs = [rng.standard_normal((n_x, T)) for T in lengths]
        copies = [s.copy() for s in seqs]
        X, mask = pad_batch(seqs, pad_value=3.5)
        T_max = max(lengths)
        assert X.shape == (n_x, len(seqs), T_max) and mask.shape == (len(seqs), T_max)
        assert mask.sum(axis=1).tolist() == lengths  # the mask counts the real steps
        for i, (s, T) in enumerate(zip(seqs, lengths)):
            assert np.array_equal(X[:, i, :T], s)  # unpadding gives the sequence back
            assert np.all(X[:, i, T:] == 3.5)
            assert np.all(mask[i, :T] == 1.0) and np.all(mask[i, T:] == 0.0)
        assert all(np.array_equal(s, c) for s, c in zip(seqs, copies))


def test_pad_batch_all_empty_and_single():
    X, mask = pad_batch([np.zeros((2, 0)), np.zeros((2, 0))])
    assert X.shape == (2, 2, 0) and mask.shape == (2, 0)
    X, mask = pad_batch([np.array([[4.0]])])  # m = 1, T = 1
    assert X.tolist() == [[[4.0]]] and mask.tolist() == [[1.0]]
