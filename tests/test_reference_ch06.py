"""The chapter 6 reference, checked independently: the chapter's worked examples by hand,
and every gradient against centred finite differences of a loss computed here from
scratch (chapter 4's forward pass, which its own tests check, and explicit sums).

Measured on these cases (float64, eps = 1e-5): relative errors between 1.1e-11 and
7.5e-10 for every parameter, tanh and ReLU, T_x = 1, 2 and 7, m = 1 and m = 3. The chapter
states "around 1e-10, below 1e-7 means correct"; the assertions below hold it to 1e-9.
"""
import copy
import pathlib

import nbformat
import numpy as np
import pytest

from solutions import ch04
from solutions.ch06 import (
    binary_cross_entropy,
    clip_by_global_norm,
    clip_elementwise,
    numerical_gradient,
    relative_error,
    rnn_backward,
    rnn_cell_backward,
    rnn_forward,
    rnn_loss_and_gradients,
    sigmoid,
    softmax_cross_entropy,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
EPS = 1e-5
STATED_BOUND = 1e-9  # the chapter says "around 1e-10"


# ---------------------------------------------------------------- independent tools
def fd_gradient(f, theta, eps=EPS):
    """Centred differences, written here on their own (not the reference's numerical_gradient)."""
    flat = theta.astype(float).ravel()
    grad = np.empty_like(flat)
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up.reshape(theta.shape)) - f(down.reshape(theta.shape))) / (2 * eps)
    return grad.reshape(theta.shape)


def rel(a, b):
    return float(np.sqrt(np.sum((a - b) ** 2)) / (np.sqrt(np.sum(a ** 2)) + np.sqrt(np.sum(b ** 2)) + 1e-300))


def loss_from_scratch(x, y, a0, p, activation, mask=None):
    """J = -(1/m) sum_i sum_t mask[i, t] [y log yhat + (1-y) log(1-yhat)], with explicit loops over i and t."""
    a, _, _ = ch04.rnn_forward(x, a0, p, activation)
    n_y, m, T_x = y.shape
    total = 0.0
    for i in range(m):
        for t in range(T_x):
            if mask is not None and mask[i, t] == 0:
                continue  # a padded step costs nothing
            z = p["Wya"] @ a[:, i, t] + p["by"][:, 0]
            yhat = 1.0 / (1.0 + np.exp(-z))
            total += -np.sum(y[:, i, t] * np.log(yhat) + (1 - y[:, i, t]) * np.log(1 - yhat))
    return total / m


def random_problem(seed, n_x, n_a, n_y, m, T_x):
    rng = np.random.default_rng(seed)
    p = {"Waa": rng.standard_normal((n_a, n_a)) * 0.7, "Wax": rng.standard_normal((n_a, n_x)),
         "ba": rng.standard_normal((n_a, 1)) * 0.5, "Wya": rng.standard_normal((n_y, n_a)),
         "by": rng.standard_normal((n_y, 1))}
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m)) * 0.5
    y = (rng.random((n_y, m, T_x)) < 0.5).astype(float)
    return x, y, a0, p


ONE = {"Waa": np.array([[0.5]]), "Wax": np.array([[2.0]]), "ba": np.array([[0.0]]),
       "Wya": np.array([[1.0]]), "by": np.array([[0.0]])}


