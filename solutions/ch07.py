"""Chapter 7, RNN types: reference solutions.

Dimension letters, used in every docstring below:
    n_x  size of one input vector x<t>
    n_a  size of the hidden state a<t>
    n_y  size of one output vector yhat<t> (a softmax over n_y classes)
    m    batch size
    T_x  length of the input sequence, T_y length of the output sequence

Every architecture of the chapter is built from the same two pieces, which the chapter
gives in a plain cell (and which are defined here too, so that this module runs on its
own):

    rnn_step(xt, a_prev, parameters)  -> a<t> = g(Waa a<t-1> + Wax x<t> + ba)
    softmax(Wya a<t> + by)            -> yhat<t>

The body of every exercise (everything after its docstring) is copied into the nbgrader
source notebook, so it may use only ``np`` and the functions the chapter defines.
"""
import numpy as np

from solutions import ch04

__all__ = ["softmax", "rnn_step", "cell_architectures", "many_to_one_forward", "one_to_many_forward",
           "encoder_decoder_forward", "TASKS", "ARCHITECTURES"]

ARCHITECTURES = ("one-to-one", "one-to-many", "many-to-one", "many-to-many", "encoder-decoder")
TASKS = (
    "named-entity recognition",
    "sentiment classification",
    "music generation",
    "machine translation",
    "image classification",
    "video activity recognition",
    "part-of-speech tagging",
    "image captioning",
)


# ---------------------------------------------------------------- given in the chapter
softmax = ch04.softmax


def rnn_step(xt, a_prev, parameters, activation="tanh"):
    """The hidden-state update of chapter 4's cell, a_next of shape (n_a, m)."""
    g = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0))
    return g(np.dot(parameters["Waa"], a_prev) + np.dot(parameters["Wax"], xt) + parameters["ba"])


# ---------------------------------------------------------------- exercises
def cell_architectures():
    """The answer of the cell whose grade id is ``architectures``: a dict task -> architecture.

    Its body (no return: it runs at the top level of the notebook) defines the variable.
    """
    architectures = {
        "named-entity recognition": "many-to-many",  # public: the worked example of the chapter
        "sentiment classification": "many-to-one",
        "music generation": "one-to-many",
        "machine translation": "encoder-decoder",
        "image classification": "one-to-one",
        "video activity recognition": "many-to-one",
        "part-of-speech tagging": "many-to-many",
        "image captioning": "one-to-many",
    }


def many_to_one_forward(x, a0, parameters, activation="tanh", lengths=None):
    """Read a whole sequence, then give one output from the last hidden state.

    Arguments:
    x -- inputs, numpy array of shape (n_x, m, T_x); with lengths, a padded batch
    a0 -- initial hidden state, numpy array of shape (n_a, m)
    parameters -- dict with Waa (n_a, n_a), Wax (n_a, n_x), ba (n_a, 1), Wya (n_y, n_a), by (n_y, 1)
    activation -- "tanh" (default) or "relu", passed on to rnn_step
    lengths -- None (every sequence has T_x steps) or a sequence of m ints, the length T_x^(i) of
               each sequence of a padded batch, 1 <= T_x^(i) <= T_x; the steps after it are padding

    Returns:
    y_hat -- the one prediction of each example, softmax(Wya a<T_x^(i)> + by), numpy array of shape (n_y, m)
    a_last -- the hidden state after the last real step of each example, a<T_x^(i)> (a<T_x> without
              lengths), numpy array of shape (n_a, m)
    """
    a_t = a0
    for t in range(x.shape[2]):  # read every input; no output along the way
        a_new = rnn_step(x[:, :, t], a_t, parameters, activation)
        # a sequence that has ended keeps its state: the padding after it is not read
        a_t = a_new if lengths is None else np.where(t < np.asarray(lengths), a_new, a_t)
    y_hat = softmax(parameters["Wya"] @ a_t + parameters["by"])  # one output, after the last step
    return y_hat, a_t


def one_to_many_forward(x1, a0, parameters, T_y, activation="tanh"):
    """Generate T_y outputs from one input, feeding each output back in as the next input.

    Arguments:
    x1 -- the first input, numpy array of shape (n_y, m) (inputs and outputs come from the
          same n_y symbols, so n_x = n_y; an all-zero column means "no previous symbol")
    a0 -- initial hidden state, numpy array of shape (n_a, m)
    parameters -- dict with Waa (n_a, n_a), Wax (n_a, n_y), ba (n_a, 1), Wya (n_y, n_a), by (n_y, 1)
    T_y -- the number of outputs to generate, an int >= 1
    activation -- "tanh" (default) or "relu", passed on to rnn_step

    Returns:
    y_hat -- the predictions yhat<1>..yhat<T_y>, numpy array of shape (n_y, m, T_y)
    indices -- the symbol chosen at each step (the largest entry of yhat<t>, for each example),
               numpy array of ints of shape (m, T_y); its one-hot column is the next input
    """
    n_y, m = parameters["Wya"].shape[0], x1.shape[1]
    y_hat = np.zeros((n_y, m, T_y))
    indices = np.zeros((m, T_y), dtype=int)
    x_t, a_t = x1, a0
    for t in range(T_y):
        a_t = rnn_step(x_t, a_t, parameters, activation)
        y_t = softmax(parameters["Wya"] @ a_t + parameters["by"])
        idx = np.argmax(y_t, axis=0)  # one symbol per example (per column)
        y_hat[:, :, t] = y_t
        indices[:, t] = idx
        x_t = np.eye(n_y)[:, idx]  # the chosen symbols, one-hot: the next step's input
    return y_hat, indices


def encoder_decoder_forward(x, encoder_parameters, decoder_parameters, T_y, activation="tanh"):
    """Read x with the encoder, then generate T_y outputs with the decoder (T_y need not equal T_x).

    Arguments:
    x -- the input sequence, numpy array of shape (n_x, m, T_x)
    encoder_parameters -- dict with Waa (n_a, n_a), Wax (n_a, n_x), ba (n_a, 1): an RNN with no outputs
    decoder_parameters -- dict with Waa (n_a, n_a), Wax (n_a, n_y), ba (n_a, 1), Wya (n_y, n_a), by (n_y, 1)
    T_y -- the number of outputs to generate, an int >= 1
    activation -- "tanh" (default) or "relu", for both RNNs

    Returns:
    y_hat -- the decoder's predictions, numpy array of shape (n_y, m, T_y)
    indices -- the symbol chosen at each output step, numpy array of ints of shape (m, T_y)
    """
    n_a, m = encoder_parameters["Waa"].shape[0], x.shape[1]
    a_t = np.zeros((n_a, m))  # the encoder starts from a<0> = 0
    for t in range(x.shape[2]):  # the encoder reads the whole input and outputs nothing
        a_t = rnn_step(x[:, :, t], a_t, encoder_parameters, activation)
    n_y = decoder_parameters["Wya"].shape[0]
    start = np.zeros((n_y, m))  # the decoder's first input: no previous output yet
    return one_to_many_forward(start, a_t, decoder_parameters, T_y, activation)
