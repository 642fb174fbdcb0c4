"""Chapter 6, backpropagation through time: reference solutions.

Dimension letters, used in every docstring below:
    n_x  size of one input vector x<t>
    n_a  size of the hidden state a<t>
    n_y  number of yes/no outputs per step (1 for the named-entity task)
    m    batch size
    T_x  number of time steps

The model of the chapter is chapter 4's RNN with a sigmoid output, one yes/no
prediction per word:

    a<t> = g(Waa a<t-1> + Wax x<t> + ba),    yhat<t> = sigmoid(Wya a<t> + by)

and its loss is the binary cross-entropy summed over the time steps and averaged over
the m examples of the batch, each step weighted by the mask of a padded batch (chapter
2: 1.0 for a real step, 0.0 for padding; no mask means every step is real):

    J = -(1/m) sum_i sum_t mask[i, t] [ y log yhat + (1 - y) log(1 - yhat) ]

Backward functions take the gradient of J with respect to their outputs and return a
dict of gradients named after what they differentiate, with a "d" in front.

The body of every exercise (everything after its docstring) is copied into the nbgrader
source notebook, so it may use only ``np`` and the functions the chapter defines: its
exercises and the given ``sigmoid`` and ``rnn_forward``. The two given functions are
defined here too, so that this module runs on its own.
"""
import numpy as np

from solutions import ch04

__all__ = ["sigmoid", "rnn_forward", "rnn_cell_backward", "rnn_backward", "binary_cross_entropy",
           "rnn_loss_and_gradients", "softmax_cross_entropy", "numerical_gradient", "relative_error",
           "clip_elementwise", "clip_by_global_norm"]


# ---------------------------------------------------------------- given in the chapter
def sigmoid(z):
    """1 / (1 + exp(-z)), element-wise, without overflow: numpy array in, same shape out."""
    return np.exp(-np.logaddexp(0.0, -z))  # public: given in the chapter


def rnn_forward(x, a0, parameters, activation="tanh"):
    """Chapter 4's forward pass with a sigmoid output: (a, y_hat, caches).

    x (n_x, m, T_x), a0 (n_a, m) -> a (n_a, m, T_x), y_hat (n_y, m, T_x), caches = (list of
    (a_next, a_prev, xt, parameters) per step, x).
    """
    a, _, caches = ch04.rnn_forward(x, a0, parameters, activation)
    y_hat = sigmoid(np.einsum("ya,amt->ymt", parameters["Wya"], a) + parameters["by"][:, :, None])
    return a, y_hat, caches


# ---------------------------------------------------------------- exercises
def rnn_cell_backward(da_next, cache, activation="tanh"):
    """Backward pass through one RNN cell, a<t> = g(Waa a<t-1> + Wax x<t> + ba).

    Arguments:
    da_next -- gradient of the loss with respect to a<t>, numpy array of shape (n_a, m)
               (everything that reaches a<t>: from its output and from the next step)
    cache -- tuple (a_next, a_prev, xt, parameters) saved by the forward pass:
        a_next -- a<t>, numpy array of shape (n_a, m)
        a_prev -- a<t-1>, numpy array of shape (n_a, m)
        xt -- x<t>, numpy array of shape (n_x, m)
        parameters -- dict with Waa (n_a, n_a), Wax (n_a, n_x), ba (n_a, 1), Wya, by
    activation -- "tanh" (default) or "relu", the g used in the forward pass

    Returns:
    gradients -- dict with
        dxt -- gradient with respect to x<t>, numpy array of shape (n_x, m)
        da_prev -- gradient with respect to a<t-1>, numpy array of shape (n_a, m)
        dWax -- gradient with respect to Wax, numpy array of shape (n_a, n_x)
        dWaa -- gradient with respect to Waa, numpy array of shape (n_a, n_a)
        dba -- gradient with respect to ba, numpy array of shape (n_a, 1)
    """
    a_next, a_prev, xt, parameters = cache  # public: the cache layout the chapter states
    # dz = da_next * g'(z), written with the OUTPUT of this step, a_next = g(z)
    if activation == "tanh":
        dz = da_next * (1 - a_next ** 2)
    elif activation == "relu":
        dz = da_next * (a_next > 0)
    else:
        raise ValueError(f"activation must be 'tanh' or 'relu', not {activation!r}")
    dxt = parameters["Wax"].T @ dz
    da_prev = parameters["Waa"].T @ dz
    dWax = dz @ xt.T
    dWaa = dz @ a_prev.T
    dba = np.sum(dz, axis=1, keepdims=True)  # ba was added to every column: sum over the batch
    return {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}


