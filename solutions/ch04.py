"""Chapter 4, the RNN forward pass: reference solutions.

Dimension letters, used in every docstring below:
    n_x  size of one input vector x<t> (for one-hot words, the vocabulary size)
    n_a  size of the hidden state a<t>
    n_y  size of one output vector yhat<t>
    m    batch size (number of sequences processed together)
    T_x  number of time steps

Arrays are laid out features first, batch second, time last: column j of ``xt`` is
example j. Math is 1-based (x<1> is the first input); numpy is 0-based, so x<t> is
``x[:, :, t - 1]``.

The body of every function (everything after its docstring) is copied into the
nbgrader source notebook, so each body may use only ``np`` and the functions the
chapter defines (``softmax``, ``rnn_cell_forward``), and its docstring must equal the
exercise stub's (a test checks it).
"""
import numpy as np

ACTIVATIONS = ("tanh", "relu")


def softmax(z):
    """Column-wise softmax, safe for large logits.

    Arguments:
    z -- logits, numpy array of shape (n, m): one column per example

    Returns:
    s -- probabilities, numpy array of shape (n, m); every column is positive and sums to 1
    """
    # Subtracting each column's maximum changes nothing mathematically
    # (softmax(z) == softmax(z - c)) but keeps np.exp from overflowing.
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def rnn_cell_forward(xt, a_prev, parameters, activation="tanh"):
    """One time step of the RNN: a<t> = g(Waa a<t-1> + Wax x<t> + ba), yhat<t> = softmax(Wya a<t> + by).

    Arguments:
    xt -- input at this time step, numpy array of shape (n_x, m)
    a_prev -- hidden state of the previous step, numpy array of shape (n_a, m)
    parameters -- dict with
        Waa -- numpy array of shape (n_a, n_a)
        Wax -- numpy array of shape (n_a, n_x)
        Wya -- numpy array of shape (n_y, n_a)
        ba -- numpy array of shape (n_a, 1)
        by -- numpy array of shape (n_y, 1)
    activation -- "tanh" (default) or "relu", the function g of the hidden state

    Returns:
    a_next -- new hidden state, numpy array of shape (n_a, m)
    yt_pred -- prediction at this time step, numpy array of shape (n_y, m)
    cache -- tuple (a_next, a_prev, xt, parameters), kept for the backward pass
    """
    Waa, Wax, Wya = parameters["Waa"], parameters["Wax"], parameters["Wya"]
    ba, by = parameters["ba"], parameters["by"]
    z = Waa @ a_prev + Wax @ xt + ba  # (n_a, m); ba broadcasts over the m columns
    if activation == "tanh":
        a_next = np.tanh(z)
    elif activation == "relu":
        a_next = np.maximum(z, 0)
    else:
        raise ValueError(f"activation must be 'tanh' or 'relu', not {activation!r}")
    yt_pred = softmax(Wya @ a_next + by)  # the output reads the NEW state a<t>
    cache = (a_next, a_prev, xt, parameters)  # public: the convention the chapter states
    return a_next, yt_pred, cache


def rnn_forward(x, a0, parameters, activation="tanh"):
    """The forward pass over a whole sequence: the same cell, with the same parameters, at every step.

    Arguments:
    x -- inputs for every time step, numpy array of shape (n_x, m, T_x)
    a0 -- initial hidden state a<0>, numpy array of shape (n_a, m)
    parameters -- dict with Waa (n_a, n_a), Wax (n_a, n_x), Wya (n_y, n_a), ba (n_a, 1), by (n_y, 1)
    activation -- "tanh" (default) or "relu", passed on to rnn_cell_forward

    Returns:
    a -- hidden states a<1>..a<T_x>, numpy array of shape (n_a, m, T_x)
    y_pred -- predictions yhat<1>..yhat<T_x>, numpy array of shape (n_y, m, T_x)
    caches -- tuple (list of the T_x caches of rnn_cell_forward, x), for the backward pass
    """
    n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    caches = []
    a_next = a0  # a<0>
    for t in range(T_x):  # 0-based t: x[:, :, t] is x<t+1>
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters, activation)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    return a, y_pred, (caches, x)
