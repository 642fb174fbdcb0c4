"""Step ``execute`` (on a worker): run the sanitized notebook in a fresh bubblewrap
sandbox; at each grade cell the trusted check calls the learner's function across the
boundary (``autograde.execution.workers.grade_notebook``). It returns within the
notebook's time limit and a minute, whatever the notebook does."""
from __future__ import annotations

from autograde.execution import workers
from autograde.records import Executed, Planned, RunOutcome


def run(planned: Planned, settings: dict) -> Executed:
    done = workers.grade_notebook(planned.nb_json, planned.plan.as_dict(), settings)
    outcome = RunOutcome(status=done["status"], message=done.get("message") or "", verdicts=done["verdicts"],
                      nb_json=done["nb"], warnings=tuple(done.get("warnings", ())),
                      seconds=float(done.get("seconds", 0.0)), worker=done.get("worker", ""))
    return Executed(planned, outcome)
