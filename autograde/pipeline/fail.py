"""Failing closed: a submission no step could finish gets every grade 0 in the gradebook
(manual grades kept), its status and message, and a journal line."""
from __future__ import annotations

from autograde.pipeline import record
from autograde.records import Result, Submission
from autograde.saving import gradebook
from autograde.status import Status


def run(sub: Submission, status: Status, message: str, ctx) -> Result:
    r = Result(sub.student, sub.chapter, status, message=message[:300])  # (the learner's ids: the journal line)
    with ctx.gradebook as gb:
        gradebook.save_zeros(gb, sub.chapter.assignment, sub.chapter.notebook, sub.student)
        full = ctx.course.result(sub.student, sub.chapter, gb)
    r.max_score, r.exercises, r.points = full.max_score, full.exercises, full.points
    record.journal(sub, r, ctx)
    return r
