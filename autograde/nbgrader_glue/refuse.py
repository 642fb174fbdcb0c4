"""nbgrader's own autograde refuses in the course directory.

A plain ``nbgrader autograde`` (the command, or the formgrader's "autograde" button)
would run the hidden regions of the source notebooks, that is the hidden checks, inside
the learner's own kernel, without a sandbox: the learner's code could reach them. So
in a course directory it stops with one line pointing to ``python -m autograde grade``,
which grades through the sandbox and the trusted checks. Only the benchmark's own copy
of the course turns it back on (``apply(..., in_kernel_baseline=True)``), to time plain
nbgrader against this grader.
"""
from __future__ import annotations

import os
import sys

from nbgrader.preprocessors import NbGraderPreprocessor

REFUSAL = ("nbgrader autograde is turned off in this course: it would run the hidden checks inside the "
           "learner's kernel, without a sandbox; grade with `python -m autograde grade SUBMISSIONS` instead")


class RefuseAutograde(NbGraderPreprocessor):
    """The first of nbgrader's autograde steps here: it stops the notebook (the formgrader
    shows the one line)."""

    def preprocess(self, nb, resources):
        raise RuntimeError(REFUSAL)


def refuse_command() -> None:
    """Stop a ``nbgrader autograde`` command at once, as it reads the course's configuration."""
    if os.path.basename(sys.argv[0] if sys.argv else "") == "nbgrader" and sys.argv[1:2] == ["autograde"]:
        print(f"[AutogradeApp | ERROR] {REFUSAL}", file=sys.stderr)
        sys.exit(1)