# ---------------------------------------------------------------- the chapter's worked examples
def test_loss_worked_example_by_hand():
    J = binary_cross_entropy(np.array([[[0.9, 0.6, 0.2]]]), np.array([[[1.0, 1.0, 0.0]]]))
    assert isinstance(J, float)
    assert np.isclose(J, -np.log(0.9) - np.log(0.6) - np.log(0.8))
    assert np.isclose(J, 0.8393, atol=1e-4)
    # a batch of two: summed over time, averaged over the two sentences
    J2 = binary_cross_entropy(np.array([[[0.9, 0.6, 0.2], [0.5, 0.5, 0.5]]]), np.array([[[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]]))
    assert np.isclose(J2, (0.8393296907 + 3 * np.log(2)) / 2)
    # several outputs per step are summed too
    J3 = binary_cross_entropy(np.full((2, 1, 1), 0.5), np.array([[[1.0]], [[0.0]]]))
    assert np.isclose(J3, 2 * np.log(2))


def test_cell_backward_worked_example_by_hand():
    a_next = np.tanh(np.array([[0.8]]))  # z = 0.5 * 0.4 + 2 * 0.3
    g = rnn_cell_backward(np.array([[1.0]]), (a_next, np.array([[0.4]]), np.array([[0.3]]), ONE))
    dz = 1 - np.tanh(0.8) ** 2  # 0.5591
    assert np.isclose(dz, 0.559055, atol=1e-6)
    assert np.allclose(g["dxt"], 2 * dz) and np.allclose(g["da_prev"], 0.5 * dz)
    assert np.allclose(g["dWax"], 0.3 * dz) and np.allclose(g["dWaa"], 0.4 * dz) and np.allclose(g["dba"], dz)
    relu = rnn_cell_backward(np.array([[1.0]]), (np.array([[0.8]]), np.array([[0.4]]), np.array([[0.3]]), ONE), "relu")
    assert np.allclose(relu["dba"], 1.0) and np.allclose(relu["dWaa"], 0.4)
    dead = rnn_cell_backward(np.array([[1.0]]), (np.array([[0.0]]), np.array([[0.4]]), np.array([[0.3]]), ONE), "relu")
    assert all(np.allclose(v, 0.0) for v in dead.values())
    with pytest.raises(ValueError, match="activation"):
        rnn_cell_backward(np.array([[1.0]]), (a_next, np.array([[0.4]]), np.array([[0.3]]), ONE), "identity")


def test_bptt_worked_example_by_hand():
    _, _, caches = rnn_forward(np.array([[[0.3, -0.1]]]), np.array([[0.4]]), ONE)
    g = rnn_backward(np.array([[[0.2, 1.0]]]), caches)
    a1 = np.tanh(0.8)
    a2 = np.tanh(0.5 * a1 - 0.2)
    dz2 = 1.0 * (1 - a2 ** 2)
    dz1 = (0.2 + 0.5 * dz2) * (1 - a1 ** 2)  # output gradient plus the next step's
    assert np.isclose(g["dWaa"].item(), dz2 * a1 + dz1 * 0.4)
    assert np.isclose(g["dWax"].item(), dz2 * -0.1 + dz1 * 0.3)
    assert np.isclose(g["dba"].item(), dz2 + dz1)
    assert np.isclose(g["da0"].item(), 0.5 * dz1)
    assert np.allclose(g["dx"].ravel(), [2 * dz1, 2 * dz2])
    # the numbers printed in the chapter
    assert np.allclose([g["dWaa"].item(), g["dWax"].item(), g["dba"].item(), g["da0"].item()],
                       [0.8072, 0.0177, 1.3693, 0.1933], atol=1e-4)


def test_full_backward_worked_example_by_hand():
    p = {"Waa": np.array([[0.7]]), "Wax": np.array([[1.0]]), "ba": np.array([[0.0]]),
         "Wya": np.array([[2.0]]), "by": np.array([[0.0]])}
    loss, g = rnn_loss_and_gradients(np.array([[[0.5]]]), np.array([[[1.0]]]), np.zeros((1, 1)), p)
    a = np.tanh(0.5)
    yhat = 1 / (1 + np.exp(-2 * a))
    assert np.isclose(loss, -np.log(yhat)) and np.isclose(loss, 0.3342, atol=1e-4)
    dzy = yhat - 1
    assert np.isclose(g["dby"].item(), dzy) and np.isclose(g["dWya"].item(), dzy * a)
    dz = 2 * dzy * (1 - a ** 2)
    assert np.isclose(g["dba"].item(), dz) and np.isclose(g["dWax"].item(), 0.5 * dz) and g["dWaa"].item() == 0.0
    assert set(g) == {"dWaa", "dWax", "dba", "dWya", "dby"}


# ---------------------------------------------------------------- finite differences on every gradient
GRAD_CASES = [(a, T, m) for a in ("tanh", "relu") for T in (1, 2, 7) for m in (1, 3)]


@pytest.mark.parametrize("activation,T_x,m", GRAD_CASES)
def test_every_parameter_gradient_against_finite_differences(activation, T_x, m):
    x, y, a0, p = random_problem(100 * T_x + m, n_x=3, n_a=4, n_y=2, m=m, T_x=T_x)
    loss, grads = rnn_loss_and_gradients(x, y, a0, p, activation)
    assert np.isclose(loss, loss_from_scratch(x, y, a0, p, activation))
    for name in ("Waa", "Wax", "ba", "Wya", "by"):
        numeric = fd_gradient(lambda v, name=name: loss_from_scratch(x, y, a0, dict(p, **{name: v}), activation), p[name])
        error = rel(grads["d" + name], numeric)
        assert grads["d" + name].shape == p[name].shape
        assert error < STATED_BOUND, f"d{name}: relative error {error:.1e} ({activation}, T_x={T_x}, m={m})"


@pytest.mark.parametrize("activation,T_x,m", GRAD_CASES)
def test_bptt_input_and_initial_state_gradients_against_finite_differences(activation, T_x, m):
    x, _, a0, p = random_problem(7 + 10 * T_x + m, n_x=3, n_a=4, n_y=1, m=m, T_x=T_x)
    da = np.random.default_rng(T_x).standard_normal((4, m, T_x))

    def surrogate(x_, a0_, q):  # a loss whose gradient with respect to each a<t> is da[:, :, t]
        return float(np.sum(da * ch04.rnn_forward(x_, a0_, q, activation)[0]))

    _, _, caches = rnn_forward(x, a0, p, activation)
    g = rnn_backward(da, caches, activation)
    assert rel(g["dx"], fd_gradient(lambda v: surrogate(v, a0, p), x)) < STATED_BOUND
    assert rel(g["da0"], fd_gradient(lambda v: surrogate(x, v, p), a0)) < STATED_BOUND
    for name in ("Waa", "Wax", "ba"):
        numeric = fd_gradient(lambda v, name=name: surrogate(x, a0, dict(p, **{name: v})), p[name])
        assert rel(g["d" + name], numeric) < STATED_BOUND, name


def test_one_step_equals_one_cell_and_batch_columns_add_up():
    x, _, a0, p = random_problem(3, n_x=3, n_a=4, n_y=1, m=3, T_x=1)
    _, _, caches = rnn_forward(x, a0, p)
    da = np.random.default_rng(0).standard_normal((4, 3, 1))
    whole = rnn_backward(da, caches)
    cell = rnn_cell_backward(da[:, :, 0], caches[0][0])
    assert np.allclose(whole["dWaa"], cell["dWaa"]) and np.allclose(whole["da0"], cell["da_prev"])
    # each example contributes its own share to the parameter gradients
    shares = [rnn_backward(da[:, [j]], rnn_forward(x[:, [j]], a0[:, [j]], p)[2]) for j in range(3)]
    for name in ("dWaa", "dWax", "dba"):
        assert np.allclose(whole[name], sum(s[name] for s in shares))


def test_backward_does_not_mutate():
    x, y, a0, p = random_problem(11, n_x=3, n_a=4, n_y=1, m=2, T_x=3)
    before = copy.deepcopy((x, y, a0, p))
    rnn_loss_and_gradients(x, y, a0, p)
    assert np.array_equal(x, before[0]) and np.array_equal(y, before[1]) and np.array_equal(a0, before[2])
    assert all(np.array_equal(p[k], before[3][k]) for k in p)


# ---------------------------------------------------------------- numerical gradient and relative error
def test_numerical_gradient_on_known_functions():
    theta = np.array([1.0, 2.0])
    g = numerical_gradient(lambda t: t[0] ** 2 + 3 * t[0] * t[1], theta, eps=1e-3)
    assert np.allclose(g, [8.0, 3.0], atol=1e-9)  # centred differences are exact for quadratics
    assert np.array_equal(theta, [1.0, 2.0])
    theta = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
    assert np.allclose(numerical_gradient(lambda t: np.sum(np.sin(t)), theta), np.cos(theta), atol=1e-9)
    # the error of a centred difference shrinks like eps**2: cubic, eps = 1e-2 -> error eps**2 = 1e-4
    g = numerical_gradient(lambda t: float(t[0] ** 3), np.array([1.0]), eps=1e-2)
    assert np.isclose(g[0] - 3.0, 1e-4)
    # integer points are nudged as floats
    assert np.allclose(numerical_gradient(lambda t: float(np.sum(t ** 2)), np.array([1, 2])), [2.0, 4.0])


def test_relative_error_by_hand():
    assert relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.0])) == 0.0
    assert np.isclose(relative_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])), np.sqrt(2) / 2)
    assert np.isclose(relative_error(np.array([[2.0, 0.0]]), np.array([[1.0, 0.0]])), 1 / 3)
    assert relative_error(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0
    # scale-free: the same relative disagreement at any size
    a, b = np.array([1.0, 2.0]), np.array([1.1, 2.0])
    assert np.isclose(relative_error(a, b), relative_error(1e-8 * a, 1e-8 * b))


# ---------------------------------------------------------------- clipping
def test_clip_elementwise_by_hand():
    grads = {"dWaa": np.array([[-3.0, 0.5], [2.0, -0.2]]), "dba": np.array([[10.0], [-1.0]])}
    before = copy.deepcopy(grads)
    out = clip_elementwise(grads, 1.0)
    assert np.array_equal(out["dWaa"], [[-1.0, 0.5], [1.0, -0.2]]) and np.array_equal(out["dba"], [[1.0], [-1.0]])
    assert all(np.array_equal(grads[k], before[k]) for k in grads)
    assert all(out[k] is not grads[k] for k in grads)


def test_clip_by_global_norm_by_hand():
    grads = {"dWaa": np.array([[3.0]]), "dba": np.array([[4.0]])}  # global norm 5
    out = clip_by_global_norm(grads, 1.0)
    assert np.allclose(out["dWaa"], 0.6) and np.allclose(out["dba"], 0.8)
    assert grads["dWaa"].item() == 3.0 and grads["dba"].item() == 4.0
    same = clip_by_global_norm(grads, 10.0)
    assert np.array_equal(same["dWaa"], [[3.0]]) and np.array_equal(same["dba"], [[4.0]])
    assert same["dWaa"] is not grads["dWaa"]
    assert np.allclose(clip_by_global_norm(grads, 5.0)["dba"], 4.0)  # exactly at the limit: unchanged


def test_clip_by_global_norm_keeps_direction_and_sets_the_norm():
    rng = np.random.default_rng(0)
    grads = {"dWaa": rng.standard_normal((4, 4)) * 9, "dWax": rng.standard_normal((4, 3)) * 9, "dby": rng.standard_normal((1, 1))}
    out = clip_by_global_norm(grads, 2.0)
    flat_in = np.concatenate([g.ravel() for g in grads.values()])
    flat_out = np.concatenate([out[k].ravel() for k in grads])
    assert np.isclose(np.linalg.norm(flat_out), 2.0)
    assert np.isclose(flat_in @ flat_out, np.linalg.norm(flat_in) * np.linalg.norm(flat_out))  # parallel


# ---------------------------------------------------------------- the given forward pass
def test_sigmoid_and_forward_of_the_reference():
    z = np.array([-1000.0, -2.0, 0.0, 3.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is fine
        s = sigmoid(z)
    assert np.allclose(s, [0.0, 1 / (1 + np.exp(2.0)), 0.5, 1 / (1 + np.exp(-3.0)), 1.0])
    x, _, a0, p = random_problem(5, n_x=3, n_a=4, n_y=2, m=2, T_x=3)
    a, y_hat, caches = rnn_forward(x, a0, p)
    a4, _, caches4 = ch04.rnn_forward(x, a0, p)
    assert np.allclose(a, a4) and len(caches[0]) == 3 and caches[1] is x
    for t in range(3):
        assert np.allclose(y_hat[:, :, t], 1 / (1 + np.exp(-(p["Wya"] @ a[:, :, t] + p["by"]))))


def test_the_chapters_given_forward_pass_matches_the_one_the_checks_use():
    """The hidden checks run the learner's code with solutions.ch06.rnn_forward and sigmoid in
    place of the chapter's given ones: they must agree."""
    nb = nbformat.read(ROOT / "chapters" / "06" / "bptt.ipynb", as_version=4)
    given = next(c.source for c in nb.cells if c.cell_type == "code" and "def rnn_forward(" in c.source)
    ns = {"np": np}
    exec(given, ns)
    for activation in ("tanh", "relu"):
        x, _, a0, p = random_problem(9, n_x=3, n_a=4, n_y=2, m=2, T_x=4)
        a, y_hat, (cache_list, x_cached) = ns["rnn_forward"](x, a0, p, activation)
        ea, ey, (ecaches, _) = rnn_forward(x, a0, p, activation)
        assert np.allclose(a, ea) and np.allclose(y_hat, ey) and x_cached is x
        for got, expected in zip(cache_list, ecaches):
            assert all(np.allclose(g, e) for g, e in zip(got[:3], expected[:3])) and got[3] is p
    z = np.linspace(-50, 50, 101)
    assert np.allclose(ns["sigmoid"](z), sigmoid(z), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- padding, safe logs, a softmax output
def test_masked_loss_by_hand_and_padding_costs_nothing():
    y_hat = np.array([[[0.9, 0.6, 0.2], [0.5, 0.5, 0.5]]])
    y = np.array([[[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]])
    assert np.isclose(binary_cross_entropy(y_hat, y), (0.8393 + 3 * np.log(2)) / 2, atol=1e-4)
    mask = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    assert np.isclose(binary_cross_entropy(y_hat, y, mask), (0.8393 + 2 * np.log(2)) / 2, atol=1e-4)  # 1.1128
    # whatever the padded steps predict or are labelled, the masked loss does not move
    junk = y_hat.copy()
    junk[0, 1, 2] = 0.999
    assert binary_cross_entropy(junk, 1 - y, mask) != binary_cross_entropy(y_hat, y, mask)  # real steps changed labels
    assert np.isclose(binary_cross_entropy(junk, y, mask), binary_cross_entropy(y_hat, y, mask))


def test_saturated_predictions_cost_a_large_finite_loss():
    assert sigmoid(np.array(40.0)) == 1.0  # the reason: float64 cannot hold 1 - 4e-18
    with np.errstate(all="raise"):
        J = binary_cross_entropy(np.array([[[1.0, 0.0]]]), np.array([[[0.0, 1.0]]]))
    assert np.isclose(J, -2 * np.log(1e-12))  # 55.262
    # and a prediction inside the clip range is not changed by it
    assert np.isclose(binary_cross_entropy(np.array([[[1 - 1e-9]]]), np.array([[[1.0]]])), -np.log(1 - 1e-9))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_masked_gradients_against_finite_differences_and_against_the_sentences_alone(activation):
    x, y, a0, p = random_problem(11, n_x=3, n_a=4, n_y=2, m=3, T_x=5)
    mask = (np.arange(5) < np.array([5, 3, 1])[:, None]).astype(float)
    loss, grads = rnn_loss_and_gradients(x, y, a0, p, activation, mask)
    assert np.isclose(loss, loss_from_scratch(x, y, a0, p, activation, mask))
    for name in p:
        numeric = fd_gradient(lambda v, name=name: loss_from_scratch(x, y, a0, dict(p, **{name: v}), activation, mask), p[name])
        assert rel(grads["d" + name], numeric) < STATED_BOUND, name
    # the padded batch = the mean of its sentences, each cut to its own length and taken alone
    alone = [rnn_loss_and_gradients(x[:, [i], :T], y[:, [i], :T], a0[:, [i]], p, activation) for i, T in enumerate([5, 3, 1])]
    assert np.isclose(loss, np.mean([loss_i for loss_i, _ in alone]))
    for name in p:
        assert np.allclose(grads["d" + name], np.mean([g["d" + name] for _, g in alone], axis=0))


def test_softmax_cross_entropy_by_hand():
    # one example, scores (0, log 2, log 3): softmax (1, 2, 3) / 6; the true class is the third
    scores = np.array([[0.0], [np.log(2.0)], [np.log(3.0)]])
    y = np.array([[0.0], [0.0], [1.0]])
    loss, d = softmax_cross_entropy(scores, y)
    assert isinstance(loss, float) and np.isclose(loss, -np.log(0.5))
    assert np.allclose(d, [[1 / 6], [2 / 6], [3 / 6 - 1]])
    # the chapter's worked example (m = 4): loss 0.4281 and its first column
    scores = np.array([[2.0, -1.0, 0.5, 0.0], [1.0, 0.0, 0.5, 3.0], [-1.0, 2.0, 0.5, 0.0]])
    y = np.eye(3)[:, [0, 2, 1, 1]]
    loss, d = softmax_cross_entropy(scores, y)
    e = np.exp(scores[:, 0])
    assert np.isclose(loss, 0.4281, atol=1e-4)
    assert np.allclose(d[:, 0], (e / e.sum() - [1, 0, 0]) / 4)
    # a column of equal scores: probability 1/3 each, whatever their size
    with np.errstate(all="raise"):
        loss, d = softmax_cross_entropy(np.full((3, 1), 1000.0), np.array([[1.0], [0.0], [0.0]]))
    assert np.isclose(loss, np.log(3)) and np.allclose(d, [[1 / 3 - 1], [1 / 3], [1 / 3]])


def test_softmax_cross_entropy_gradient_against_finite_differences_on_a_sequence_batch():
    rng = np.random.default_rng(12)
    scores = rng.standard_normal((4, 3, 5)) * 2
    y = np.moveaxis(np.eye(4)[rng.integers(4, size=(3, 5))], -1, 0)

    def loss_of(s):  # written out here: -(1/m) sum y log(e^s / sum e^s)
        return -np.sum(y * (s - np.log(np.exp(s).sum(axis=0)))) / s.shape[1]

    loss, d = softmax_cross_entropy(scores, y)
    assert np.isclose(loss, loss_of(scores))
    assert rel(d, fd_gradient(loss_of, scores)) < STATED_BOUND
    # with two classes it is the sigmoid's gradient: softmax((z, 0)) = (sigmoid(z), 1 - sigmoid(z))
    z = rng.standard_normal((1, 6))
    labels = (rng.random((1, 6)) < 0.5).astype(float)
    _, d2 = softmax_cross_entropy(np.vstack([z, np.zeros_like(z)]), np.vstack([labels, 1 - labels]))
    assert np.allclose(d2[0], (1 / (1 + np.exp(-z[0])) - labels[0]) / 6)
