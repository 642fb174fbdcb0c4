"""The two records that travel through a grading run: a submission found at intake, and
its result."""
from __future__ import annotations

import dataclasses
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
    diagnoses: list = dataclasses.field(default_factory=list)
    """"exercise: explanation" of each classic mistake the hidden checks recognised"""
    verdicts: dict = dataclasses.field(default_factory=dict)
    """exercise name -> what its hidden check said (for the feedback)"""
    worker: str = ""
    lms_id: str = ""
    """the LMS's id of the learner, from the submission (for the LMS's import file)"""
