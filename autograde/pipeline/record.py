"""Step ``record``: the feedback page into ``<course>/feedback``, then the journal line
with the scores the gradebook now holds (what makes a run restartable)."""
from __future__ import annotations

from autograde.records import Rendered, Result, Submission
from autograde.saving import gradebook
from autograde.status import Status


def run(rendered: Rendered, ctx) -> Result:
    r, sub = rendered.result, rendered.sub
    problem = rendered.problem
    if rendered.page is not None:
        page = ctx.course.feedback_file(sub.student, sub.chapter)
        try:
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(rendered.page)
            r.page = page
        except Exception as exc:  # noqa: BLE001 - the grades stand; the page is missing
            problem = f"the feedback page could not be written ({exc})"[:200]
    if problem:
        r.status = Status.WARNINGS if r.status == Status.GRADED else r.status
        r.message = "; ".join(filter(None, [r.message, problem]))
    journal(sub, r, ctx)
    return r


def journal(sub: Submission, r: Result, ctx) -> None:
    """The journal line of a finished submission."""
    r.lms_id, r.name = sub.lms_id, sub.name
    with ctx.gradebook as gb:
        scores = gradebook.scores_of(gb, sub.chapter.assignment, sub.chapter.notebook, sub.student)
    ctx.journal.record({"student": sub.student, "assignment": sub.chapter.assignment, "sha256": sub.sha256,
                        "status": r.status.value, "message": r.message, "seconds_late": r.seconds_late,
                        "diagnoses": r.diagnoses, "verdicts": r.verdicts, "scores": scores,
                        "worker": r.worker, "lms_id": sub.lms_id, "name": sub.name, "timestamp": sub.timestamp,
                        "done": True})
