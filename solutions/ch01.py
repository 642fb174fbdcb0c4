"""Chapter 1, why sequence models: reference solutions.

Dimension letters, used in every docstring below:
    T_max  the length every sequence is padded to, for a network with a fixed input size
    n_x    size of one input vector x<t> (for one-hot words, the vocabulary size V)
    n_h    number of hidden units of the dense network
    n_a    size of the hidden state a<t> of the RNN
    n_y    size of one output vector y<t> (scores at one position)

The body of every function (everything after its docstring) is copied into the
nbgrader source notebook, so each body may use only ``np`` and the functions the
chapter defines, and its docstring must equal the exercise stub's (a test checks it).
"""

# The seven applications of the chapter, in the order the chapter presents them.
APPLICATIONS = (
    "speech_recognition",
    "music_generation",
    "sentiment_classification",
    "dna_sequence_analysis",
    "machine_translation",
    "video_activity_recognition",
    "named_entity_recognition",
)


def sequence_answers():
    """For each of the seven applications: is x a sequence, is y a sequence, and is T_x = T_y?

    Returns:
    answers -- dict with one entry per application (the keys of APPLICATIONS); each value
               is a tuple of three bools (x_is_sequence, y_is_sequence, same_length), where
               same_length is True only when x and y are both sequences and T_x = T_y
               holds for every example of the task
    """
    return {
        "speech_recognition": (True, True, False),  # thousands of samples -> a few words
        "music_generation": (False, True, False),  # nothing (or one number) -> notes
        "sentiment_classification": (True, False, False),  # a review -> one rating
        "dna_sequence_analysis": (True, True, True),  # one label per base
        "machine_translation": (True, True, False),  # lengths differ between languages
        "video_activity_recognition": (True, False, False),  # frames -> one activity
        "named_entity_recognition": (True, True, True),  # one label per word
    }


def dense_parameter_count(T_max, n_x, n_h, n_y):
    """Number of parameters of a dense network that labels every position of a padded sequence.

    The input is the T_max vectors x<1>, ..., x<T_max>, each of size n_x, placed one after
    the other in a single vector of size T_max * n_x. One hidden layer of n_h units reads
    that vector; the output layer gives n_y scores for every position, T_max * n_y units in
    all. Each of the two layers has a weight matrix and a bias vector.

    Arguments:
    T_max -- int, the length every sequence is padded to
    n_x -- int, size of one input vector
    n_h -- int, number of hidden units
    n_y -- int, number of scores at one position

    Returns:
    count -- int, the number of weights and biases of the network
    """
    n_in = T_max * n_x  # the T_max input vectors side by side
    n_out = T_max * n_y  # n_y scores for each of the T_max positions
    return n_h * n_in + n_h + n_out * n_h + n_out  # W1 (n_h, n_in), b1, W2 (n_out, n_h), b2


def rnn_parameter_count(n_x, n_a, n_y):
    """Number of parameters of the RNN of chapter 4: Waa, Wax, ba, Wya and by.

    Arguments:
    n_x -- int, size of one input vector x<t>
    n_a -- int, size of the hidden state a<t>
    n_y -- int, size of one output vector yhat<t>

    Returns:
    count -- int, the number of weights and biases; it does not depend on the sequence length
    """
    hidden = n_a * n_a + n_a * n_x + n_a  # Waa (n_a, n_a), Wax (n_a, n_x), ba (n_a, 1)
    output = n_y * n_a + n_y  # Wya (n_y, n_a), by (n_y, 1)
    return hidden + output
