"""The chapter 4 reference, checked independently: numbers computed by hand, and
invariants that any correct RNN forward pass satisfies."""
import copy

import numpy as np
import pytest

from solutions.ch04 import rnn_cell_forward, rnn_forward, softmax

# The worked example of the chapter, computed by hand (see the chapter's prose).
WAA = np.array([[0.5, -0.4], [0.3, 0.2]])
WAX = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]])
BA = np.array([[0.1], [-0.2]])
WYA = np.array([[1.0, -1.0], [0.5, 0.5], [-1.0, 2.0]])
BY = np.array([[0.0], [0.1], [-0.1]])
P = {"Waa": WAA, "Wax": WAX, "ba": BA, "Wya": WYA, "by": BY}


def random_params(rng, n_x, n_a, n_y):
    return {"Waa": rng.standard_normal((n_a, n_a)), "Wax": rng.standard_normal((n_a, n_x)),
            "Wya": rng.standard_normal((n_y, n_a)), "ba": rng.standard_normal((n_a, 1)),
            "by": rng.standard_normal((n_y, 1))}


def test_softmax_by_hand():
    # two classes: softmax(0, ln 3) = (1/4, 3/4)
    s = softmax(np.array([[0.0], [np.log(3.0)]]))
    assert np.allclose(s, [[0.25], [0.75]])
    # equal scores share equally; columns are independent
    s = softmax(np.array([[1.0, 0.0], [1.0, 0.0], [1.0, np.log(2.0)]]))
    assert np.allclose(s[:, 0], 1 / 3) and np.allclose(s[:, 1], [0.25, 0.25, 0.5])


def test_softmax_columns_sum_to_one_and_no_overflow():
    z = np.array([[1000.0, -1000.0, 0.0], [999.0, -1001.0, 1e-3], [1001.0, -999.0, 2.0]])
    with np.errstate(all="raise"):  # any overflow would raise here
        s = softmax(z)
    assert np.all(np.isfinite(s)) and np.all(s >= 0)
    assert np.allclose(s.sum(axis=0), 1.0)
    # shift invariance: logits near 1000 give the same result as the same logits minus 1000
    assert np.allclose(s[:, 0], softmax(z[:, :1] - 1000.0).ravel())
    # by hand: (999, 1000, 1001) -> e^-2, e^-1, e^0 normalised
    e = np.exp([-1.0, -2.0, 0.0])
    assert np.allclose(s[:, 0], e / e.sum())


def test_cell_worked_example_by_hand():
    x1 = np.array([[0.0], [1.0], [0.0]])
    a1, y1, cache = rnn_cell_forward(x1, np.zeros((2, 1)), P)
    # W_ax x1 picks column 2 of W_ax: (-1, 2); plus b_a: (-0.9, 1.8)
    assert np.allclose(a1, np.tanh([[-0.9], [1.8]]))
    assert np.allclose(a1, [[-0.71629787], [0.94680601]])
    scores = np.array([1.0 * a1[0, 0] - 1.0 * a1[1, 0], 0.5 * a1[0, 0] + 0.5 * a1[1, 0] + 0.1,
                       -1.0 * a1[0, 0] + 2.0 * a1[1, 0] - 0.1])
    assert np.allclose(y1.ravel(), np.exp(scores) / np.exp(scores).sum())
    assert np.allclose(y1.ravel(), [0.01380195, 0.09030273, 0.89589532])
    assert cache[0] is a1 and cache[2] is x1 and cache[3] is P
    # step 2 uses the state of step 1
    a2, y2, _ = rnn_cell_forward(np.array([[1.0], [0.0], [0.0]]), a1, P)
    assert np.allclose(a2.ravel(), [0.34796686, -0.22178071])
    assert np.allclose(y2.ravel(), [0.52692192, 0.35086372, 0.12221436])


