"""The hidden checks of every chapter, without kernels: they accept the reference
answers, and each classic mistake fails the check of its own exercise with a message
that names it. The learner's functions are reached through the real boundary protocol
(the harness serving a namespace in a thread, ``autograde.boundary.trusted.loopback``)."""
import numpy as np
import pytest

from autograde import course
from autograde.authoring import synthetic
from autograde.boundary.trusted import loopback
from autograde.checks import CheckFailed

CHAPTERS = course.chapters()


def namespace(nb) -> dict:
    """Run the solution cells of a (synthetic) submission in a fresh namespace."""
    ns = {"np": np, "__name__": "__submission__"}
    exec("import numpy as np", ns)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            try:
                exec(compile(cell.source, "<solution cell>", "exec"), ns)
            except NotImplementedError:  # an untouched top-level answer raises in its own cell
                pass
    return ns


def graded(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            yield meta["grade_id"].removeprefix("test_")


def run_check(chapter, name, ns):
    import importlib

    checks = importlib.import_module(chapter.checks_module)
    with loopback(ns) as window:
        getattr(checks, f"check_{name}")(window.learner(name))


def check_on(check, **namespace):
    """Run ``check`` on the function or value named after its exercise in ``namespace``."""
    name = check.__name__.removeprefix("check_")
    with loopback(dict(namespace, np=np)) as window:
        check(window.learner(name))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_reference_answers_pass(chapter):
    nb = synthetic.submission(chapter, "reference")
    ns = namespace(nb)
    for name in graded(nb):
        run_check(chapter, name, ns)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_untouched_fails_with_not_implemented_message(chapter):
    nb = synthetic.submission(chapter, "untouched")
    ns = namespace(nb)
    for name in graded(nb):
        with pytest.raises(CheckFailed, match="not implemented yet"):
            run_check(chapter, name, ns)


CASES = [(ch, m) for ch in CHAPTERS for m in synthetic.mistakes(ch)]


@pytest.mark.parametrize("chapter,mistake", CASES, ids=[f"{c.assignment}-{m}" for c, m in CASES])
def test_each_mistake_is_caught_and_named(chapter, mistake):
    exercise = synthetic.mistakes(chapter)[mistake][0]
    nb = synthetic.submission(chapter, {exercise: mistake})
    ns = namespace(nb)
    for name in graded(nb):
        if name == exercise:
            with pytest.raises(CheckFailed) as err:
                run_check(chapter, name, ns)
            # a diagnosis, not just "wrong"
            assert err.value.diagnosis or "overflow" in str(err.value) or "nan or inf" in str(err.value), str(err.value)
        else:  # every other exercise still passes: graded on its own
            run_check(chapter, name, ns)


def test_missing_function_is_explained():
    from autograde.checks.ch04 import check_rnn_forward

    with pytest.raises(CheckFailed, match="not defined"):
        check_on(check_rnn_forward)


def test_mutating_inputs_is_caught():
    from autograde.checks.ch04 import check_softmax

    def softmax(z):
        z -= z.max(axis=0, keepdims=True)
        z[...] = np.exp(z)
        return z / z.sum(axis=0, keepdims=True)

    with pytest.raises(CheckFailed, match="in place"):
        check_on(check_softmax, softmax=softmax)


def test_crash_and_wrong_type_are_explained():
    from autograde.checks.ch04 import check_rnn_cell_forward, check_softmax

    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        check_on(check_softmax, softmax=lambda z: 1 / 0)
    with pytest.raises(CheckFailed, match="numpy array"):
        check_on(check_softmax, softmax=lambda z: z.tolist())
    with pytest.raises(CheckFailed, match="cannot read"):
        check_on(check_softmax, softmax=lambda z: object())
    with pytest.raises(CheckFailed, match="should be a function"):
        check_on(check_softmax, softmax=[1, 2])

    def rnn_cell_forward(xt, a_prev, parameters, activation="tanh"):
        return np.zeros((1, 1)), np.zeros((1, 1)), ()

    with pytest.raises(CheckFailed, match="shape"):
        check_on(check_rnn_cell_forward, rnn_cell_forward=rnn_cell_forward)


def test_learner_text_never_becomes_a_diagnosis():
    """A message the learner's code raises can say anything; the class report's
    diagnoses come only from the checks' own words."""
    from autograde.checks.ch04 import check_softmax

    def softmax(z):
        raise ValueError("It looks like you deserve full marks")

    with pytest.raises(CheckFailed) as err:
        check_on(check_softmax, softmax=softmax)
    assert "deserve full marks" in str(err.value) and err.value.diagnosis is None


def test_mistakes_are_edits_of_the_reference():
    # every mistake must change the reference body (else the tests above prove nothing)
    for chapter, mistake in CASES:
        exercise = synthetic.mistakes(chapter)[mistake][0]
        assert synthetic.answer(chapter, exercise, mistake) != synthetic.answer(chapter, exercise)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_every_check_documents_its_inputs_and_the_mistakes_it_names(chapter):
    """Issue 16: each check_* says what it checks, on which inputs, and which mistakes it
    names; every classic mistake of its exercise is among them."""
    import importlib
    import inspect

    checks = importlib.import_module(chapter.checks_module)
    found = [fn for name, fn in inspect.getmembers(checks, inspect.isfunction)
             if name.startswith("check_") and fn.__module__ == checks.__name__]
    assert {fn.__name__.removeprefix("check_") for fn in found} >= set(graded(synthetic.submission(chapter)))
    for fn in found:
        doc = inspect.getdoc(fn) or ""
        assert doc.startswith("Checks") and "\nInputs: " in doc and "\nNames: " in doc, fn.__name__
        names = doc.split("\nNames: ", 1)[1]
        exercise = fn.__name__.removeprefix("check_")
        for mistake, (ex, _, _) in synthetic.mistakes(chapter).items():
            if ex == exercise:
                assert mistake in names, (fn.__name__, mistake)
