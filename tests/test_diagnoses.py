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


# ---------------------------------------------------------------- every classic mistake, its own name
import importlib  # noqa: E402

from autograde import course  # noqa: E402
from autograde.authoring import synthetic  # noqa: E402
from autograde.checks import Mistake, decide, run  # noqa: E402
from tests.test_checks import namespace  # noqa: E402
from tests.test_feedback_replay import EXPECTED_VALUE  # noqa: E402

CHAPTERS = course.chapters()
CASES = [(ch, m) for ch in CHAPTERS for m in synthetic.mistakes(ch)]


@pytest.mark.parametrize("chapter,mistake", CASES, ids=[f"{c.assignment}-{m}" for c, m in CASES])
def test_each_mistake_gets_its_own_name_and_no_other(chapter, mistake):
    """The reference with one classic mistake applied fails its exercise's check with
    exactly that mistake's name (what the runner records and the report counts)."""
    module = importlib.import_module(chapter.checks_module)
    exercise = synthetic.mistakes(chapter)[mistake][0]
    ns = namespace(synthetic.submission(chapter, {exercise: mistake}))
    with pytest.raises(CheckFailed) as err, loopback(ns) as window:
        run(module, exercise, window.learner(exercise))
    assert err.value.mistake == mistake, (err.value.mistake, err.value.candidates, str(err.value))
    assert err.value.diagnosis
    # feedback is not an answer key: no expected output of the case in the message
    assert not EXPECTED_VALUE.search(str(err.value)), str(err.value)


def test_two_mistakes_that_both_fit_are_not_told_apart():
    same = [Mistake("a", "A", lambda case: case * 2), Mistake("b", "B", lambda case: case + case)]
    found, names = decide([(1, 2), (3, 6)], same)
    assert found is None and names == ["a", "b"]
    found, names = decide([(1, 2), (3, 6)], same[:1])
    assert found is same[0] and names == ["a"]


def test_a_mistake_that_misses_one_failing_case_is_not_named():
    """Named only when it reproduces EVERY case, not the first failing one."""
    squares = Mistake("squares", "squared", lambda case: case * case)
    assert decide([(2, 4), (3, 9)], [squares])[0] is squares
    assert decide([(2, 4), (3, 7)], [squares]) == (None, [])


def test_global_random_state_is_not_called_argmax():
    """Chapter 8: np.random.choice ignores the seed; the same seed gives different names."""
    from autograde.checks import ch08

    def sample(parameters, eos_index, seed, temperature=1.0, max_length=30):
        V, n_a = parameters["Wya"].shape
        x, a_prev, out = np.zeros((V, 1)), np.zeros((n_a, 1)), []
        while len(out) < max_length:
            a_prev = np.tanh(parameters["Waa"] @ a_prev + parameters["Wax"] @ x + parameters["ba"])
            z = (parameters["Wya"] @ a_prev + parameters["by"]) / temperature
            p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            idx = int(np.random.choice(V, p=p.ravel()))
            out.append(idx)
            if idx == eos_index:
                break
            x = np.zeros((V, 1))
            x[idx] = 1.0
        return out

    with pytest.raises(CheckFailed) as err, loopback({"sample": sample, "np": np, "softmax": None}) as window:
        ch08.check_sample(window.learner("sample"))
    assert err.value.mistake == "sample_global_random", str(err.value)
    assert "argmax" not in err.value.diagnosis


def test_a_mistake_that_explains_only_the_first_failing_case_is_not_named():
    """Through run() every wrong comparison is collected: an answer that looks like
    "Wax before Waa" on the first case but not on the next gets no diagnosis."""
    from autograde.checks import ch05

    calls = []

    def stack_weights(Waa, Wax):
        calls.append(1)
        if len(calls) == 1:
            return np.concatenate([Wax, Waa], axis=1)
        return np.concatenate([Waa, Wax], axis=1) + 1.0

    with pytest.raises(CheckFailed) as err, loopback({"stack_weights": stack_weights, "np": np}) as window:
        run(ch05, "stack_weights", window.learner("stack_weights"))
    assert err.value.diagnosis is None and err.value.mistake is None, str(err.value)
    assert len(calls) > 1

    def consistent(Waa, Wax):
        return np.concatenate([Wax, Waa], axis=1)

    with pytest.raises(CheckFailed) as err, loopback({"stack_weights": consistent, "np": np}) as window:
        run(ch05, "stack_weights", window.learner("stack_weights"))
    assert err.value.mistake == "wax_before_waa"


@pytest.mark.parametrize("chapter,mistake", CASES, ids=[f"{c.assignment}-{m}" for c, m in CASES])
def test_each_mistake_keeps_its_intended_score(chapter, mistake):
    """Partial credit never softens a classic mistake by accident: the share of its
    exercise's points each one keeps is the one its checks module states (``KEEPS``; 0
    when not listed)."""
    module = importlib.import_module(chapter.checks_module)
    exercise = synthetic.mistakes(chapter)[mistake][0]
    ns = namespace(synthetic.submission(chapter, {exercise: mistake}))
    with pytest.raises(CheckFailed) as err, loopback(ns) as window:
        run(module, exercise, window.learner(exercise))
    assert err.value.score == pytest.approx(getattr(module, "KEEPS", {}).get(mistake, 0.0)), err.value.parts
    if exercise in getattr(module, "PARTS", {}):
        assert set(err.value.parts) == set(module.PARTS[exercise])
