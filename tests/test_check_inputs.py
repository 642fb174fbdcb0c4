"""The hidden checks agree with the reference on every documented input: correct answers
written another way than the reference (independently, not by calling it) pass on large
magnitudes, integer inputs where ints are allowed, and the exact keys and dtypes the
docstrings state; the check's inputs really contain those cases."""
import numpy as np
import pytest

from autograde.boundary.trusted import loopback
from autograde.checks import CheckFailed, ch02, ch03, ch04, ch06, ch08


def passes(check, **namespace):
    name = check.__name__.removeprefix("check_")
    with loopback(dict(namespace, np=np)) as window:
        check(window.learner(name))


def fails(check, **namespace):
    with pytest.raises(CheckFailed) as err:
        passes(check, **namespace)
    return err.value


# ---------------------------------------------------------------- softmax, large magnitudes and ints
def softmax_logsumexp(z):
    """Column-wise softmax through log-sum-exp, written apart from the reference."""
    z = np.asarray(z, dtype=float)
    top = z.max(axis=0)
    lse = top + np.log(np.exp(z - top).sum(axis=0))
    return np.exp(z - lse)


def test_the_softmax_check_has_large_and_integer_logits():
    assert any(np.abs(z).max() >= 1000 for z in ch04.LARGE_LOGITS)
    assert any(np.issubdtype(z.dtype, np.integer) for z in ch04.LARGE_LOGITS)
    spread = [z for z in ch04.LARGE_LOGITS if np.any(np.abs(z.mean(axis=0)) < 1) and np.abs(z).max() > 1000]
    assert spread, "no column whose mean is far from its maximum"


def test_an_independent_softmax_passes_and_naive_ones_fail():
    passes(ch04.check_softmax, softmax=softmax_logsumexp)
    with np.errstate(all="ignore"):
        assert fails(ch04.check_softmax, softmax=lambda z: np.exp(z - z.mean(axis=0)) / np.exp(
            z - z.mean(axis=0)).sum(axis=0)).mistake == "softmax_subtracts_mean"
        assert fails(ch04.check_softmax, softmax=lambda z: np.exp(z - z.max()) / np.exp(
            z - z.max()).sum(axis=0)).mistake == "softmax_global_max"


# ---------------------------------------------------------------- cross-entropy, large scores
def softmax_cross_entropy(scores, y):
    m = scores.shape[1]
    top = scores.max(axis=0, keepdims=True)
    lse = top + np.log(np.exp(scores - top).sum(axis=0, keepdims=True))
    loss = float(np.sum(y * (lse - scores)) / m)
    return loss, (np.exp(scores - lse) - y) / m


def test_an_independent_cross_entropy_passes_on_large_scores():
    passes(ch06.check_softmax_cross_entropy, softmax_cross_entropy=softmax_cross_entropy)


# ---------------------------------------------------------------- numerical gradient, integer theta
def numerical_gradient(f, theta, eps=1e-5):
    flat = theta.astype(float).ravel()
    grad = np.empty_like(flat)
    for i in range(flat.size):
        step = np.zeros_like(flat)
        step[i] = eps
        grad[i] = (f((flat + step).reshape(theta.shape)) - f((flat - step).reshape(theta.shape))) / (2 * eps)
    return grad.reshape(theta.shape)


def test_the_gradient_check_has_an_integer_point_and_an_independent_version_passes():
    assert any(np.issubdtype(theta.dtype, np.integer) for _, theta, _ in ch06._test_functions(
        np.random.default_rng(0)))
    passes(ch06.check_numerical_gradient, numerical_gradient=numerical_gradient)


# ---------------------------------------------------------------- dtypes the docstrings state
def name_labels(tokens, names):
    return np.fromiter((tok in names for tok in tokens), dtype=np.int64, count=len(tokens))[None, :]


def test_labels_are_ints_even_for_an_empty_sentence():
    passes(ch02.check_name_labels, name_labels=name_labels)
    err = fails(ch02.check_name_labels,
                name_labels=lambda tokens, names: np.array([[1 if t in names else 0 for t in tokens]]))
    assert err.mistake == "labels_without_int_dtype"  # np.array([[]]) holds floats


def test_pad_batch_gives_floats_for_integer_sequences():
    assert any(isinstance(v, int) for _, _, v in ch02.PAD_CASES)

    def sequence_lengths(sequences):
        return np.array([s.shape[1] for s in sequences])

    def pad_batch(sequences, pad_value=0.0):
        T_max = max(s.shape[1] for s in sequences)
        X = np.stack([np.pad(s.astype(float), ((0, 0), (0, T_max - s.shape[1])), constant_values=pad_value)
                      for s in sequences], axis=1)
        mask = np.array([[1.0] * s.shape[1] + [0.0] * (T_max - s.shape[1]) for s in sequences]).reshape(
            len(sequences), T_max)
        return X, mask

    passes(ch02.check_pad_batch, pad_batch=pad_batch, sequence_lengths=sequence_lengths)


def test_one_hot_sentences_and_batches_hold_floats():
    def one_hot(index, V):
        if not 0 <= index < V:
            raise IndexError(index)
        return np.eye(V)[:, [index]]

    def one_hot_sentence(indices, V):
        return np.eye(V)[:, list(indices)].reshape(V, len(indices))

    passes(ch03.check_one_hot_sentence, one_hot_sentence=one_hot_sentence, one_hot=one_hot)
    err = fails(ch03.check_one_hot_sentence, one_hot=one_hot,
                one_hot_sentence=lambda indices, V: np.eye(V, dtype=int)[:, list(indices)].reshape(V, len(indices)))
    assert err.mistake == "sentence_int_dtype"


# ---------------------------------------------------------------- exact keys
def test_gradients_hold_exactly_the_documented_keys():
    from solutions import ch08 as ref

    def lm_loss_and_gradients(x, targets, a0, parameters):
        loss, grads, a_last = ref.lm_loss_and_gradients(x, targets, a0, parameters)
        return loss, dict(grads, da0=np.zeros_like(a0)), a_last

    err = fails(ch08.check_lm_loss_and_gradients, lm_loss_and_gradients=lm_loss_and_gradients,
                rnn_forward=ref.rnn_forward, rnn_backward=ref.rnn_backward, softmax=ref.softmax,
                cross_entropy=ref.cross_entropy, cross_entropy_gradient=ref.cross_entropy_gradient)
    assert err.mistake == "lm_gradients_extra_keys"
