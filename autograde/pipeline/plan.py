"""Step ``plan``: what the worker runs (``autograde.execution.plan``): which cells need
not run and what Python a magic cell stands for, worked out in a bounded process
(``prepare_seconds``; over budget, every cell runs and the learner is told), and which
course names the learner defined again before each test."""
from __future__ import annotations

from nbgrader import utils

from autograde.execution import plan
from autograde.execution.budget import OverBudget
from autograde.records import Planned, Prepared, RunPlan
from autograde.saving.gradebook import dumps


def run(prepared: Prepared, ctx) -> Planned:
    nb, ch, warnings = prepared.nb, prepared.sub.chapter, prepared.warnings
    released = ctx.release_of(ch)
    grade_ids = tuple(c.metadata["nbgrader"]["grade_id"] for c in released.cells if utils.is_grade(c))
    try:
        skip, rewrite = ctx.bounded.run(plan.plan_run, nb, ch, ctx.course.released_path(ch),
                                        seconds=ctx.settings.prepare_seconds, what="planning the run")
    except OverBudget as exc:  # the plan only saves time: without it, every cell runs
        skip, rewrite = [], {}
        warnings = (*warnings, f"{exc}; every cell was run")
    own = plan.own_before_each_test(nb, released)
    run_plan = RunPlan(ch.assignment, grade_ids, tuple(skip), {str(i): src for i, src in rewrite.items()}, own)
    return Planned(prepared.sub, dumps(nb), prepared.resources, warnings, run_plan)
