"""The hidden checks name the mistake a learner actually made, not one that happens to
give the same output on one case."""
import collections

import numpy as np
import pytest

from autograde.boundary.trusted import loopback
from autograde.checks import CheckFailed, ch03


def diagnosis(check, name, fn):
    with pytest.raises(CheckFailed) as err, loopback({name: fn, "np": np}) as window:
        check(window.learner(name))
    return err.value.diagnosis or ""


def test_a_reversed_tie_break_is_not_called_first_appearance():
    """On some corpora the order of first appearance is reverse alphabetical: the check
    must name the explanation that fits every failing case."""
    def build_vocabulary(sentences, size=10000):
        counts = collections.Counter(t for s in sentences for t in s if t != "<UNK>")
        ranked = sorted(sorted(counts, reverse=True), key=lambda w: -counts[w])
        return ["<UNK>"] + ranked[: size - 1]

    said = diagnosis(ch03.check_build_vocabulary, "build_vocabulary", build_vocabulary)
    assert "reverse alphabetical" in said and "first appearance" not in said, said


def test_a_first_appearance_tie_break_is_still_called_so():
    def build_vocabulary(sentences, size=10000):
        counts = collections.Counter(t for s in sentences for t in s if t != "<UNK>")
        return ["<UNK>"] + [w for w, _ in counts.most_common()][: size - 1]

    said = diagnosis(ch03.check_build_vocabulary, "build_vocabulary", build_vocabulary)
    assert "first appearance" in said, said


def test_an_integer_one_hot_vector_is_named():
    def one_hot(index, V):
        if not 0 <= index < V:
            raise IndexError(index)
        x = np.zeros((V, 1), dtype=int)
        x[index, 0] = 1
        return x

    assert "integers" in diagnosis(ch03.check_one_hot, "one_hot", one_hot)
