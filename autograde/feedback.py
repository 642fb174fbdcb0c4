"""What learners see in their feedback: points and plain words, never hidden code.

nbgrader's feedback HTML is the autograded notebook, so by default it shows the hidden
test regions that were put back for grading, and the traceback of a failed check shows
the lines that called it. :class:`HideHiddenTests` removes both: hidden regions leave
the sources, and an error in a grade cell is reduced to its type and message (the
checks' messages are written for learners).
"""
from __future__ import annotations

import re

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
