"""The visible tests catch the classic mistakes on their own.

A learner who runs the test cell under an exercise should hear about a classic mistake
there, in words that point at it, and not only from the grade. For every entry of a
chapter's ``MISTAKES`` (autograde.checks.chNN), the chapter is run with that one mistake
and every other exercise answered with the reference, up to the mistaken exercise's test
cell, with no hidden check anywhere: at least 90 % of the mistakes must make that cell
fail, with a message matching the chapter's ``VISIBLE_TESTS_SAY[mistake]``.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from autograde import course  # noqa: E402
from autograde.authoring import synthetic  # noqa: E402

CHAPTERS = course.chapters()
SHARE = 0.9


def run_to_test(nb, exercise: str, folder) -> str | None:
    """Run the code cells of ``nb`` in a fresh namespace, up to the test cell of
    ``exercise``; its error as "Type: message", or None when it passed."""
    ns = {"__name__": "__main__"}
    with contextlib.chdir(folder), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(cell.source, f"<cell {cell.get('id')}>", "exec"), ns)
            except Exception as exc:  # noqa: BLE001 - a learner's cell may raise anything
                if grade_id == f"test_{exercise}":
                    return f"{type(exc).__name__}: {exc}"
            else:
                if grade_id == f"test_{exercise}":
                    return None
            finally:
                plt.close("all")
    raise AssertionError(f"no test cell test_{exercise}")


def caught(chapter) -> dict[str, tuple[bool, str | None]]:
    """mistake -> (caught with a message that points at it, the visible tests' message)."""
    checks = importlib.import_module(chapter.checks_module)
    says = getattr(checks, "VISIBLE_TESTS_SAY", {})
    found = {}
    for mistake, (exercise, _, _) in synthetic.mistakes(chapter).items():
        message = run_to_test(synthetic.submission(chapter, {exercise: mistake}), exercise, chapter.path.parent)
        pattern = says.get(mistake)
        found[mistake] = (message is not None and pattern is not None and re.search(pattern, message, re.S) is not None,
                          message)
    return found


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_reference_answers_pass_the_visible_tests(chapter):
    nb = synthetic.submission(chapter, "reference")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            exercise = cell.metadata["nbgrader"]["grade_id"].removeprefix("test_")
            assert run_to_test(nb, exercise, chapter.path.parent) is None, exercise


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_visible_tests_catch_the_classic_mistakes(chapter):
    found = caught(chapter)
    missed = {m: msg for m, (ok, msg) in found.items() if not ok}
    share = 1 - len(missed) / len(found)
    print(f"{chapter.assignment}: the visible tests catch {len(found) - len(missed)} of {len(found)} mistakes "
          f"({share:.0%})")
    assert share >= SHARE, f"{chapter.assignment} catches only {share:.0%}; missed (with the message seen):\n" + \
        "\n".join(f"  {m}: {msg}" for m, msg in missed.items())


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_each_exercise_states_its_expected_output_above_its_test(chapter):
    """The Markdown cell right above each test cell (code cells between them allowed)
    says what the worked example should give, under the words "Expected output"."""
    import nbformat

    cells = nbformat.read(chapter.path, as_version=4).cells
    missing = []
    for i, cell in enumerate(cells):
        if cell.metadata.get("nbgrader", {}).get("grade"):
            above = next((c for c in reversed(cells[:i]) if c.cell_type == "markdown"), None)
            if above is None or "Expected output" not in above.source:
                missing.append(cell.metadata["nbgrader"]["grade_id"])
    assert missing == [], f"{chapter.assignment}: no expected output above {missing}"
