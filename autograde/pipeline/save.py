"""Step ``save``: the trusted verdicts of one run into the gradebook with nbgrader's
SaveAutoGrades (``autograde.saving.gradebook``), the status the run earned, the cleaned
executed notebook under ``<course>/autograded``, and the job for its feedback page."""
from __future__ import annotations

import json
import logging

import nbformat

from autograde import course
from autograde.outputs import feedback
from autograde.records import Executed, Result, Saved
from autograde.saving import gradebook
from autograde.status import Status


def run(executed: Executed, ctx) -> Saved:
    planned, outcome, sub = executed.planned, executed.outcome, executed.sub
    sanitized = nbformat.from_dict(json.loads(planned.nb_json))
    plog = logging.getLogger(f"autograde.save.{sub.student}")
    gradebook.save(ctx.config, sanitized, planned.resources, outcome.verdicts, list(outcome.verdicts), plog)
    executed_nb = nbformat.from_dict(json.loads(outcome.nb_json))
    warnings = [*planned.warnings, *outcome.warnings, *run_warnings(executed_nb, ctx.settings.mem_limit)]
    status = final_status(outcome.status, warnings)
    with ctx.gradebook as gb:
        r = ctx.course.result(sub.student, sub.chapter, gb)
        r.seconds_late = float(gb.find_submission(sub.chapter.assignment, sub.student).total_seconds_late or 0)
    r.status, r.message, r.worker = status, outcome.message or "; ".join(dict.fromkeys(warnings)), outcome.worker
    r.verdicts = {g.removeprefix("test_"): v for g, v in outcome.verdicts.items()}
    r.diagnoses = [f"{name}: {v['diagnosis']}"[:300] for name, v in r.verdicts.items() if v.get("diagnosis")]
    clean = feedback.clean_notebook(sanitized, executed_nb, ctx.released_markdown(sub.chapter))
    path = ctx.course.root / "autograded" / sub.student / sub.chapter.assignment / sub.chapter.path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(gradebook.dumps(clean))
    page_nb, page_resources = page_job(ctx.config, ctx.db_url, sub.student, sub.chapter, clean, r)
    return Saved(sub, r, page_nb, page_resources)


def page_job(config, db_url: str, student: str, ch: course.Chapter, clean, r: Result) -> tuple[str, dict]:
    """The feedback page's notebook (nbgrader's grades in it, the summary on top) and resources."""
    from nbgrader.preprocessors import GetGrades

    res = {"nbgrader": {"notebook": ch.notebook, "assignment": ch.assignment, "student": student, "db_url": db_url}}
    nb, res = GetGrades(config=config).preprocess(nbformat.from_dict(clean), res)
    nb.cells.insert(0, feedback.summary_cell(r))
    return gradebook.dumps(nb), res["nbgrader"]


def run_warnings(executed, mem_limit: int | None) -> list[str]:
    """What the executed notebook shows went wrong without stopping it: memory exhausted.
    (Output past a cell's bound is cut, and the cell says so in the feedback, but that is
    no warning: no grade reads an output, and honest work may print a lot, a training
    loop's losses say.)"""
    code = [c for c in executed.cells if c.cell_type == "code"]
    out = []
    if any(o.get("ename") == "MemoryError" for c in code for o in c.get("outputs", [])):
        out.append(f"the notebook ran out of memory (limit {(mem_limit or 0) / 2**30:g} GiB)")
    return out


def final_status(run_status: str, warnings: list[str]) -> Status:
    """The submission's status: the run's, and a clean run with something repaired, cut or
    ignored is graded with warnings (a stopped or crashed run keeps its own status)."""
    status = Status(run_status)
    return Status.WARNINGS if status == Status.GRADED and warnings else status
