"""Late rules: the course's ``policies.toml``, and the late penalty each submission gets.

An instructor edits one file, ``<course>/policies.toml``::

    [late]
    grace_minutes = 15        # a submission this close after its due date is on time
    penalty_per_day = 10      # percent of the points earned, per day or part of a day late
    penalty_cap = 50          # percent: the most a late submission loses
    grace_days = 2            # per learner, shared by every chapter: late days forgiven

    [late.chapters.ch04]      # any of the four above, for one chapter, and its due date
    due = 2026-12-01T23:59:00Z
    penalty_per_day = 20

    [late.extensions.ana]     # per learner (their student id) and chapter: a new due date,
    ch04 = 2026-12-03T23:59:00Z   # or a number of days added to the chapter's
    ch05 = 2

A due date is a TOML date-time or a string such as ``"2026-12-01 23:59 UTC"``; without a
zone it is UTC. A chapter with no due date here keeps the one given to ``grade --due``.

Lateness comes only from the submission time that intake recorded (the LMS's, or the
instructor's ``--timestamps``), never from the learner's files. A learner's grace days are
spent on their late chapters in order of due date (then chapter number): each late day
(a part of a day counts as one) takes one grace day while any are left; the late days that
remain cost ``penalty_per_day`` percent each, up to ``penalty_cap``. The penalty is a number
of points, written to nbgrader's own ``late_submission_penalty`` field of the submitted
notebook; the final score is the score minus it.

``apply`` recomputes every penalty from the journal's submission times and the gradebook's
scores (manual grades included), without running a notebook, and says whose final score
changed and why.
"""
from __future__ import annotations

import dataclasses
import datetime
import math
import pathlib
import tomllib

FILE = "policies.toml"
DAY = 86400.0


class PolicyError(ValueError):
    """policies.toml cannot be used: the message says where and why."""


@dataclasses.dataclass(frozen=True)
class LateRule:
    """The late rule of one chapter (the course's defaults with its own overrides)."""

    due: datetime.datetime | None = None
    grace_minutes: float = 0.0
    penalty_per_day: float = 0.0
    penalty_cap: float = 100.0


@dataclasses.dataclass(frozen=True)
class Policies:
    """Everything in policies.toml (an absent file: no penalty, no grace day)."""

    default: LateRule = LateRule()
    chapters: dict = dataclasses.field(default_factory=dict)
    """assignment (chNN) -> LateRule"""
    grace_days: int = 0
    extensions: dict = dataclasses.field(default_factory=dict)
    """(student id, assignment) -> a due date (datetime) or days added (float)"""

    def rule(self, assignment: str) -> LateRule:
        return self.chapters.get(assignment, self.default)


@dataclasses.dataclass(frozen=True)
class Late:
    """What the late rules did to one submission."""

    student: str
    assignment: str
    score: float
    """the points earned (auto and manual grades)"""
    penalty: float = 0.0
    """points taken off for lateness"""
    seconds_late: float = 0.0
    """after the due date (extension included), before the grace period"""
    days_late: int = 0
    grace_days_used: int = 0
    percent: float = 0.0
    reason: str = "on time"

    @property
    def final(self) -> float:
        return max(0.0, self.score - self.penalty)


_RULE_KEYS = {"due", "grace_minutes", "penalty_per_day", "penalty_cap"}
_LATE_KEYS = _RULE_KEYS - {"due"} | {"grace_days", "chapters", "extensions"}


def _date(value, where: str) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if isinstance(value, str):
        from nbgrader.utils import parse_utc

        try:
            return parse_utc(value).replace(tzinfo=datetime.UTC)
        except Exception as exc:  # noqa: BLE001 - dateutil's several errors
            raise PolicyError(f"{where}: {value!r} is not a date ({exc})") from None
    raise PolicyError(f"{where}: {value!r} is not a date: write 2026-12-01T23:59:00Z or \"2026-12-01 23:59 UTC\"")


