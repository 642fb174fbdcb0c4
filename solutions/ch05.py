"""Chapter 5, the simplified notation: reference solutions.

Dimension letters, used in every docstring below:
    n_x  size of one input vector x<t>
    n_a  size of the hidden state a<t>
    n_y  size of one output vector yhat<t>
    m    batch size

The compact cell keeps one weight matrix for the hidden state,
Wa = [Waa | Wax] of shape (n_a, n_a + n_x), which multiplies the stacked column
[a<t-1>; x<t>] of shape (n_a + n_x, m):

    a<t> = g(Wa [a<t-1>; x<t>] + ba),    yhat<t> = softmax(Wy a<t> + by)

(Wy is chapter 4's Wya, renamed as in the lectures.)

The body of every function (everything after its docstring) is copied into the
nbgrader source notebook, so it may use only ``np`` and the functions the chapter
defines (``softmax``, given in the chapter, and the chapter's exercises).
"""
import numpy as np

from solutions.ch04 import softmax  # the chapter gives it in a plain cell

__all__ = ["softmax", "stack_weights", "unstack_weights", "stack_state_input",
           "rnn_cell_forward_compact", "parameter_count"]


def stack_weights(Waa, Wax):
    """Put the two weight matrices of the hidden state side by side: Wa = [Waa | Wax].

    Arguments:
    Waa -- weights from the previous hidden state, numpy array of shape (n_a, n_a)
    Wax -- weights from the input, numpy array of shape (n_a, n_x)

    Returns:
    Wa -- numpy array of shape (n_a, n_a + n_x): the columns of Waa, then the columns of Wax
    """
    return np.concatenate([Waa, Wax], axis=1)


def unstack_weights(Wa):
    """Split Wa = [Waa | Wax] back into its two blocks.

    Arguments:
    Wa -- numpy array of shape (n_a, n_a + n_x)

    Returns:
    Waa -- numpy array of shape (n_a, n_a), the first n_a columns of Wa
    Wax -- numpy array of shape (n_a, n_x), the remaining columns
    """
    n_a = Wa.shape[0]  # Waa is square, so the number of rows says where to cut
    Waa = Wa[:, :n_a].copy()
    Wax = Wa[:, n_a:].copy()
    return Waa, Wax


def stack_state_input(a_prev, xt):
    """Stack the previous hidden state on top of the input: [a<t-1>; x<t>].

    Arguments:
    a_prev -- hidden state of the previous step, numpy array of shape (n_a, m)
    xt -- input at this time step, numpy array of shape (n_x, m)

    Returns:
    stacked -- numpy array of shape (n_a + n_x, m): the rows of a_prev, then the rows of xt
    """
    return np.concatenate([a_prev, xt], axis=0)


def rnn_cell_forward_compact(xt, a_prev, parameters, activation="tanh"):
    """One RNN step in the simplified notation: a<t> = g(Wa [a<t-1>; x<t>] + ba), yhat<t> = softmax(Wy a<t> + by).

    Arguments:
    xt -- input at this time step, numpy array of shape (n_x, m)
    a_prev -- hidden state of the previous step, numpy array of shape (n_a, m)
    parameters -- dict with
        Wa -- numpy array of shape (n_a, n_a + n_x), equal to [Waa | Wax]
        ba -- numpy array of shape (n_a, 1)
        Wy -- numpy array of shape (n_y, n_a), chapter 4's Wya
        by -- numpy array of shape (n_y, 1)
    activation -- "tanh" (default) or "relu", the function g of the hidden state

    Returns:
    a_next -- new hidden state, numpy array of shape (n_a, m)
    yt_pred -- prediction at this time step, numpy array of shape (n_y, m)
    cache -- tuple (a_next, a_prev, xt, parameters), kept for the backward pass
    """
    stacked = stack_state_input(a_prev, xt)  # (n_a + n_x, m)
    z = parameters["Wa"] @ stacked + parameters["ba"]  # one product instead of two
    if activation == "tanh":
        a_next = np.tanh(z)
    elif activation == "relu":
        a_next = np.maximum(z, 0)
    else:
        raise ValueError(f"activation must be 'tanh' or 'relu', not {activation!r}")
    yt_pred = softmax(parameters["Wy"] @ a_next + parameters["by"])
    cache = (a_next, a_prev, xt, parameters)  # public: the convention the chapter states
    return a_next, yt_pred, cache


def parameter_count(n_x, n_a, n_y):
    """The number of trainable numbers in the RNN: Wa, ba, Wy and by.

    Arguments:
    n_x -- size of one input vector (an int)
    n_a -- size of the hidden state (an int)
    n_y -- size of one output vector (an int)

    Returns:
    count -- an int: the entries of Wa (n_a, n_a + n_x), ba (n_a, 1), Wy (n_y, n_a) and by (n_y, 1).
             It does not depend on the sequence length: every time step uses the same parameters.
    """
    count = n_a * (n_a + n_x) + n_a  # Wa and ba
    count += n_y * n_a + n_y  # Wy and by
    return int(count)
