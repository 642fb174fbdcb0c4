"""What learners see in their feedback: points and plain words, never hidden code.

nbgrader's feedback HTML is the autograded notebook, so by default it shows the hidden
test regions that were put back for grading, and the traceback of a failed check shows
the lines that called it. :class:`HideHiddenTests` removes both: hidden regions leave
the sources, and an error in a grade cell is reduced to its type and message (the
checks' messages are written for learners).
"""
from __future__ import annotations

import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from autograde.assemble import BEGIN_HIDDEN, END_HIDDEN

_HIDDEN = re.compile(re.escape(BEGIN_HIDDEN) + r".*?" + re.escape(END_HIDDEN) + r"\n?", re.S)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_hidden(source: str) -> str:
    return _HIDDEN.sub("", source).rstrip("\n")


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden test code and traceback lines from graded notebooks."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        had_hidden = BEGIN_HIDDEN in cell.source
        cell.source = strip_hidden(cell.source)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and (had_hidden or cell.metadata.get("nbgrader", {}).get("grade")):
                ename, evalue = out.get("ename", "Error"), _ANSI.sub("", out.get("evalue", ""))
                if ename == "CheckFailed":
                    out["traceback"] = [f"Hidden check failed: {evalue}"]
                else:
                    out["traceback"] = [f"{ename}: {evalue}"]
        return cell, resources


def _verdict(cell) -> str:
    """What a learner should read about one graded cell: its check's message, or passed."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), _ANSI.sub("", out.get("evalue", ""))
            if ename == "CheckFailed":
                return evalue
            if ename == "NotRun":
                return f"not run: {evalue}"
            if ename in ("CellTimeoutError", "KeyboardInterrupt"):
                return "stopped: this cell ran longer than the time limit"
            return f"{ename}: {evalue}" if evalue else ename
    return "passed"


def summary_cell(nb, result) -> nbformat.NotebookNode:
    """A Markdown cell for the top of the feedback: every exercise with its points and,
    when it lost points, why, in the checks' plain words."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")

    rows = ["| Exercise | Points | Result |", "| --- | --- | --- |"]
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or meta.get("solution"):
            continue
        name = meta["grade_id"].removeprefix("test_")
        score = meta.get("score")
        points = meta.get("points", 0)
        shown = "" if score is None else f"{float(score):g} / {float(points):g}"
        rows.append(f"| `{name}` | {shown} | {esc(_verdict(cell))} |")
    lines = [f"## Your results: {result.score:g} / {result.max_score:g}", ""]
    if result.status not in ("graded",):
        lines += [f"**Status:** {result.status}. {esc(result.message)}", ""]
    if getattr(result, "seconds_late", 0):
        lines += [f"Submitted {result.seconds_late / 3600:.1f} hours after the due date.", ""]
    lines += rows
    lines += ["", "Each exercise is graded on its own: a mistake in one function does not cost the points "
                  "of the functions that call it. The hidden checks run your functions on random inputs of "
                  "many sizes; where one failed, the message above says what your result looks like."]
    return nbformat.v4.new_markdown_cell("\n".join(lines))
