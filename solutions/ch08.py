"""Chapter 8, the capstone: a character-level language model that writes names.

Dimension letters, used in every docstring below:
    V    vocabulary size: the number of characters the model knows, <EOS> ("\\n") included;
         inputs and outputs are characters, so n_x = n_y = V
    n_a  size of the hidden state a<t>
    T_x  number of time steps of one name: its number of characters plus one

One name is one example (m = 1): inputs are laid out as ``x`` (V, 1, T_x), following
the course's convention (features, batch, time). With teacher forcing, x<1> is all
zeros ("no previous character") and x<t> is the true character y<t-1>; the targets
y<1>..y<T_x> are the name's characters followed by <EOS>.

The model is chapter 4's RNN with a softmax over the V characters:

    a<t> = tanh(Waa a<t-1> + Wax x<t> + ba),    yhat<t> = softmax(Wya a<t> + by)

and its loss is the categorical cross-entropy summed over the time steps,
J = -sum_t log yhat<t>[y<t>].

The body of every exercise (everything after its docstring) is copied into the nbgrader
source notebook, so it may use only ``np`` and the functions the chapter defines: its
exercises and the given ``softmax``, ``rnn_forward``, ``rnn_backward`` and
``clip_by_global_norm`` (chapters 4 and 6), which are taken from those chapters' reference
here so that this module runs on its own.
"""
import numpy as np

from solutions import ch04, ch06

__all__ = ["EOS", "softmax", "rnn_forward", "rnn_backward", "clip_by_global_norm", "encode_name", "cross_entropy",
           "cross_entropy_gradient", "lm_loss_and_gradients", "optimize_step", "train", "sample"]

EOS = "\n"  # the end-of-sequence token: the character that ends every name

# ---------------------------------------------------------------- given in the chapter
softmax = ch04.softmax  # column-wise softmax, (V, m) -> (V, m)
rnn_forward = ch04.rnn_forward  # (x, a0, parameters) -> (a, y_hat, caches), softmax outputs
rnn_backward = ch06.rnn_backward  # (da, caches) -> dict dx, da0, dWax, dWaa, dba
clip_by_global_norm = ch06.clip_by_global_norm  # (gradients, max_norm) -> new dict


# ---------------------------------------------------------------- exercises
def encode_name(name, char_to_ix):
    """The training pair of one name, with teacher forcing: inputs x and targets.

    Arguments:
    name -- a string, such as "Ada" (every character is a key of char_to_ix)
    char_to_ix -- dict from each character of the vocabulary (the newline "\\n" = <EOS>
                  included) to its index 0..V-1, where V = len(char_to_ix)

    Returns:
    x -- the inputs, numpy array of shape (V, 1, T_x) with T_x = len(name) + 1: column t = 0
         is all zeros (no previous character), column t >= 1 is the one-hot vector of
         the target of step t - 1
    targets -- the index of the character to predict at each step, numpy array of ints of
               shape (T_x,): the name's characters, then the index of "\\n"
    """
    targets = np.array([char_to_ix[ch] for ch in name] + [char_to_ix["\n"]])
    T_x = len(targets)
    x = np.zeros((len(char_to_ix), 1, T_x))
    for t in range(1, T_x):  # 0-based t; x[:, 0, 0] stays all zeros
        x[targets[t - 1], 0, t] = 1.0  # teacher forcing: the input is the previous TRUE character
    return x, targets


def cross_entropy(y_hat, targets):
    """The loss of one name: categorical cross-entropy summed over the time steps.

    Arguments:
    y_hat -- predicted probabilities, numpy array of shape (V, 1, T_x); every column sums to 1
    targets -- the index of the true character at each step, numpy array of ints of shape (T_x,)

    Returns:
    loss -- a float: -sum over t of log(y_hat[targets[t], 0, t])
    """
    T_x = targets.shape[0]
    p_true = y_hat[targets, 0, np.arange(T_x)]  # the probability given to the right character, step by step
    return float(-np.sum(np.log(p_true)))


def cross_entropy_gradient(y_hat, targets):
    """The gradient of the loss with respect to the logits z_y<t> (y_hat<t> = softmax(z_y<t>)).

    Arguments:
    y_hat -- predicted probabilities, numpy array of shape (V, 1, T_x); it must not be changed
    targets -- the index of the true character at each step, numpy array of ints of shape (T_x,)

    Returns:
    dz -- numpy array of shape (V, 1, T_x): y_hat - y, where y is the one-hot vector of the
          targets (so dz<t> = y_hat<t> minus 1 in the row of targets[t])
    """
    T_x = targets.shape[0]
    dz = np.array(y_hat, dtype=float)  # a new array: y_hat itself stays as it is
    dz[targets, 0, np.arange(T_x)] -= 1.0
    return dz


