"""The marks nbgrader reads in a source notebook, and the stub that stands for a solution.

A leaf module (it imports nothing of the course's), shared by the assembly of the
sources, the nbgrader configuration, and everything that must cut hidden regions out.
"""
from __future__ import annotations

import re

# What nbgrader puts where a solution was. The chapters' stubs are written the same
# way, so that generating the student edition gives back the chapter exactly.
CODE_STUB = (
    "# YOUR CODE HERE\n"
    'raise NotImplementedError("Exercise not done yet: replace this line with your code.")'
)
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_HIDDEN = re.compile(re.escape(BEGIN_HIDDEN) + r".*?" + re.escape(END_HIDDEN) + r"\n?", re.S)


def strip_hidden(source: str) -> str:
    """``source`` without its hidden test regions."""
    return _HIDDEN.sub("", source).rstrip("\n") if BEGIN_HIDDEN in source else source