def rnn_backward(da, caches, activation="tanh"):
    """Backpropagation through time: the backward pass of rnn_forward over the whole sequence.

    Arguments:
    da -- gradient of the loss with respect to every hidden state, coming from the outputs
          only (not yet from the next step), numpy array of shape (n_a, m, T_x)
    caches -- tuple (list of the T_x caches of the forward pass, x), x of shape (n_x, m, T_x)
    activation -- "tanh" (default) or "relu", passed on to rnn_cell_backward

    Returns:
    gradients -- dict with
        dx -- gradient with respect to the inputs, numpy array of shape (n_x, m, T_x)
        da0 -- gradient with respect to the initial state a<0>, numpy array of shape (n_a, m)
        dWax -- gradient with respect to Wax, numpy array of shape (n_a, n_x)
        dWaa -- gradient with respect to Waa, numpy array of shape (n_a, n_a)
        dba -- gradient with respect to ba, numpy array of shape (n_a, 1)
    """
    cache_list, x = caches
    n_a, m, T_x = da.shape
    n_x = x.shape[0]
    dx = np.zeros((n_x, m, T_x))
    dWax = np.zeros((n_a, n_x))
    dWaa = np.zeros((n_a, n_a))
    dba = np.zeros((n_a, 1))
    da_prevt = np.zeros((n_a, m))  # nothing flows back from after the last step
    for t in reversed(range(T_x)):  # 0-based t, from T_x - 1 down to 0
        # a<t> feeds its own output AND the next step: add both gradients
        step = rnn_cell_backward(da[:, :, t] + da_prevt, cache_list[t], activation)
        dx[:, :, t] = step["dxt"]
        dWax += step["dWax"]  # the same parameters at every step: add up their gradients
        dWaa += step["dWaa"]
        dba += step["dba"]
        da_prevt = step["da_prev"]
    da0 = da_prevt
    return {"dx": dx, "da0": da0, "dWax": dWax, "dWaa": dWaa, "dba": dba}


def binary_cross_entropy(y_hat, y, mask=None):
    """The loss J: binary cross-entropy summed over the outputs and the time steps, averaged over the batch.

    Arguments:
    y_hat -- predicted probabilities, numpy array of shape (n_y, m, T_x), between 0 and 1; they are
             clipped into [1e-12, 1 - 1e-12] before the logs, so that a saturated prediction (exactly
             0.0 or 1.0 in floating point) costs a large finite amount instead of inf
    y -- true labels (0 or 1), numpy array of shape (n_y, m, T_x)
    mask -- None (every step is real) or numpy array of shape (m, T_x): 1.0 for a real step,
            0.0 for padding; the loss of step t of example i is multiplied by mask[i, t]

    Returns:
    J -- a float: -(1/m) * sum over everything of mask * [y log(y_hat) + (1 - y) log(1 - y_hat)]
    """
    m = y.shape[1]
    p = np.clip(y_hat, 1e-12, 1 - 1e-12)  # sigmoid(40) is exactly 1.0 in float64, and log(1 - 1.0) = -inf
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))  # one loss per output and step
    if mask is not None:
        losses = losses * mask  # (m, T_x) broadcasts over the n_y outputs: padding costs nothing
    return float(np.sum(losses) / m)


def rnn_loss_and_gradients(x, y, a0, parameters, activation="tanh", mask=None):
    """Forward pass, loss, and the full backward pass, output layer included.

    Arguments:
    x -- inputs, numpy array of shape (n_x, m, T_x)
    y -- true labels (0 or 1), numpy array of shape (n_y, m, T_x)
    a0 -- initial hidden state, numpy array of shape (n_a, m)
    parameters -- dict with Waa (n_a, n_a), Wax (n_a, n_x), ba (n_a, 1), Wya (n_y, n_a), by (n_y, 1)
    activation -- "tanh" (default) or "relu", the g of the hidden state
    mask -- None (every step is real) or numpy array of shape (m, T_x), 1.0 for a real step and
            0.0 for padding, as for binary_cross_entropy

    Returns:
    loss -- a float, binary_cross_entropy(y_hat, y, mask)
    gradients -- dict with the gradient of the loss for every parameter, each of the same
                 shape as the parameter: dWaa, dWax, dba, dWya, dby
    """
    a, y_hat, caches = rnn_forward(x, a0, parameters, activation)
    loss = binary_cross_entropy(y_hat, y, mask)
    n_y, m, T_x = y.shape
    weight = np.ones((m, T_x)) if mask is None else mask  # 1.0 for a real step, 0.0 for padding
    Wya = parameters["Wya"]
    dWya = np.zeros_like(Wya)
    dby = np.zeros((n_y, 1))
    da = np.zeros_like(a)  # the gradient reaching each a<t> from its own output
    for t in range(T_x):
        # sigmoid and cross-entropy together, batch-averaged; a padded step sends nothing back
        dzy = (y_hat[:, :, t] - y[:, :, t]) / m * weight[:, t]
        dWya += dzy @ a[:, :, t].T
        dby += np.sum(dzy, axis=1, keepdims=True)
        da[:, :, t] = Wya.T @ dzy
    back = rnn_backward(da, caches, activation)
    gradients = {"dWaa": back["dWaa"], "dWax": back["dWax"], "dba": back["dba"], "dWya": dWya, "dby": dby}
    return loss, gradients


