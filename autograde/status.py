"""The one status vocabulary: every graded submission ends with exactly one of these."""
from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """How a submission's grading ended (grades.csv, the journal, the report, feedback)."""

    GRADED = "graded"
    """ran and was graded"""
    WARNINGS = "graded-with-warnings"
    """graded, and something was repaired, cut or ignored (the message says what)"""
    TIMED_OUT = "timed-out"
    """a cell or the notebook ran past its time limit; what was graded before keeps its points"""
    CRASHED = "crashed"
    """the kernel died or stopped answering the grader; exercises with no verdict score 0"""
    UNREADABLE = "unreadable"
    """not a notebook of the course; scores 0"""


STATUSES = tuple(Status)
