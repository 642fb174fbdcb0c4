"""Chapter 3, representing words: reference solutions.

Dimension letters, used in every docstring below:
    V      vocabulary size: the number of entries of the vocabulary, "<UNK>" included
    T_x    number of words (time steps) of one sentence; T_x^(i) for sentence i
    m      batch size (number of sentences)
    T_max  the largest T_x^(i) of a batch, the length it is padded to

A vocabulary is a list of V distinct words; the index of a word is its position in
that list, counted from 0 as in numpy (index k is row k of a one-hot vector). Index 0
is always "<UNK>", the token that stands for every word the vocabulary does not hold.

The body of every function (everything after its docstring) is copied into the
nbgrader source notebook, so each body may use only ``np``, literals and the functions
the chapter defines, and its docstring must equal the exercise stub's (a test checks it).
"""
import numpy as np

UNK = "<UNK>"


def build_vocabulary(sentences, size=10000):
    """The vocabulary of the size - 1 most frequent tokens of a corpus, after "<UNK>".

    Count how often each token appears in all the sentences together. Rank the tokens by
    count, most frequent first; tokens with the same count are ranked in alphabetical
    order (Python's order of strings, so "Zoe" comes before "apple"). The vocabulary is
    "<UNK>" followed by the first size - 1 tokens of that ranking (all of them if there
    are fewer). A token "<UNK>" in the corpus is not counted: it is already at index 0.

    Arguments:
    sentences -- list of sentences, each a list of str tokens
    size -- int >= 1, the largest number of entries of the vocabulary, "<UNK>" included

    Returns:
    vocab -- list of V distinct str, V <= size; vocab[0] is "<UNK>"
    """
    counts = {}
    for tokens in sentences:
        for token in tokens:
            if token != "<UNK>":
                counts[token] = counts.get(token, 0) + 1
    # most frequent first; equal counts in alphabetical order, so the result is the same every run
    ranked = sorted(counts, key=lambda word: (-counts[word], word))
    return ["<UNK>"] + ranked[: size - 1]


def word_to_index(vocab):
    """The dictionary that gives the index of each word of a vocabulary.

    Arguments:
    vocab -- list of V distinct str

    Returns:
    index -- dict str -> int with V entries; index[vocab[k]] == k for k = 0, ..., V - 1
    """
    return {word: k for k, word in enumerate(vocab)}


def encode(tokens, index):
    """The indices of the tokens of a sentence; a token not in the vocabulary gets the index of "<UNK>".

    Arguments:
    tokens -- list of T_x str
    index -- dict str -> int, as returned by word_to_index; it holds "<UNK>"

    Returns:
    indices -- list of T_x int; indices[t - 1] is the index of token x<t>
    """
    unk = index["<UNK>"]
    return [index.get(token, unk) for token in tokens]


def decode(indices, vocab):
    """The words of a list of indices: the inverse of encode, except that unknown words come back as "<UNK>".

    Arguments:
    indices -- list of T_x int, each in 0..V-1
    vocab -- list of V str

    Returns:
    words -- list of T_x str; words[t - 1] is vocab[indices[t - 1]]
    """
    return [vocab[k] for k in indices]


def one_hot(index, V):
    """The one-hot column vector of a word index.

    Arguments:
    index -- int, the index of a word, 0 <= index <= V - 1
    V -- int, the vocabulary size

    Returns:
    x -- numpy array of float of shape (V, 1): 1.0 in row index, 0.0 everywhere else

    Raises:
    IndexError -- if index is not in 0..V-1 (numpy would read a negative index from the end)
    """
    if not 0 <= index < V:
        raise IndexError(f"index {index} is outside the vocabulary: indices run from 0 to V - 1 = {V - 1}")
    x = np.zeros((V, 1))
    x[index, 0] = 1.0
    return x


def one_hot_sentence(indices, V):
    """The one-hot matrix of a sentence: column t - 1 is the one-hot vector of x<t>.

    Arguments:
    indices -- list of T_x int, each in 0..V-1
    V -- int, the vocabulary size

    Returns:
    X -- numpy array of float of shape (V, T_x); X[:, t - 1] is one_hot(indices[t - 1], V) as a flat column
    """
    X = np.zeros((V, len(indices)))
    for t, k in enumerate(indices):  # 0-based t: column t holds x<t + 1>
        X[:, t] = one_hot(k, V)[:, 0]
    return X


def one_hot_batch(batch, V):
    """The one-hot array of a batch of sentences of different lengths, padded with zero columns.

    Arguments:
    batch -- list of m lists of int; sentence i is the list of its T_x^(i) word indices, each in 0..V-1
    V -- int, the vocabulary size

    Returns:
    x -- numpy array of float of shape (V, m, T_max), where T_max is the largest T_x^(i):
         x[:, i - 1, t - 1] is the one-hot vector of word t of sentence i, and an all-zero
         column for t > T_x^(i) (padding is no word at all, not "<UNK>")
    """
    m = len(batch)
    T_max = max(len(indices) for indices in batch)
    x = np.zeros((V, m, T_max))
    for i, indices in enumerate(batch):  # 0-based i: sentence i + 1
        x[:, i, : len(indices)] = one_hot_sentence(indices, V)  # the padding columns stay zero
    return x