def softmax_cross_entropy(scores, y):
    """Categorical cross-entropy of a softmax output, and its gradient with respect to the scores.

    Arguments:
    scores -- the scores z_y = Wy a + by before the softmax, numpy array of shape (n_y, m) or
              (n_y, m, T_x): one column of n_y class scores per example (and time step)
    y -- the true classes as one-hot columns, numpy array of the shape of scores

    Returns:
    loss -- a float: -(1/m) * sum over everything of y * log(softmax(scores)), the softmax taken
            over axis 0 and computed without overflow, m = scores.shape[1]
    dscores -- numpy array of the shape of scores: (softmax(scores) - y) / m
    """
    m = y.shape[1]
    shifted = scores - np.max(scores, axis=0, keepdims=True)  # no overflow in exp
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))  # log softmax
    loss = -np.sum(y * log_probs) / m
    dscores = (np.exp(log_probs) - y) / m  # softmax minus the one-hot label: the lectures' y_hat - y
    return float(loss), dscores


def numerical_gradient(f, theta, eps=1e-5):
    """Centred finite-difference estimate of the gradient of a scalar function f at theta.

    Arguments:
    f -- a function that takes an array of the shape of theta and returns a float
    theta -- the point, numpy array of any shape; it must not be changed
    eps -- the step, a small float

    Returns:
    grad -- numpy array of the shape of theta: entry i is (f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps),
            where e_i is 1 at entry i and 0 elsewhere
    """
    point = np.array(theta, dtype=float)  # a copy to nudge; theta itself stays as it is
    grad = np.zeros_like(point)
    for i in np.ndindex(point.shape):
        old = point[i]
        point[i] = old + eps
        f_plus = f(point)
        point[i] = old - eps
        f_minus = f(point)
        point[i] = old  # put it back before nudging the next entry
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(analytic, numeric):
    """How far two gradients are apart, relative to their size.

    Arguments:
    analytic -- a gradient from backpropagation, numpy array of any shape
    numeric -- a finite-difference estimate, numpy array of the same shape

    Returns:
    error -- a float: ||analytic - numeric|| / (||analytic|| + ||numeric||) with Euclidean
             norms over all entries, or 0.0 when both are all zeros
    """
    diff = np.linalg.norm(analytic - numeric)
    size = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if size == 0:
        return 0.0
    return float(diff / size)


def clip_elementwise(gradients, max_value):
    """Clip every entry of every gradient into [-max_value, max_value].

    Arguments:
    gradients -- dict of numpy arrays (any names, any shapes); it must not be changed
    max_value -- a positive float

    Returns:
    clipped -- a new dict with the same names, each array of the same shape, with entries
               above max_value set to max_value and entries below -max_value set to -max_value
    """
    return {name: np.clip(g, -max_value, max_value) for name, g in gradients.items()}


def clip_by_global_norm(gradients, max_norm):
    """Rescale all gradients together when their global norm is larger than max_norm.

    Arguments:
    gradients -- dict of numpy arrays (any names, any shapes); it must not be changed
    max_norm -- a positive float

    Returns:
    clipped -- a new dict with the same names and shapes. With the global norm
               sqrt(sum of the squares of all entries of all arrays): if it is at most
               max_norm, the same values; otherwise every array times max_norm / global norm,
               so the global norm becomes max_norm and the direction is unchanged.
    """
    global_norm = np.sqrt(sum(np.sum(g ** 2) for g in gradients.values()))
    if global_norm <= max_norm:
        return {name: g.copy() for name, g in gradients.items()}
    scale = max_norm / global_norm
    return {name: g * scale for name, g in gradients.items()}