def test_cell_relu_by_hand_and_bad_activation():
    a1, _, _ = rnn_cell_forward(np.array([[0.0], [1.0], [0.0]]), np.zeros((2, 1)), P, activation="relu")
    assert np.allclose(a1, [[0.0], [1.8]])
    with pytest.raises(ValueError, match="activation"):
        rnn_cell_forward(np.zeros((3, 1)), np.zeros((2, 1)), P, activation="sigmoid")


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", [(3, 5, 2, 4, 6), (4, 3, 6, 1, 5), (2, 4, 3, 5, 1)])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_invariants(n_x, n_a, n_y, m, T_x, activation):
    rng = np.random.default_rng(n_x * 100 + T_x)
    p = random_params(rng, n_x, n_a, n_y)
    x = rng.standard_normal((n_x, m, T_x))
    a0 = rng.standard_normal((n_a, m))
    p_before, x_before, a0_before = copy.deepcopy(p), x.copy(), a0.copy()
    a, y_pred, (caches, x_cached) = rnn_forward(x, a0, p, activation)
    assert a.shape == (n_a, m, T_x) and y_pred.shape == (n_y, m, T_x)
    assert len(caches) == T_x and x_cached is x
    # columns of y_pred are probability distributions
    assert np.allclose(y_pred.sum(axis=0), 1.0) and np.all(y_pred > 0)
    # step t equals the cell applied to step t-1 (t = 1 starts from a0)
    prev = a0
    for t in range(T_x):
        a_t, y_t, _ = rnn_cell_forward(x[:, :, t], prev, p, activation)
        assert np.allclose(a[:, :, t], a_t) and np.allclose(y_pred[:, :, t], y_t)
        prev = a[:, :, t]
    # independent recomputation of the recurrence with explicit sums
    g = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0))
    state = a0.copy()
    for t in range(T_x):
        z = np.einsum("ij,jm->im", p["Waa"], state) + np.einsum("ij,jm->im", p["Wax"], x[:, :, t]) + p["ba"]
        state = g(z)
        assert np.allclose(a[:, :, t], state)
    # batch columns are independent: example 0 alone gives the same result
    a_single, y_single, _ = rnn_forward(x[:, :1, :], a0[:, :1], p, activation)
    assert np.allclose(a_single[:, 0, :], a[:, 0, :]) and np.allclose(y_single[:, 0, :], y_pred[:, 0, :])
    # inputs never mutated
    assert np.array_equal(x, x_before) and np.array_equal(a0, a0_before)
    assert all(np.array_equal(p[k], p_before[k]) for k in p)


def test_single_step_equals_one_cell():
    rng = np.random.default_rng(5)
    p = random_params(rng, 3, 4, 2)
    x = rng.standard_normal((3, 2, 1))
    a0 = rng.standard_normal((4, 2))
    a, y_pred, _ = rnn_forward(x, a0, p)
    a1, y1, _ = rnn_cell_forward(x[:, :, 0], a0, p)
    assert np.array_equal(a[:, :, 0], a1) and np.array_equal(y_pred[:, :, 0], y1)


def test_parameters_shared_across_time():
    """Every step applies the SAME Waa, Wax, ba, Wya, by: the forward pass equals the
    recurrence written out with one set of parameters (plain numpy, step by step), and
    changing a parameter changes the output of every step, not of one step only."""
    rng = np.random.default_rng(6)
    n_x, n_a, n_y, m, T_x = 3, 4, 2, 2, 5
    p = random_params(rng, n_x, n_a, n_y)
    x = rng.standard_normal((n_x, m, T_x))
    a0 = rng.standard_normal((n_a, m))
    a, y_pred, _ = rnn_forward(x, a0, p)
    state = a0
    for t in range(T_x):  # 0-based t: the recurrence with one shared set of parameters
        state = np.tanh(p["Waa"] @ state + p["Wax"] @ x[:, :, t] + p["ba"])
        scores = p["Wya"] @ state + p["by"]
        assert np.allclose(a[:, :, t], state), t
        assert np.allclose(y_pred[:, :, t], np.exp(scores) / np.exp(scores).sum(axis=0)), t
    for name in ("Waa", "Wax", "ba"):  # Waa does not touch step 1 (its a<0> term) only if a0 = 0
        changed = dict(p, **{name: p[name] + 0.1})
        a_changed = rnn_forward(x, a0, changed)[0]
        assert all(not np.allclose(a_changed[:, :, t], a[:, :, t]) for t in range(T_x)), name


def test_softmax_does_not_mutate():
    z = np.array([[1000.0, 2.0], [3.0, 4.0]])
    before = z.copy()
    softmax(z)
    assert np.array_equal(z, before)
