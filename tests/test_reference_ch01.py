"""The chapter 1 reference, checked independently: counts worked out by hand, by
building the actual weight arrays, and the answers against the chapter's own facts."""
import numpy as np
import pytest

from solutions.ch01 import APPLICATIONS, dense_parameter_count, rnn_parameter_count, sequence_answers


def test_answers_cover_the_seven_applications_with_booleans():
    answers = sequence_answers()
    assert list(answers) == list(APPLICATIONS)
    assert len(APPLICATIONS) == 7
    for value in answers.values():
        assert isinstance(value, tuple) and len(value) == 3 and all(type(v) is bool for v in value)


def test_answers_follow_from_the_definitions():
    answers = sequence_answers()
    # same_length can only hold when both sides are sequences
    for x_seq, y_seq, same in answers.values():
        assert not same or (x_seq and y_seq)
    # one label per element of x: named entities (one per word) and DNA (one per base)
    assert answers["named_entity_recognition"] == (True, True, True)
    assert answers["dna_sequence_analysis"] == (True, True, True)
    # a single output value: a rating, an activity
    assert answers["sentiment_classification"] == (True, False, False)
    assert answers["video_activity_recognition"] == (True, False, False)
    # sequence to sequence of another length
    assert answers["speech_recognition"] == (True, True, False)
    assert answers["machine_translation"] == (True, True, False)
    # a sequence out of (almost) nothing
    assert answers["music_generation"] == (False, True, False)


def test_dense_count_by_hand():
    # T_max = 2, n_x = 3, n_h = 4, n_y = 1: W1 (4, 6), b1 (4,), W2 (2, 4), b2 (2,)
    assert dense_parameter_count(2, 3, 4, 1) == 24 + 4 + 8 + 2
    # the chapter's realistic sizes: 50 * 10,000 * 100 + 100 + 100 * 100 + 100
    assert dense_parameter_count(50, 10_000, 100, 2) == 50_010_200


def test_rnn_count_by_hand():
    # n_x = 3, n_a = 2, n_y = 1: Waa 4, Wax 6, ba 2, Wya 2, by 1
    assert rnn_parameter_count(3, 2, 1) == 15
    assert rnn_parameter_count(10_000, 100, 2) == 1_010_302


@pytest.mark.parametrize("T_max,n_x,n_h,n_y", [(1, 1, 1, 1), (3, 5, 7, 2), (10, 4, 3, 6)])
def test_dense_count_equals_the_size_of_the_actual_arrays(T_max, n_x, n_h, n_y):
    # build the layers for real and run them on a padded batch, then count what was used
    rng = np.random.default_rng(0)
    W1, b1 = rng.standard_normal((n_h, T_max * n_x)), np.zeros((n_h, 1))
    W2, b2 = rng.standard_normal((T_max * n_y, n_h)), np.zeros((T_max * n_y, 1))
    x = rng.standard_normal((n_x, 5, T_max))  # (n_x, m, T_max), as the course lays sequences out
    flat = x.transpose(2, 0, 1).reshape(T_max * n_x, 5)  # x<1> on top of x<2> ... for every example
    out = W2 @ np.tanh(W1 @ flat + b1) + b2
    assert out.shape == (T_max * n_y, 5)
    assert dense_parameter_count(T_max, n_x, n_h, n_y) == sum(a.size for a in (W1, b1, W2, b2))


@pytest.mark.parametrize("n_x,n_a,n_y", [(1, 1, 1), (4, 3, 2), (10, 7, 5)])
def test_rnn_count_equals_the_size_of_the_chapter_4_parameters(n_x, n_a, n_y):
    shapes = {"Waa": (n_a, n_a), "Wax": (n_a, n_x), "ba": (n_a, 1), "Wya": (n_y, n_a), "by": (n_y, 1)}
    assert rnn_parameter_count(n_x, n_a, n_y) == sum(int(np.prod(s)) for s in shapes.values())


def test_dense_grows_with_length_and_rnn_does_not():
    # each extra position adds n_x * n_h input weights plus n_h * n_y + n_y output weights
    for T in range(1, 6):
        assert dense_parameter_count(T + 1, 10, 4, 3) - dense_parameter_count(T, 10, 4, 3) == 10 * 4 + 4 * 3 + 3
    # with one position, the dense network has more parameters than the RNN only by the
    # recurrent matrix it lacks: same layers otherwise (n_h = n_a)
    assert rnn_parameter_count(10, 4, 3) - dense_parameter_count(1, 10, 4, 3) == 4 * 4


def test_counts_are_python_ints_even_for_large_sizes():
    big = dense_parameter_count(1000, 100_000, 1000, 10)
    assert isinstance(big, int) and big == 1000 * 100_000 * 1000 + 1000 + 1000 * 10 * 1000 + 1000 * 10
