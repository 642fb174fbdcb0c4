"""The per-submission work of a grading run, as a declared list of steps.

Like nbgrader's converters, which declare their preprocessors in order, a grading run is
the list ``STEPS``: each step a function in a module of its own, taking the record the
step before gave (``autograde.records``) and giving the next. The coordinator
(``autograde.coordinator.Pipeline``) runs the list for every submission, the
``coordinator`` steps in its own process and the ``worker`` steps on the dask cluster, and
owns no step's logic; ``grade``, ``grade --regrade`` and the submission service all run
this one list.

    store    Submission -> Stored     hash the original, copy it read-only (all before any learner code runs)
    known    Stored -> Stored|Result  already graded, the same bytes: the journal's result, not run again
    prepare  Stored -> Prepared       read, size rules, nbgrader's sanitize against the gradebook, hidden tests cut
    plan     Prepared -> Planned      what need not run, magics' Python, own definitions (bounded process)
    execute  Planned -> Executed      worker: a fresh sandbox runs it; the trusted checks give verdicts
    save     Executed -> Saved        verdicts into the gradebook (SaveAutoGrades), status, cleaned notebook
    render   Saved -> Rendered        worker: the feedback page in a bounded process (a failure: no page, marked)
    record   Rendered -> Result       the page written, the journal line

A step that fails ends its submission with no points (``fail``): the gradebook's zeros,
the status the step declares and a message saying why; the rest of the class goes on.
"""
from __future__ import annotations

from autograde.pipeline import execute, fail, known, plan, prepare, record, render, save, store
from autograde.pipeline.step import COORDINATOR, WORKER, Step
from autograde.status import Status

STEPS: tuple[Step, ...] = (
    Step("store", store.run, fails_as=Status.UNREADABLE, says="the file cannot be read ({kind}: {exc})",
         up_front=True),
    Step("known", known.run),
    Step("prepare", prepare.run, fails_as=Status.UNREADABLE,
         says="the notebook's structure cannot be graded ({kind}: {exc})"),
    Step("plan", plan.run),
    Step("execute", execute.run, on=WORKER, says="the grading worker was lost ({kind}: {exc}); it scored 0"),
    Step("save", save.run, says="no verdict could be saved ({exc}); it scored 0"),
    Step("render", render.run, on=WORKER, recover=render.without_page),
    Step("record", record.run),
)
"""The steps of one submission, in order."""

FAIL = fail.run
"""How a submission no step could finish ends: ``FAIL(sub, status, message, context)``."""

__all__ = ["COORDINATOR", "FAIL", "STEPS", "WORKER", "Step"]
