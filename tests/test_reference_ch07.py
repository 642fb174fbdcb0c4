"""The chapter 7 reference, checked independently: hand-built networks whose outputs are
known, and agreement with chapter 4's forward pass (which its own tests check)."""
import copy
import pathlib

import nbformat
import numpy as np
import pytest

from autograde import course
from autograde.authoring import synthetic
from solutions import ch04
from solutions.ch07 import (
    ARCHITECTURES,
    TASKS,
    encoder_decoder_forward,
    many_to_one_forward,
    one_to_many_forward,
    rnn_step,
    softmax,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTER = next(c for c in course.chapters() if c.number == 7)


def rnn(rng, n_in, n_a, n_y=None, scale=1.0):
    p = {"Waa": rng.standard_normal((n_a, n_a)) * 0.8 * scale, "Wax": rng.standard_normal((n_a, n_in)) * scale,
         "ba": rng.standard_normal((n_a, 1)) * 0.5}
    if n_y is not None:
        p.update({"Wya": rng.standard_normal((n_y, n_a)) * 2, "by": rng.standard_normal((n_y, 1))})
    return p


def test_rnn_step_by_hand():
    p = {"Waa": np.array([[0.5]]), "Wax": np.array([[2.0]]), "ba": np.array([[0.1]])}
    assert np.isclose(rnn_step(np.array([[0.3]]), np.array([[0.4]]), p).item(), np.tanh(0.9))
    assert rnn_step(np.array([[-1.0]]), np.array([[0.4]]), p, "relu").item() == 0.0


# ---------------------------------------------------------------- many-to-one
def test_many_to_one_by_hand():
    p = {"Waa": np.array([[0.5]]), "Wax": np.array([[1.0]]), "ba": np.array([[0.0]]),
         "Wya": np.array([[2.0], [-2.0]]), "by": np.array([[0.0], [0.0]])}
    y_hat, a_last = many_to_one_forward(np.array([[[1.0, -1.0, 0.5]]]), np.zeros((1, 1)), p)
    a3 = np.tanh(0.5 * np.tanh(0.5 * np.tanh(1.0) - 1.0) + 0.5)
    assert np.isclose(a_last.item(), a3) and np.isclose(a3, 0.2210, atol=1e-4)
    assert np.allclose(y_hat.ravel(), [1 / (1 + np.exp(-4 * a3)), 1 / (1 + np.exp(4 * a3))])
    assert np.allclose(y_hat.ravel(), [0.7077, 0.2923], atol=1e-4)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", [(3, 5, 2, 4, 7), (4, 3, 5, 1, 2), (2, 4, 3, 3, 1)])
def test_many_to_one_is_the_last_step_of_chapter_4(n_x, n_a, n_y, m, T_x, activation):
    rng = np.random.default_rng(n_x + 10 * T_x)
    p = rnn(rng, n_x, n_a, n_y)
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
    before = copy.deepcopy((x, a0, p))
    y_hat, a_last = many_to_one_forward(x, a0, p, activation)
    a, y_pred, _ = ch04.rnn_forward(x, a0, p, activation)
    assert y_hat.shape == (n_y, m) and a_last.shape == (n_a, m)
    assert np.allclose(a_last, a[:, :, -1]) and np.allclose(y_hat, y_pred[:, :, -1])
    assert np.array_equal(x, before[0]) and np.array_equal(a0, before[1])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_many_to_one_on_a_padded_batch_reads_each_sequences_own_last_step(activation):
    """With lengths, example i is summarised by a<T_x^(i)>: what chapter 4's forward pass gives
    on that example alone, cut to its own length (whatever the padding holds)."""
    rng = np.random.default_rng(77)
    n_x, n_a, n_y, T_max = 3, 4, 2, 6
    lengths = [6, 2, 4, 1]
    p = rnn(rng, n_x, n_a, n_y)
    x, a0 = rng.standard_normal((n_x, 4, T_max)) * 3, rng.standard_normal((n_a, 4))  # the padding is junk here
    y_hat, a_last = many_to_one_forward(x, a0, p, activation, lengths)
    for i, T in enumerate(lengths):
        a, y_pred, _ = ch04.rnn_forward(x[:, [i], :T], a0[:, [i]], p, activation)
        assert np.allclose(a_last[:, i], a[:, 0, -1]) and np.allclose(y_hat[:, i], y_pred[:, 0, -1])
    # lengths all equal to T_x change nothing
    full = many_to_one_forward(x, a0, p, activation, [T_max] * 4)
    plain = many_to_one_forward(x, a0, p, activation)
    assert all(np.allclose(f, q) for f, q in zip(full, plain))


def test_one_to_one_is_a_network_with_one_hidden_layer():
    rng = np.random.default_rng(0)
    p = rnn(rng, 3, 4, 2)
    x = rng.standard_normal((3, 5, 1))
    y_hat, _ = many_to_one_forward(x, np.zeros((4, 5)), p)
    hidden = np.tanh(p["Wax"] @ x[:, :, 0] + p["ba"])
    scores = p["Wya"] @ hidden + p["by"]
    assert np.allclose(y_hat, np.exp(scores) / np.exp(scores).sum(axis=0))


# ---------------------------------------------------------------- one-to-many
ARPEGGIO = {"Waa": np.zeros((4, 4)), "Wax": 3.0 * np.eye(4), "ba": np.zeros((4, 1)),
            "Wya": 5.0 * np.roll(np.eye(4), 1, axis=0), "by": np.zeros((4, 1))}


def test_one_to_many_plays_the_hand_built_arpeggio():
    y_hat, indices = one_to_many_forward(np.eye(4)[:, [0, 2]], np.zeros((4, 2)), ARPEGGIO, 6)
    assert indices.tolist() == [[1, 2, 3, 0, 1, 2], [3, 0, 1, 2, 3, 0]]
    assert np.issubdtype(indices.dtype, np.integer) and y_hat.shape == (4, 2, 6)
    # from "no previous note" (zeros) every note is equally likely at first: argmax picks note 0
    _, idx = one_to_many_forward(np.zeros((4, 1)), np.zeros((4, 1)), ARPEGGIO, 3)
    assert idx.tolist() == [[0, 1, 2]]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("n_y,n_a,m,T_y", [(4, 5, 3, 7), (5, 3, 1, 2), (3, 4, 2, 1)])
def test_one_to_many_feeds_each_choice_back(n_y, n_a, m, T_y, activation):
    rng = np.random.default_rng(n_y * 7 + T_y)
    p = rnn(rng, n_y, n_a, n_y, scale=1.5)
    x1, a0 = np.eye(n_y)[:, rng.integers(n_y, size=m)], rng.standard_normal((n_a, m)) * 0.5
    y_hat, indices = one_to_many_forward(x1, a0, p, T_y, activation)
    assert y_hat.shape == (n_y, m, T_y) and indices.shape == (m, T_y)
    assert np.allclose(y_hat.sum(axis=0), 1.0)
    assert np.array_equal(indices, np.argmax(y_hat, axis=0))  # (m, T_y)
    # replay with chapter 4's cell, feeding the recorded choices back by hand
    x_t, a_t = x1, a0
    for t in range(T_y):
        a_t, y_t, _ = ch04.rnn_cell_forward(x_t, a_t, p, activation)
        assert np.allclose(y_hat[:, :, t], y_t)
        x_t = np.zeros((n_y, m))
        x_t[indices[:, t], np.arange(m)] = 1.0


# ---------------------------------------------------------------- encoder-decoder
def test_encoder_decoder_says_the_last_word_it_heard():
    encoder = {"Waa": np.zeros((3, 3)), "Wax": 3.0 * np.eye(3), "ba": np.zeros((3, 1))}
    decoder = {"Waa": 2.0 * np.eye(3), "Wax": np.zeros((3, 3)), "ba": np.zeros((3, 1)),
               "Wya": 5.0 * np.eye(3), "by": np.zeros((3, 1))}
    for words, T_y in [([0, 1, 2, 1], 2), ([2], 5), ([1, 0, 0, 2, 2, 2, 0], 3)]:
        x = np.eye(3)[:, words][:, None, :]
        _, indices = encoder_decoder_forward(x, encoder, decoder, T_y)
        assert indices.tolist() == [[words[-1]] * T_y]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("T_x,T_y", [(5, 3), (2, 7), (1, 4), (4, 4)])
def test_encoder_decoder_is_an_encoder_then_a_generator(T_x, T_y, activation):
    rng = np.random.default_rng(T_x * 10 + T_y)
    n_x, n_a, n_y, m = 6, 5, 4, 3
    enc, dec = rnn(rng, n_x, n_a), rnn(rng, n_y, n_a, n_y, scale=1.5)
    x = rng.standard_normal((n_x, m, T_x))
    y_hat, indices = encoder_decoder_forward(x, enc, dec, T_y, activation)
    assert y_hat.shape == (n_y, m, T_y) and indices.shape == (m, T_y)
    enc4 = dict(enc, Wya=np.zeros((1, n_a)), by=np.zeros((1, 1)))  # chapter 4's forward needs an output layer
    a, _, _ = ch04.rnn_forward(x, np.zeros((n_a, m)), enc4, activation)
    e_y, e_idx = one_to_many_forward(np.zeros((n_y, m)), a[:, :, -1], dec, T_y, activation)
    assert np.allclose(y_hat, e_y) and np.array_equal(indices, e_idx)


def test_encoder_decoder_output_does_not_depend_on_knowing_t_y():
    rng = np.random.default_rng(1)
    enc, dec = rnn(rng, 6, 8), rnn(rng, 5, 8, 5, scale=1.5)
    x = rng.standard_normal((6, 2, 5))
    short, long_ = encoder_decoder_forward(x, enc, dec, 3), encoder_decoder_forward(x, enc, dec, 9)
    assert np.allclose(short[0], long_[0][:, :, :3]) and np.array_equal(short[1], long_[1][:, :3])


# ---------------------------------------------------------------- architectures
# For each task: is x a sequence, is y a sequence, and do they line up element by element?
SHAPES = {
    "named-entity recognition": (True, True, True),
    "sentiment classification": (True, False, False),
    "music generation": (False, True, False),
    "machine translation": (True, True, False),
    "image classification": (False, False, False),
    "video activity recognition": (True, False, False),
    "part-of-speech tagging": (True, True, True),
    "image captioning": (False, True, False),
}


def architecture_from_shape(x_seq, y_seq, aligned):
    if x_seq and y_seq:
        return "many-to-many" if aligned else "encoder-decoder"
    return {(True, False): "many-to-one", (False, True): "one-to-many", (False, False): "one-to-one"}[(x_seq, y_seq)]


def test_architectures_follow_from_the_shapes_of_x_and_y():
    ns = {}
    exec(synthetic.answer(CHAPTER, "architectures"), ns)
    answer = ns["architectures"]
    assert set(answer) == set(TASKS) == set(SHAPES)
    assert set(answer.values()) == set(ARCHITECTURES)  # every architecture is used at least once
    for task, shape in SHAPES.items():
        assert answer[task] == architecture_from_shape(*shape), task


# ---------------------------------------------------------------- the chapter's given code
def test_the_chapters_given_code_matches_the_one_the_checks_use():
    nb = nbformat.read(CHAPTER.path, as_version=4)
    ns = {"np": np}
    for cell in nb.cells:
        if cell.cell_type == "code" and ("def rnn_step(" in cell.source or cell.source.startswith("TASKS = ")):
            exec(cell.source, ns)
    assert tuple(ns["TASKS"]) == TASKS and tuple(ns["ARCHITECTURES"]) == ARCHITECTURES
    rng = np.random.default_rng(2)
    p = rnn(rng, 3, 4)
    xt, a_prev = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    for activation in ("tanh", "relu"):
        assert np.allclose(ns["rnn_step"](xt, a_prev, p, activation), rnn_step(xt, a_prev, p, activation))
    z = np.array([[1000.0, -3.0], [999.0, 0.0]])
    assert np.allclose(ns["softmax"](z), softmax(z))
