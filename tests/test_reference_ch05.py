"""The chapter 5 reference, checked independently: the worked example by hand, block
multiplication written out with explicit sums, and counts of real arrays."""
import copy

import numpy as np
import pytest

from solutions import ch04
from solutions.ch05 import parameter_count, rnn_cell_forward_compact, stack_state_input, stack_weights, unstack_weights

WAA = np.array([[0.5, -0.4], [0.3, 0.2]])
WAX = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -0.5]])
BA = np.array([[0.1], [-0.2]])
WYA = np.array([[1.0, -1.0], [0.5, 0.5], [-1.0, 2.0]])
BY = np.array([[0.0], [0.1], [-0.1]])


def test_stack_weights_by_hand():
    Wa = stack_weights(WAA, WAX)
    assert Wa.shape == (2, 5)
    assert np.array_equal(Wa, [[0.5, -0.4, 1.0, -1.0, 0.5], [0.3, 0.2, 0.0, 2.0, -0.5]])


def test_lecture_sizes():
    Wa = stack_weights(np.zeros((100, 100)), np.ones((100, 10_000)))
    assert Wa.shape == (100, 10_100)
    assert Wa[:, :100].sum() == 0 and Wa[:, 100:].sum() == 1_000_000
    stacked = stack_state_input(np.zeros((100, 1)), np.ones((10_000, 1)))
    assert stacked.shape == (10_100, 1)
    assert (Wa @ stacked).shape == (100, 1)


@pytest.mark.parametrize("n_a,n_x", [(2, 3), (4, 1), (1, 6), (5, 5)])
def test_unstack_inverts_stack(n_a, n_x):
    rng = np.random.default_rng(n_a * 10 + n_x)
    Waa, Wax = rng.standard_normal((n_a, n_a)), rng.standard_normal((n_a, n_x))
    Wa = stack_weights(Waa, Wax)
    back_aa, back_ax = unstack_weights(Wa)
    assert np.array_equal(back_aa, Waa) and np.array_equal(back_ax, Wax)
    # and the other way round, entry by entry
    for i in range(n_a):
        for j in range(n_a + n_x):
            assert Wa[i, j] == (Waa[i, j] if j < n_a else Wax[i, j - n_a])
    # the blocks are new arrays: changing them leaves Wa alone
    back_aa[0, 0] += 1.0
    assert Wa[0, 0] == Waa[0, 0]


def test_stack_state_input_by_hand():
    a_prev = np.array([[1.0, 2.0, 3.0]])
    xt = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    assert np.array_equal(stack_state_input(a_prev, xt), [[1, 2, 3], [10, 20, 30], [40, 50, 60]])


@pytest.mark.parametrize("n_a,n_x,m", [(3, 5, 4), (2, 7, 1), (6, 2, 3)])
def test_block_multiplication_with_explicit_sums(n_a, n_x, m):
    rng = np.random.default_rng(n_a + 10 * n_x + 100 * m)
    Waa, Wax = rng.standard_normal((n_a, n_a)), rng.standard_normal((n_a, n_x))
    a_prev, xt = rng.standard_normal((n_a, m)), rng.standard_normal((n_x, m))
    product = stack_weights(Waa, Wax) @ stack_state_input(a_prev, xt)
    for i in range(n_a):
        for j in range(m):
            by_hand = sum(Waa[i, k] * a_prev[k, j] for k in range(n_a)) + sum(Wax[i, k] * xt[k, j] for k in range(n_x))
            assert np.isclose(product[i, j], by_hand)


def test_compact_cell_worked_example_by_hand():
    p = {"Wa": stack_weights(WAA, WAX), "ba": BA, "Wy": WYA, "by": BY}
    a1 = np.array([[-0.71629787], [0.94680601]])  # step 1 of chapter 4's example
    x2 = np.array([[1.0], [0.0], [0.0]])
    a2, y2, cache = rnn_cell_forward_compact(x2, a1, p)
    # row 1: 0.5*(-0.7163) - 0.4*0.9468 + 1 + 0.1 = 0.3631; row 2: 0.3*(-0.7163) + 0.2*0.9468 - 0.2 = -0.2255
    assert np.allclose(a2.ravel(), np.tanh([0.36312866, -0.22552816]))
    assert np.allclose(a2.ravel(), [0.34796686, -0.22178071])
    assert np.allclose(y2.ravel(), [0.52692192, 0.35086372, 0.12221436])
    assert cache[0] is a2 and cache[1] is a1 and cache[2] is x2 and cache[3] is p
    a_relu, _, _ = rnn_cell_forward_compact(x2, a1, p, activation="relu")
    assert np.allclose(a_relu.ravel(), [0.36312866, 0.0])
    with pytest.raises(ValueError, match="activation"):
        rnn_cell_forward_compact(x2, a1, p, activation="identity")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("n_x,n_a,n_y,m", [(3, 5, 2, 4), (4, 3, 6, 1), (1, 2, 3, 2)])
def test_compact_cell_equals_chapter_4_cell(n_x, n_a, n_y, m, activation):
    rng = np.random.default_rng(n_x + 7 * n_a + 31 * m)
    p4 = {"Waa": rng.standard_normal((n_a, n_a)), "Wax": rng.standard_normal((n_a, n_x)),
          "ba": rng.standard_normal((n_a, 1)), "Wya": rng.standard_normal((n_y, n_a)), "by": rng.standard_normal((n_y, 1))}
    p5 = {"Wa": np.hstack([p4["Waa"], p4["Wax"]]), "ba": p4["ba"], "Wy": p4["Wya"], "by": p4["by"]}
    xt, a_prev = rng.standard_normal((n_x, m)), rng.standard_normal((n_a, m))
    before = copy.deepcopy((xt, a_prev, p5))
    a4, y4, _ = ch04.rnn_cell_forward(xt, a_prev, p4, activation)
    a5, y5, _ = rnn_cell_forward_compact(xt, a_prev, p5, activation)
    assert np.allclose(a4, a5) and np.allclose(y4, y5)
    assert np.allclose(y5.sum(axis=0), 1.0)
    # inputs untouched
    assert np.array_equal(xt, before[0]) and np.array_equal(a_prev, before[1])
    assert all(np.array_equal(p5[k], before[2][k]) for k in p5)


def test_parameter_count_by_hand():
    assert parameter_count(3, 2, 3) == 10 + 2 + 6 + 3
    assert parameter_count(10_000, 100, 1) == 1_010_201
    assert parameter_count(10_000, 100, 10_000) == 1_010_100 + 1_010_000
    assert type(parameter_count(np.int64(3), np.int64(2), np.int64(3))) is int


@pytest.mark.parametrize("n_x,n_a,n_y", [(3, 2, 3), (7, 5, 1), (1, 1, 1), (20, 9, 4)])
def test_parameter_count_equals_the_sizes_of_real_arrays(n_x, n_a, n_y):
    arrays = [np.zeros((n_a, n_a + n_x)), np.zeros((n_a, 1)), np.zeros((n_y, n_a)), np.zeros((n_y, 1))]
    assert parameter_count(n_x, n_a, n_y) == sum(a.size for a in arrays)