def _number(value, where: str, low: float = 0.0, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise PolicyError(f"{where}: {value!r} must be a number from {low:g} to {high:g}")
    return float(value)


def _rule(table: dict, base: LateRule, where: str, chapter: bool) -> LateRule:
    allowed = _RULE_KEYS if chapter else _RULE_KEYS - {"due"}
    unknown = set(table) - allowed - (set() if chapter else _LATE_KEYS)
    if unknown:
        raise PolicyError(f"{where}: unknown setting {sorted(unknown)[0]!r} (known: {', '.join(sorted(allowed))})")
    changes = {}
    if "due" in table:
        changes["due"] = _date(table["due"], f"{where}.due")
    if "grace_minutes" in table:
        changes["grace_minutes"] = _number(table["grace_minutes"], f"{where}.grace_minutes")
    if "penalty_per_day" in table:
        changes["penalty_per_day"] = _number(table["penalty_per_day"], f"{where}.penalty_per_day", 0, 100)
    if "penalty_cap" in table:
        changes["penalty_cap"] = _number(table["penalty_cap"], f"{where}.penalty_cap", 0, 100)
    return dataclasses.replace(base, **changes)


def parse(text: str, assignments=None) -> Policies:
    """The policies in ``text`` (TOML); ``assignments``: the course's chapters, to catch a
    misspelt one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{FILE} is not valid TOML: {exc}") from None
    unknown = set(data) - {"late"}
    if unknown:
        raise PolicyError(f"{FILE}: unknown table [{sorted(unknown)[0]}] (known: [late])")
    late = data.get("late", {})
    default = _rule(late, LateRule(), "[late]", chapter=False)
    known = set(assignments) if assignments is not None else None

    def chapter_name(name: str, where: str) -> str:
        if known is not None and name not in known:
            raise PolicyError(f"{where}: no chapter {name!r} in this course (chapters: {', '.join(sorted(known))})")
        return name

    chapters = {chapter_name(name, f"[late.chapters.{name}]"): _rule(t, default, f"[late.chapters.{name}]", True)
                for name, t in late.get("chapters", {}).items()}
    extensions = {}
    for student, table in late.get("extensions", {}).items():
        if not isinstance(table, dict):
            raise PolicyError(f"[late.extensions]: {student} = ... must be a table: [late.extensions.{student}]")
        for name, value in table.items():
            where = f"[late.extensions.{student}].{chapter_name(name, f'[late.extensions.{student}]')}"
            extensions[(student, name)] = (_number(value, where, 0, 3650) if isinstance(value, int | float)
                                           and not isinstance(value, bool) else _date(value, where))
    grace_days = late.get("grace_days", 0)
    if isinstance(grace_days, bool) or not isinstance(grace_days, int) or grace_days < 0:
        raise PolicyError(f"[late].grace_days: {grace_days!r} must be a whole number of days, 0 or more")
    return Policies(default, chapters, grace_days, extensions)


def load(course_root, assignments=None) -> Policies:
    """``<course>/policies.toml``, or no policy at all when there is no such file."""
    path = pathlib.Path(course_root) / FILE
    if not path.exists():
        return Policies()
    try:
        return parse(path.read_text(encoding="utf-8"), assignments)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None


@dataclasses.dataclass(frozen=True)
class Entry:
    """What the late rules need of one graded submission."""

    student: str
    assignment: str
    number: int
    """the chapter's number: the order grace days are spent in, after the due date"""
    score: float
    timestamp: datetime.datetime | None
    due: datetime.datetime | None = None
    """the due date the gradebook has (``grade --due``), used where policies.toml gives none"""


def _due(p: Policies, e: Entry) -> datetime.datetime | None:
    due = p.rule(e.assignment).due or e.due
    ext = p.extensions.get((e.student, e.assignment))
    if isinstance(ext, datetime.datetime):
        return ext
    if due is not None and ext:
        return due + datetime.timedelta(days=ext)
    return due


def _utc(stamp: datetime.datetime | None) -> datetime.datetime | None:
    if stamp is None:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.UTC)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def late(p: Policies, entries: list[Entry]) -> list[Late]:
    """The late penalty of every entry, grace days spent per learner in due-date order."""
    out = []
    budget: dict[str, int] = {}

    def order(e: Entry):
        due = _due(p, e)
        return (e.student, due is None, due or datetime.datetime.max.replace(tzinfo=datetime.UTC), e.number)

    for e in sorted(entries, key=order):
        rule, due, stamp = p.rule(e.assignment), _utc(_due(p, e)), _utc(e.timestamp)
        if due is None or stamp is None:
            why = "no due date" if due is None else "no submission time"
            out.append(Late(e.student, e.assignment, e.score, reason=f"on time ({why})"))
            continue
        seconds = (stamp - due).total_seconds()
        if seconds <= rule.grace_minutes * 60:
            why = "on time" if seconds <= 0 else f"on time (within the {rule.grace_minutes:g}-minute grace period)"
            out.append(Late(e.student, e.assignment, e.score, seconds_late=max(0.0, seconds), reason=why))
            continue
        days = math.ceil(seconds / DAY)
        left = budget.setdefault(e.student, p.grace_days)
        used = min(left, days)
        budget[e.student] = left - used
        percent = min(rule.penalty_cap, rule.penalty_per_day * (days - used))
        penalty = round(e.score * percent / 100, 4)
        parts = [f"{_plural(days, 'day')} late"]
        if used:
            parts.append(f"{_plural(used, 'grace day')} used ({budget[e.student]} left)")
        if days - used:
            cap = " (the cap)" if percent == rule.penalty_cap and rule.penalty_per_day * (days - used) > percent else ""
            parts.append(f"{_plural(days - used, 'day')} at {rule.penalty_per_day:g} % = {percent:g} %{cap} "
                         f"of {e.score:g} points")
        out.append(Late(e.student, e.assignment, e.score, penalty, seconds, days, used, percent, "; ".join(parts)))
    return out


@dataclasses.dataclass(frozen=True)
class Change:
    """A final score that a change of the rules moved."""

    student: str
    assignment: str
    old: float
    new: float
    was: str
    now: str


def changes(before: dict, after: list[Late]) -> list[Change]:
    """Whose final score changed: ``before`` maps (student, assignment) to the last applied
    {"final", "reason"} (``applied``)."""
    out = []
    for a in after:
        old = before.get((a.student, a.assignment))
        if old is not None and abs(float(old["final"]) - a.final) > 1e-9:
            out.append(Change(a.student, a.assignment, float(old["final"]), a.final, old.get("reason", ""), a.reason))
    return sorted(out, key=lambda c: (c.student, c.assignment))


def applied(lates: list[Late]) -> dict:
    """What to keep of this application for the next ``changes``."""
    return {(a.student, a.assignment): {"final": a.final, "reason": a.reason} for a in lates}
