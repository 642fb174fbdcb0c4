"""The records that travel through a grading run: what intake found (``Intake``: the
submissions, the learners with nothing to grade, and an ``IntakeRow`` for every file of
the input), each submission, its result, and what each step of the per-submission
pipeline (``autograde.pipeline``) hands to the next:

    Submission -store-> Stored -known-> Stored -prepare-> Prepared -plan-> Planned
    -execute (worker)-> Executed -save-> Saved -render (worker)-> Rendered -record-> Result

A step may also end a submission's walk early with a ``Result`` (already graded), or
refuse it (``Refused``), which the pipeline turns into a zero-scored ``Result``."""
from __future__ import annotations

import dataclasses
import enum
import pathlib

from autograde.course import Chapter
from autograde.status import Status


@dataclasses.dataclass(eq=False)  # compared and hashed by identity: one object per submission
class Submission:
    """One learner's notebook of one chapter, as found in the submissions."""

    student: str
    chapter: Chapter
    path: pathlib.Path
    """where the learner's file was found (never written to)"""
    timestamp: str | None = None
    """when it was submitted, as the instructor or the LMS says (never the learner's own files)"""
    warnings: list = dataclasses.field(default_factory=list)
    sha256: str = ""
    """hash of the original, taken at intake"""
    copy: pathlib.Path | None = None
    """the read-only copy made at intake, which is what gets graded"""
    lms_id: str = ""
    """the LMS's own id of the learner, where its zip says it (Canvas: the user id in each file name)"""
    name: str = ""
    """the learner as the input names them, for display: the folder name as given (NFC), or
    the LMS's name (Canvas: the sortable name); ``student`` is the id (``collect.student_id``)"""
    source: str = ""
    """the file's path inside the submissions, as given (a zip's member name)"""


@dataclasses.dataclass
class Result:
    """How one submission was graded: its status, its scores (from the gradebook) and
    what to tell the instructor and the learner."""

    student: str
    chapter: Chapter | None
    """None: no notebook of the course could be found for this student"""
    status: Status
    score: float = 0.0
    max_score: float = 0.0
    exercises: dict = dataclasses.field(default_factory=dict)
    """exercise name -> score"""
    points: dict = dataclasses.field(default_factory=dict)
    """exercise name -> its maximum score"""
    message: str = ""
    seconds_late: float = 0.0
    penalty: float = 0.0
    """points taken off by the late rules (``autograde.policies``; nbgrader's late_submission_penalty)"""
    late: str = ""
    """why: the late rules' reason ("2 days late; 1 grace day used (0 left); ...")"""
    diagnoses: list = dataclasses.field(default_factory=list)
    """"exercise: explanation" of each classic mistake the hidden checks recognised"""
    verdicts: dict = dataclasses.field(default_factory=dict)
    """exercise name -> what its hidden check said (for the feedback)"""
    worker: str = ""
    lms_id: str = ""
    """the LMS's id of the learner, from the submission (for the LMS's import file)"""
    name: str = ""
    """the learner as the input names them (``Submission.name``), for display and the LMS's import file"""
    page: pathlib.Path | None = None
    """where this run wrote its feedback page (None: no page this run)"""

    @property
    def final(self) -> float:
        """The score after the late penalty: what grades.csv's final_score and the LMS get."""
        return max(0.0, self.score - self.penalty)


class Outcome(enum.StrEnum):
    """What intake did with one file of the input."""

    GRADED = "graded"
    """the file graded for its learner and chapter (its status is in grades.csv)"""
    SUPERSEDED = "superseded"
    """a notebook of the same learner and chapter that another file was preferred to"""
    IGNORED = "ignored"
    """not graded at all: not a notebook of the course, a checkpoint, a link, too large, ..."""


