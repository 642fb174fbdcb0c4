"""The records that travel through a grading run: what intake found (``Intake``: the
submissions, the learners with nothing to grade, and an ``IntakeRow`` for every file of
the input), each submission, and its result."""
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
    outcome: Outcome
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
