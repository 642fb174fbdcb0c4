"""The gradebook, written by one writer (the coordinator), from trusted verdicts only.

nbgrader's ``SaveAutoGrades`` stays the writer of the scores, so the gradebook looks to
nbgrader, the formgrader and manual grading exactly as after ``nbgrader autograde``.
What it reads is not the learner's executed notebook, though: it is a copy of the
sanitized submission whose grade cells carry nothing but the trusted verdicts (no output
for a check that passed, one error for any other), so no output of the learner's kernel
can reach a score. A grade cell without a verdict scores 0.
"""
from __future__ import annotations

import copy
import importlib
import json
import logging

import nbformat
from nbgrader import utils

from autograde.nbgrader_glue.config import COURSE_ID


class SharedGradebook:
    """Stands in for ``nbgrader.api.Gradebook`` inside nbgrader's preprocessors while
    the coordinator runs: they all use its one open gradebook (one engine, so
    SQLAlchemy's compiled-statement cache works, and no schema check per call) instead
    of opening a new one for every notebook. Everything else is nbgrader's own code."""

    MODULES = ("overwritecells", "saveautogrades", "getgrades", "latesubmissions", "overwritekernelspec")

    def __init__(self, db_url: str):
        from nbgrader.api import Gradebook

        self.gb = Gradebook(db_url, COURSE_ID)
        self._saved: dict = {}

    def __call__(self, *args, **kwargs):  # what ``Gradebook(db_url)`` returns inside nbgrader
        return self

    def __enter__(self):
        return self.gb

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.gb.db.rollback()
        return False

    def __getattr__(self, name):
        return getattr(self.gb, name)

    def patch(self) -> None:
        """Make nbgrader's preprocessors use this gradebook (undone by ``close``)."""
        import nbgrader.nbgraderformat.common as fmt

        for name in self.MODULES:
            module = importlib.import_module(f"nbgrader.preprocessors.{name}")
            self._saved[(module, "Gradebook")] = module.Gradebook
            module.Gradebook = self
        # nbgrader checks every cell's metadata with jsonschema.validate, which checks the
        # schema itself again on every call (most of the cost): validate with one
        # compiled validator per schema instead, same schema, same errors
        self._saved[(fmt, "jsonschema")] = fmt.jsonschema
        fmt.jsonschema = _CachedJsonschema(fmt.jsonschema)

    def close(self) -> None:
        for (module, attr), original in self._saved.items():
            setattr(module, attr, original)
        self._saved.clear()
        self.gb.close()


class _CachedJsonschema:
    def __init__(self, module):
        self._module = module
        self._validators: dict[int, object] = {}

    def validate(self, instance, schema):
        v = self._validators.get(id(schema))
        if v is None:
            cls = self._module.validators.validator_for(schema)
            cls.check_schema(schema)
            v = self._validators[id(schema)] = cls(schema)
        v.validate(instance)

    def __getattr__(self, name):
        return getattr(self._module, name)


def verdict_notebook(sanitized, verdicts: dict[str, dict], grade_ids: list[str]):
    """A copy of the sanitized submission in which every grade cell holds only its
    trusted verdict: nothing if its check passed, the points earned as a number (nbgrader's
    partial credit) if some of its sub-checks passed, one error output otherwise. A cell
    that claims to be a grade cell but is none of the chapter's (``grade_ids``) is not
    graded."""
    nb = copy.deepcopy(sanitized)
    for cell in nb.cells:
        if utils.is_grade(cell) and cell.metadata["nbgrader"].get("grade_id") not in grade_ids:
            cell.metadata["nbgrader"]["grade"] = False
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        if utils.is_grade(cell) and not utils.is_solution(cell):
            v = verdicts.get(cell.metadata["nbgrader"]["grade_id"])
            share = _share(v)
            if v and v.get("passed") is not True and share > 0:  # partial credit, as nbgrader reads it
                points = float(cell.metadata["nbgrader"].get("points", 0)) * share
                cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": repr(round(points, 6))},
                                                       execution_count=None)]
            elif not (v and v.get("passed") is True):
                why = (v or {}).get("message") or "no verdict"
                cell.outputs = [nbformat.v4.new_output("error", ename="NotPassed", evalue=why, traceback=[why])]
    return nb


def _share(v: dict | None) -> float:
    """The share of an exercise's points a verdict gives: partial credit only from a number
    the trusted side set, between 0 and 1."""
    if not v:
        return 0.0
    score = v.get("score", 0.0)
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        return 0.0
    return float(score)


def save(config, sanitized, resources: dict, verdicts: dict[str, dict], grade_ids: list[str],
         plog: logging.Logger) -> None:
    """Write the trusted verdicts of one submission to the gradebook with nbgrader's own
    SaveAutoGrades (and its late-penalty step)."""
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    nb = verdict_notebook(sanitized, verdicts, grade_ids)
    for cls in (SaveAutoGrades, AssignLatePenalties):
        nb, resources = cls(config=config, log=plog)(nb, resources)


def save_zeros(gb, assignment: str, notebook: str, student: str) -> None:
    """A submission with no verdict at all (unreadable, or its worker was lost): every
    grade 0, so the gradebook and the journal agree and nothing is left unscored."""
    gb.update_or_create_student(student)
    sub = gb.update_or_create_submission(assignment, student)
    for nb in sub.notebooks:
        if nb.name != notebook:
            continue
        for grade in nb.grades:
            if grade.manual_score is None:
                grade.auto_score = 0.0
            grade.needs_manual_grade = grade.manual_score is not None
    gb.db.commit()


def scores_of(gb, assignment: str, notebook: str, student: str) -> dict[str, float]:
    """The auto scores now in the gradebook, per grade cell (for the journal)."""
    nb = gb.find_submission_notebook(notebook, assignment, student)
    return {g.name: float(g.auto_score) if g.auto_score is not None else None for g in nb.grades}


def dumps(nb) -> str:
    """A notebook as compact JSON, without nbformat's validation and deep copy."""
    return json.dumps(nb, ensure_ascii=False)
