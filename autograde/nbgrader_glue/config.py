"""The course's nbgrader configuration, in one place.

A course directory made by ``python -m autograde release`` holds a two-line
``nbgrader_config.py`` that calls :func:`apply`, so plain ``nbgrader`` commands run in
that directory behave exactly like ``python -m autograde``.
"""
from __future__ import annotations

import os

from autograde.authoring.markers import CODE_STUB

COURSE_ID = "sequence-models-1"

CELL_TIMEOUT = 60  # seconds a single cell may run while grading (infinite loops)
MAX_OUTPUT_LINES = 200  # stream output kept per cell while grading (output floods)
MAX_TRACEBACK_LINES = 30

# A warning printed on stderr (a RuntimeWarning from numpy, a DeprecationWarning)
# must not zero a correct answer: nbgrader treats any stderr output of a test cell as
# a failure, so the stderr outputs that are warnings are dropped before grading.
# Errors are never on stderr in a notebook (they are "error" outputs), so this
# pattern cannot hide a failing test.
WARNING_PATTERN = r"Warning"


def apply(c, config_file: str | None = None, db_url: str | None = None, in_kernel_baseline: bool = False) -> None:
    """Fill the traitlets config ``c`` (from ``get_config()``) for the course directory
    that holds ``config_file``. ``in_kernel_baseline``: let nbgrader's own autograde run
    the hidden checks in the learner's kernel (the benchmark's copy of the course only;
    everywhere else it refuses, see ``autograde.nbgrader_glue.refuse``)."""
    from autograde.nbgrader_glue import refuse

    if not in_kernel_baseline:
        if config_file:  # read by an nbgrader command in the course directory
            refuse.refuse_command()
        c.Autograde.sanitize_preprocessors = [refuse.RefuseAutograde]
    if config_file:
        root = os.path.dirname(os.path.abspath(config_file))
        c.CourseDirectory.root = root
        # the exchange is for JupyterHub set-ups; keep its default out of /usr/local
        c.Exchange.root = os.path.join(root, "exchange")
    if db_url:
        c.CourseDirectory.db_url = db_url
    c.CourseDirectory.course_id = COURSE_ID

    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.enforce_metadata = True

    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True

    c.IgnorePattern.enabled = True
    c.IgnorePattern.pattern = WARNING_PATTERN
    c.LimitOutput.max_lines = MAX_OUTPUT_LINES
    c.LimitOutput.max_traceback = MAX_TRACEBACK_LINES

    # A learner who deletes a test cell gets it back, and is graded on it.
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.create_student = True

    # Feedback shows each exercise's points and the checks' plain-words verdicts,
    # never the hidden tests' code or the reference (see autograde.outputs.feedback).
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from autograde.nbgrader_glue.preprocessors import HideHiddenTests  # imported late: nbgrader loads this file first

    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