@dataclasses.dataclass(frozen=True)
class IntakeRow:
    """One file of the input and what intake did with it (a line of intake.csv)."""

    file: str
    """its path inside the submissions, as given (a zip's member name)"""
    outcome: RunOutcome
    reason: str = ""
    """why it was superseded or ignored, in plain words"""
    student: str = ""
    """the learner it belongs to ('' when it belongs to no one: a stray file, a zip-slip path)"""
    name: str = ""
    chapter: str = ""
    """the assignment (chNN) it is a notebook of, if any"""
    instead: str = ""
    """superseded: the file graded instead"""


@dataclasses.dataclass
class Intake:
    """What intake found in the submissions (``autograde.intake.collect.collect``)."""

    submissions: list[Submission]
    """one per learner and chapter: the file to grade"""
    problems: list[Result]
    """a learner with no notebook of the course at all (unreadable, scores nothing)"""
    rows: list[IntakeRow]
    """every file of the input, accounted for"""


class Refused(Exception):
    """A step cannot go on with this submission: it ends with ``status`` and ``message``
    (no points; the pipeline saves the zeros and the journal line)."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status, self.message = status, message[:300]


@dataclasses.dataclass(frozen=True)
class Stored:
    """A submission whose original is hashed and stored read-only (``Submission.copy``)."""

    sub: Submission
    raw: bytes
    """the stored original's bytes, what gets graded"""


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A notebook made fit to grade: read (outputs dropped, the size rules), sanitized by
    nbgrader against the gradebook, the hidden test regions cut out."""

    sub: Submission
    nb: dict
    """the sanitized notebook (an nbformat NotebookNode)"""
    resources: dict
    """nbgrader's resources for this notebook (assignment, student, gradebook)"""
    warnings: tuple[str, ...] = ()
    """what was repaired or ignored, in plain words"""


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What the worker runs: the grade cells, the cells that need not run, the Python a
    magic cell stands for, and which course names the learner defined before each test
    (``autograde.execution.plan``)."""

    assignment: str
    grade_ids: tuple[str, ...]
    skip: tuple[int, ...] = ()
    rewrite: dict = dataclasses.field(default_factory=dict)
    """cell index (as text) -> the Python to run instead"""
    own: dict = dataclasses.field(default_factory=dict)
    """grade id -> the course names the learner defined for themselves before it"""

    def as_dict(self) -> dict:
        """As the runner's ``Plan`` takes it (plain data)."""
        return {"assignment": self.assignment, "grade_ids": list(self.grade_ids), "skip": list(self.skip),
                "rewrite": dict(self.rewrite), "own": dict(self.own)}


@dataclasses.dataclass(frozen=True)
class Planned:
    """A prepared notebook, as JSON, and its plan: what a worker gets (the notebook
    crosses to the worker once, as one string)."""

    sub: Submission
    nb_json: str
    """the sanitized notebook as JSON, as the worker runs it"""
    resources: dict
    warnings: tuple[str, ...]
    plan: RunPlan


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What a worker's run of one notebook gives back (plain data)."""

    status: str
    """the run's status (a ``Status`` value)"""
    message: str
    verdicts: dict
    """grade id -> the trusted check's verdict (passed, score, parts, message, diagnosis, mistake)"""
    nb_json: str
    """the executed notebook as the learner's kernel left it (its outputs are never read for a grade)"""
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    worker: str = ""


@dataclasses.dataclass(frozen=True)
class Executed:
    """A notebook run by a worker."""

    planned: Planned
    outcome: RunOutcome

    @property
    def sub(self) -> Submission:
        return self.planned.sub

    @property
    def seconds(self) -> float:
        return self.outcome.seconds


@dataclasses.dataclass(frozen=True)
class Saved:
    """Verdicts saved in the gradebook: the result, and the feedback page's job."""

    sub: Submission
    result: Result
    page_nb: str
    """the notebook the page is made from (cleaned, nbgrader's grades in it), as JSON"""
    page_resources: dict
    """nbgrader's resources for the page"""


@dataclasses.dataclass(frozen=True)
class Rendered:
    """A saved submission's result and its feedback page (None: it could not be made,
    ``problem`` says why)."""

    sub: Submission
    result: Result
    page: str | None
    problem: str = ""
