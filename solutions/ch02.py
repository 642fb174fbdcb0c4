"""Chapter 2, notation: reference solutions.

Dimension letters, used in every docstring below:
    n_x     size of one input vector x<t> (number of features of one word)
    m       batch size (number of sequences)
    T_x     number of time steps of one sequence; T_x^(i) for sequence i
    T_max   the largest T_x^(i) of a batch, the length it is padded to

Every sequence in this chapter is an array of shape (n, T): one column per time step.
Math is 1-based (x<1> is the first word, X^(i)<t> is step t of example i); numpy is
0-based, so X^(i)<t> is ``X[:, i - 1, t - 1]``.

The body of every function (everything after its docstring) is copied into the
nbgrader source notebook, so each body may use only ``np``, literals and the functions
the chapter defines, and its docstring must equal the exercise stub's (a test checks it).
"""
import numpy as np

# The characters that tokenize() splits off as tokens of their own. The chapter defines
# the same constant for learners (tests/test_reference_ch02.py checks they agree).
PUNCTUATION = '.,!?;:"()'


def tokenize(sentence):
    """Split a sentence into tokens, keeping the case of every letter.

    Any amount of whitespace (spaces, tabs, new lines) separates tokens and is dropped.
    Each punctuation character in PUNCTUATION, that is  . , ! ? ; : " ( )  is a token on
    its own, even when it touches a word. Every other character (letters, digits,
    apostrophes, hyphens, ...) belongs to a word.

    Arguments:
    sentence -- str

    Returns:
    tokens -- list of str, in the order they appear; an empty list for an empty or blank sentence
    """
    tokens = []
    for chunk in sentence.split():  # split() with no argument: any whitespace, no empty strings
        word = ""
        for ch in chunk:
            if ch in '.,!?;:"()':  # PUNCTUATION
                if word:
                    tokens.append(word)
                    word = ""
                tokens.append(ch)
            else:
                word += ch
        if word:
            tokens.append(word)
    return tokens


def name_labels(tokens, names):
    """Label every token 1 if it is (a part of) a person's name, else 0.

    A token is a name when it is exactly one of the strings in names: the whole token,
    with the same capital letters ("Harry" is a name, "harry" and "Harrys" are not).

    Arguments:
    tokens -- list of T_x str, the tokens x<1>, ..., x<T_x> of one sentence
    names -- set of str, the name tokens, for example {"Harry", "Potter"}

    Returns:
    y -- numpy array of int of shape (1, T_x); y[0, t - 1] is the label y<t> of token x<t>
    """
    labels = [1 if token in names else 0 for token in tokens]
    return np.array(labels, dtype=int).reshape(1, len(tokens))


def get_step(X, i, t):
    """Fetch X^(i)<t>, step t of example i, from a batch, with the math's 1-based indices.

    Arguments:
    X -- numpy array of shape (n_x, m, T_x): features first, then examples, then time
    i -- int, the example, counted from 1 as in the math: 1 <= i <= m
    t -- int, the time step, counted from 1 as in the math: 1 <= t <= T_x

    Returns:
    x_it -- numpy array of shape (n_x, 1), the column X^(i)<t>

    Raises:
    IndexError -- if i is not in 1..m or t is not in 1..T_x, with a message that gives the valid range
    """
    n_x, m, T_x = X.shape
    if not 1 <= i <= m:
        raise IndexError(f"example i = {i} does not exist: examples are numbered 1 to m = {m}")
    if not 1 <= t <= T_x:
        raise IndexError(f"time step t = {t} does not exist: steps are numbered 1 to T_x = {T_x}")  # public: the chapter shows this message
    return X[:, i - 1, t - 1].reshape(n_x, 1)  # math (i, t) is numpy (i - 1, t - 1)


def sequence_lengths(sequences):
    """The lengths T_x^(1), ..., T_x^(m) of a ragged batch.

    Arguments:
    sequences -- list of m numpy arrays; sequence i has shape (n_x, T_x^(i)), one column per time step

    Returns:
    lengths -- numpy array of int of shape (m,); lengths[i - 1] is T_x^(i)
    """
    return np.array([seq.shape[1] for seq in sequences], dtype=int)  # columns, not rows


def pad_batch(sequences, pad_value=0.0):
    """Stack a ragged batch into one array, padding the end of every shorter sequence.

    Arguments:
    sequences -- list of m numpy arrays; sequence i has shape (n_x, T_x^(i)), one column per time step
    pad_value -- float, the value of every padded entry

    Returns:
    X -- numpy array of float of shape (n_x, m, T_max), where T_max is the largest T_x^(i):
         X[:, i - 1, t - 1] is x^(i)<t> for t <= T_x^(i), and pad_value after that
    mask -- numpy array of float of shape (m, T_max): 1.0 where X holds a real time step, 0.0 where it holds padding
    """
    lengths = sequence_lengths(sequences)
    n_x, m = sequences[0].shape[0], len(sequences)
    T_max = int(lengths.max())
    X = np.full((n_x, m, T_max), pad_value, dtype=float)
    mask = np.zeros((m, T_max))
    for i, (seq, T_i) in enumerate(zip(sequences, lengths)):  # 0-based i: example i + 1
        X[:, i, :T_i] = seq  # the real steps first, padding after them
        mask[i, :T_i] = 1.0
    return X, mask
