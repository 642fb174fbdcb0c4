"""Synthetic submissions, for the tests and the benchmarks.

A submission is the released chapter with some exercises answered: with the reference
body (``"reference"``), left as the stub (``"untouched"``), or with one of the classic
mistakes below, each written as a small edit of the reference body.
"""
from __future__ import annotations

import copy
import importlib

import nbformat

from autograde import assemble, course

# chapter number -> mistake name -> (exercise, old text, new text) applied to the reference body
MISTAKES: dict[int, dict[str, tuple[str, str, str]]] = {
    4: {
        "softmax_wrong_axis": ("softmax", "axis=0", "axis=1"),
        "softmax_overflow": ("softmax", "np.exp(z - np.max(z, axis=0, keepdims=True))", "np.exp(z)"),
        "yt_pred_from_a_prev": ("rnn_cell_forward", "softmax(Wya @ a_next + by)", "softmax(Wya @ a_prev + by)"),
        "bias_left_out": ("rnn_cell_forward", "Wax @ xt + ba", "Wax @ xt"),
        "waa_transposed": ("rnn_cell_forward", "Waa @ a_prev", "Waa.T @ a_prev"),
        "loop_not_from_a0": ("rnn_forward", "a_next = a0", "a_next = np.zeros_like(a0)"),
    },
}


def answer(chapter: course.Chapter, exercise: str, mistake: str | None = None) -> str:
    """The body (dedented) a learner would write for ``exercise``."""
    reference = importlib.import_module(chapter.solutions_module)
    _, _, body = assemble._function_parts(getattr(reference, exercise))
    text = "\n".join(body)
    if mistake:
        ex, old, new = MISTAKES[chapter.number][mistake]
        assert ex == exercise and old in text, (mistake, exercise)
        text = text.replace(old, new)
    return text


def submission(chapter: course.Chapter, answers: str | dict = "reference") -> nbformat.NotebookNode:
    """The chapter notebook with its exercises answered.

    ``answers``: "reference", "untouched", or a dict exercise -> "reference" |
    "untouched" | a mistake name from MISTAKES (exercises not named get the reference).
    """
    nb = copy.deepcopy(nbformat.read(chapter.path, as_version=4))
    if answers == "untouched":
        return nb
    plan = {} if answers == "reference" else dict(answers)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        lines = cell.source.split("\n")
        for i, indent in reversed(assemble._stub_positions(lines)):
            fn = assemble._enclosing_function(__import__("ast").parse(cell.source), i + 1)
            exercise = fn.name if fn else f"cell_{meta['grade_id']}"
            choice = plan.get(exercise, "reference")
            if choice == "untouched":
                continue
            body = answer(chapter, exercise, None if choice == "reference" else choice)
            lines[i : i + len(assemble.STUB_LINES)] = [indent + b if b else b for b in body.split("\n")]
        cell.source = "\n".join(lines)
    return nb


def exercise_of(chapter_number: int, mistake: str) -> str:
    return MISTAKES[chapter_number][mistake][0]
