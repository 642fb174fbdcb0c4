"""Feedback is not an answer key: a learner who rebuilds answers from the messages of
their own failed checks gets no extra point (issue 14, part 5)."""
import re

import numpy as np
import pytest

from autograde.boundary.trusted import loopback
from autograde.checks import CheckFailed, ch01, ch08
from solutions import ch01 as ref01


def message(check, name, fn) -> str:
    with pytest.raises(CheckFailed) as err, loopback({name: fn, "np": np}) as window:
        check(window.learner(name))
    return str(err.value)


# Every classic mistake's message is checked for expected values in
# tests/test_diagnoses.py (test_each_mistake_gets_its_own_name_and_no_other), on the same run.
EXPECTED_VALUE = re.compile(r"expected\s*[\[\d\-{'\"]|expected\n|should be (True|False)")


def _old_key_reader(said: str, answers: dict) -> dict:
    """What the learner who got 7/7 did: read "<application>: <field> should be <value>"
    lines, and flip the fields of every application the message names."""
    rebuilt = {k: list(v) for k, v in answers.items()}
    stated = re.findall(r"(\w+): (x_is_sequence|y_is_sequence|same_length) should be (True|False)", said)
    for app, field, value in stated:
        rebuilt[app][ch01.FIELDS.index(field)] = value == "True"
    for app in [] if stated else ref01.APPLICATIONS:
        for k, field in enumerate(ch01.FIELDS):
            if re.search(rf"{app}\W+{field}", said):
                rebuilt[app][k] = not rebuilt[app][k]
    return {k: tuple(v) for k, v in rebuilt.items()}


def test_chapter_1_feedback_does_not_rebuild_the_key():
    """A learner with four fields wrong reads their feedback and resubmits: still wrong,
    and the message names no application and no count to narrow the search."""
    right = ref01.sequence_answers()
    answers = dict(right)
    for app, k in [("machine_translation", 2), ("sentiment_classification", 1), ("music_generation", 0),
                   ("speech_recognition", 2)]:
        v = list(answers[app])
        v[k] = not v[k]
        answers[app] = tuple(v)
    said = message(ch01.check_sequence_answers, "sequence_answers", lambda: answers)
    assert not any(app in said for app in ref01.APPLICATIONS), said
    assert not re.search(r"\d+ of the 21", said), said
    rebuilt = _old_key_reader(said, answers)
    assert rebuilt != right
    message(ch01.check_sequence_answers, "sequence_answers", lambda: rebuilt)  # still fails


def test_the_old_chapter_1_message_would_have_given_the_key():
    """The reader above is not vacuous: on the message chapter 1 used to print, it
    rebuilds every answer."""
    right = ref01.sequence_answers()
    answers = {app: (not a, not b, not c) for app, (a, b, c) in right.items()}
    old = "\n".join(f"{app}: {field} should be {right[app][k]}. It looks like ..."
                    for app in right for k, field in enumerate(ch01.FIELDS))
    assert _old_key_reader(old, answers) == right


def _argmax_sampler(parameters, eos_index, seed, temperature=1.0, max_length=30):
    V, n_a = parameters["Wya"].shape
    x, a_prev, out = np.zeros((V, 1)), np.zeros((n_a, 1)), []
    while len(out) < max_length:
        a_prev = np.tanh(parameters["Waa"] @ a_prev + parameters["Wax"] @ x + parameters["ba"])
        z = (parameters["Wya"] @ a_prev + parameters["by"]) / temperature
        idx = int(np.argmax(z))
        out.append(idx)
        if idx == eos_index:
            break
        x = np.zeros((V, 1))
        x[idx] = 1.0
    return out


def test_chapter_8_sampler_feedback_gives_no_name_to_copy():
    """The sampler's check used to print the reference's name for the case it showed; a
    learner answering that case with every list the message holds gains nothing."""
    said = message(ch08.check_sample, "sample", _argmax_sampler)
    shown = [list(map(int, re.findall(r"-?\d+", lst))) for lst in re.findall(r"\[[\d, ]+\]", said)]
    case = re.search(r"<EOS> at index (\d+) \(seed=(\d+), temperature=([\d.]+), max_length=(\d+)\)", said)
    assert case, said
    eos, seed, temperature, max_length = int(case[1]), int(case[2]), float(case[3]), int(case[4])
    from solutions.ch04 import softmax

    fixed = {}
    for lst in shown:
        fixed[(eos, seed, temperature, max_length)] = lst

    def replay(parameters, eos_index, seed, temperature=1.0, max_length=30):
        key = (eos_index, seed, float(temperature), max_length)
        return fixed.get(key) or _argmax_sampler(parameters, eos_index, seed, temperature, max_length)

    with pytest.raises(CheckFailed) as err, loopback({"sample": replay, "np": np, "softmax": softmax}) as window:
        ch08.check_sample(window.learner("sample"))
    before = int(re.search(r"(\d+) of \d+ cases differ", said)[1])
    after = int(re.search(r"(\d+) of \d+ cases differ", str(err.value))[1])
    assert after >= before


def test_chapter_7_feedback_names_no_task_and_no_architecture():
    """Multiple choice: the message says what to revisit, never a task or the right name."""
    from autograde.checks import ch07
    from solutions import ch07 as ref07

    right = {t: ch07.WHY[t][1] for t in ref07.TASKS}
    answers = dict(right)
    first = ref07.TASKS[0]
    answers[first] = next(a for a in ref07.ARCHITECTURES if a != right[first])
    with pytest.raises(CheckFailed) as err, loopback({"architectures": answers}) as window:
        ch07.check_architectures(window.learner("architectures"))
    said = str(err.value)
    assert not any(t in said for t in ref07.TASKS), said
    assert not any(repr(a) in said or f" {a}" in said for a in ref07.ARCHITECTURES), said
    assert err.value.diagnosis  # the class report still learns which mistake it was
