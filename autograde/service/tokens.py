"""Who is calling: a learner or an instructor, known by a bearer token.

``python -m autograde tokens ROSTER.csv --out TOKENS.csv`` gives every learner of the
roster (its ``student_id`` column, normalised as intake normalises folder names) a fresh
token of 256 random bits (``secrets.token_urlsafe``) and writes ``student_id,token`` for
the instructor to hand out; the service keeps only each token's SHA-256. Giving a learner
a new token ends their old one. ``--instructor NAME`` makes an instructor's token.

A presented token is hashed and compared with every stored hash with
``hmac.compare_digest``, never stopping at the first match, so the time taken says
nothing about which hash (or how much of one) matched.
"""
from __future__ import annotations

import csv
import dataclasses
import hmac
import pathlib
import secrets
import threading
import time

from autograde.intake.collect import student_id
from autograde.service.store import Store, token_hash

LEARNER, INSTRUCTOR = "learner", "instructor"


class RosterError(ValueError):
    """The roster cannot be read: the message says why."""


def read_roster(path) -> list[str]:
    """The student ids of a roster CSV (a ``student_id`` column; more columns may follow)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if "student_id" not in (reader.fieldnames or []):
            raise RosterError(f"{path}: no student_id column (columns: {', '.join(reader.fieldnames or [])})")
        ids = [student_id(row["student_id"].strip()) for row in reader if (row.get("student_id") or "").strip()]
    if len(set(ids)) != len(ids):
        seen, dup = set(), None
        for i in ids:
            if i in seen:
                dup = i
                break
            seen.add(i)
        raise RosterError(f"{path}: the student_id {dup!r} appears twice")
    return ids


def new_token() -> str:
    return secrets.token_urlsafe(32)


def issue(store: Store, students: list[str], role: str = LEARNER) -> list[tuple[str, str]]:
    """Fresh tokens for ``students`` (their old ones end): (student, token) rows."""
    rows = [(s, new_token()) for s in students]
    store.set_tokens([(s, t, role) for s, t in rows])
    return rows


def write_tokens(rows: list[tuple[str, str]], out) -> pathlib.Path:
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "token"])
        w.writerows(rows)
    out.chmod(0o600)
    return out


@dataclasses.dataclass(frozen=True)
class Caller:
    student: str
    role: str

    @property
    def instructor(self) -> bool:
        return self.role == INSTRUCTOR


class Authenticator:
    """The stored hashes, read again from the store at most once a second when a token is
    not found (tokens issued while the service runs work at once)."""

    def __init__(self, store: Store):
        self.store = store
        self.rows: list[tuple[str, str, str]] = []
        self.loaded = 0.0
        self.lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        self.rows = self.store.token_rows()
        self.loaded = time.monotonic()

    def _match(self, digest: str) -> Caller | None:
        found = None
        for stored, student, role in self.rows:  # every row, whether or not one matched
            if hmac.compare_digest(stored.encode(), digest.encode()) and found is None:
                found = Caller(student, role)
        return found

    def caller(self, token: str | None) -> Caller | None:
        if not token or len(token) > 200:
            return None
        digest = token_hash(token)
        found = self._match(digest)
        if found is None:
            with self.lock:
                if time.monotonic() - self.loaded > 1.0:
                    self._load()
            found = self._match(digest)
        return found
