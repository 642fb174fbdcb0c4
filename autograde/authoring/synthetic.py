"""Synthetic submissions, for the tests and the benchmarks.

A submission is the released chapter with some exercises answered: with the reference
body (``"reference"``), left as the stub (``"untouched"``), or with one of the classic
mistakes of its chapter. Each checks module lists its mistakes in ``MISTAKES``:
name -> (exercise, old text, new text), a small edit of the reference body that its
check must catch and name.
"""
from __future__ import annotations

import ast
import copy
import importlib

import nbformat
from nbgrader import utils

from autograde import course
from autograde.authoring import assemble


def answer(chapter: course.Chapter, exercise: str, mistake: str | None = None) -> str:
    """The body (dedented) a learner would write for ``exercise``."""
    reference = importlib.import_module(chapter.solutions_module)
    # a function's exercise is named after the function; a top-level answer after its
    # cell's grade id, with its reference in cell_<grade id>() (see autograde.authoring.assemble)
    fn = getattr(reference, exercise, None) or getattr(reference, f"cell_{exercise}")
    _, _, body = assemble.function_parts(fn)
    text = "\n".join(body)
    if mistake:
        ex, old, new = mistakes(chapter)[mistake]
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
        if cell.cell_type != "code" or not utils.is_solution(cell):
            continue
        lines = cell.source.split("\n")
        for i, indent in reversed(assemble.stub_positions(lines)):
            fn = assemble.enclosing_function(ast.parse(cell.source), i + 1)
            exercise = fn.name if fn else cell.metadata["nbgrader"]["grade_id"]
            choice = plan.get(exercise, "reference")
            if choice == "untouched":
                continue
            body = answer(chapter, exercise, None if choice == "reference" else choice)
            lines[i : i + len(assemble.STUB_LINES)] = [indent + b if b else b for b in body.split("\n")]
        cell.source = "\n".join(lines)
    return nb


def mistakes(chapter: course.Chapter) -> dict[str, tuple[str, str, str]]:
    return importlib.import_module(chapter.checks_module).MISTAKES