def lm_loss_and_gradients(x, targets, a0, parameters):
    """Forward pass over one name with teacher forcing, its loss, and the gradients of every parameter.

    Arguments:
    x -- inputs from encode_name, numpy array of shape (V, 1, T_x)
    targets -- the index of the true character at each step, numpy array of ints of shape (T_x,)
    a0 -- initial hidden state, numpy array of shape (n_a, 1)
    parameters -- dict with Waa (n_a, n_a), Wax (n_a, V), ba (n_a, 1), Wya (V, n_a), by (V, 1)

    Returns:
    loss -- a float, cross_entropy(y_hat, targets)
    gradients -- dict with the gradient of the loss for every parameter, each of the same
                 shape as the parameter: dWaa, dWax, dba, dWya, dby
    a_last -- the last hidden state a<T_x>, numpy array of shape (n_a, 1)
    """
    a, y_hat, caches = rnn_forward(x, a0, parameters)
    loss = cross_entropy(y_hat, targets)
    dz = cross_entropy_gradient(y_hat, targets)  # (V, 1, T_x): softmax and cross-entropy together
    Wya = parameters["Wya"]
    dWya = np.zeros_like(Wya)
    dby = np.zeros_like(parameters["by"])
    da = np.zeros_like(a)
    for t in range(x.shape[2]):  # 0-based t
        dWya += dz[:, :, t] @ a[:, :, t].T  # Wya and by serve every step: add up
        dby += dz[:, :, t]
        da[:, :, t] = Wya.T @ dz[:, :, t]  # the gradient reaching a<t+1> from its own output
    back = rnn_backward(da, caches)
    gradients = {"dWaa": back["dWaa"], "dWax": back["dWax"], "dba": back["dba"], "dWya": dWya, "dby": dby}
    return loss, gradients, a[:, :, -1]


def optimize_step(x, targets, a0, parameters, learning_rate, max_norm):
    """One step of gradient descent on one name: forward, backward, clip, update.

    Arguments:
    x -- inputs from encode_name, numpy array of shape (V, 1, T_x)
    targets -- the index of the true character at each step, numpy array of ints of shape (T_x,)
    a0 -- initial hidden state, numpy array of shape (n_a, 1)
    parameters -- dict with Waa (n_a, n_a), Wax (n_a, V), ba (n_a, 1), Wya (V, n_a), by (V, 1);
                  it must not be changed
    learning_rate -- a positive float
    max_norm -- a positive float: the gradients are clipped to this global norm

    Returns:
    loss -- a float, the loss of the name before the update
    new_parameters -- a new dict with the same names: every parameter minus learning_rate
                      times its gradient clipped by clip_by_global_norm(gradients, max_norm)
    a_last -- the last hidden state a<T_x> of the forward pass, numpy array of shape (n_a, 1)
    """
    loss, gradients, a_last = lm_loss_and_gradients(x, targets, a0, parameters)
    gradients = clip_by_global_norm(gradients, max_norm)
    new_parameters = {name: value - learning_rate * gradients["d" + name] for name, value in parameters.items()}
    return loss, new_parameters, a_last


def train(names, char_to_ix, parameters, learning_rate, max_norm):
    """Train on a list of names, one name per optimisation step, in the order given.

    Arguments:
    names -- a list of strings
    char_to_ix -- dict from each character of the vocabulary (the newline "\\n" included) to its index
    parameters -- dict with Waa (n_a, n_a), Wax (n_a, V), ba (n_a, 1), Wya (V, n_a), by (V, 1);
                  it must not be changed
    learning_rate -- a positive float
    max_norm -- a positive float, passed on to optimize_step

    Returns:
    parameters -- the parameters after the last step, a new dict
    losses -- a list of floats: the loss of each name, in order, as optimize_step returned it
    """
    n_a = parameters["Waa"].shape[0]
    a0 = np.zeros((n_a, 1))  # a<0> = 0: every name starts from a fresh hidden state
    losses = []
    for name in names:  # public: the loop the chapter describes
        x, targets = encode_name(name, char_to_ix)
        loss, parameters, a_last = optimize_step(x, targets, a0, parameters, learning_rate, max_norm)
        losses.append(loss)  # public: chapter 6's training loop has the same line
    return parameters, losses


def sample(parameters, eos_index, seed, temperature=1.0, max_length=30):
    """Generate one name, character by character, feeding each drawn character back in.

    Arguments:
    parameters -- dict with Waa (n_a, n_a), Wax (n_a, V), ba (n_a, 1), Wya (V, n_a), by (V, 1)
    eos_index -- the index of <EOS> ("\\n"): drawing it ends the name
    seed -- an int, or a numpy.random.Generator; draw from rng = np.random.default_rng(seed)
            (which accepts both), ONE rng.choice(V, p=...) call per character
    temperature -- a positive float: the logits z_y<t> are divided by it before the softmax
    max_length -- the largest number of characters to draw, an int >= 1

    Returns:
    indices -- a list of ints, the drawn characters in order: it ends with eos_index, or
               has max_length entries if <EOS> was not drawn before
    """
    rng = np.random.default_rng(seed)  # public: the docstring and the chapter give this line
    V, n_a = parameters["Wya"].shape
    x = np.zeros((V, 1))  # x<1> = 0: no previous character
    a_prev = np.zeros((n_a, 1))  # a<0> = 0
    indices = []
    while len(indices) < max_length:
        a_next = np.tanh(parameters["Waa"] @ a_prev + parameters["Wax"] @ x + parameters["ba"])
        z = parameters["Wya"] @ a_next + parameters["by"]  # the logits, (V, 1)
        probabilities = softmax(z / temperature)  # the temperature divides the LOGITS
        idx = int(rng.choice(V, p=probabilities.ravel()))
        indices.append(idx)
        if idx == eos_index:
            break
        x = np.zeros((V, 1))
        x[idx] = 1.0  # the character just drawn is the next input
        a_prev = a_next
    return indices
