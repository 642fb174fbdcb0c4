"""nbgrader preprocessors of the course's own, for the paths nbgrader itself runs."""
from __future__ import annotations

import re

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from autograde.authoring.markers import BEGIN_HIDDEN, strip_hidden

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class HideHiddenTests(NbGraderPreprocessor):
    """For nbgrader's own ``generate_feedback`` (the formgrader's button): remove hidden
    test code and traceback lines from graded notebooks."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        had_hidden = BEGIN_HIDDEN in cell.source
        cell.source = strip_hidden(cell.source)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and (had_hidden or utils.is_grade(cell)):
                out["traceback"] = [f"{out.get('ename', 'Error')}: {_ANSI.sub('', str(out.get('evalue', '')))}"]
        return cell, resources
