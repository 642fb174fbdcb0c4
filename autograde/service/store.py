"""The service's own records, durable before any answer: the learners' token hashes and
every submission (its queue row, its state, its verdict).

SQLAlchemy Core tables in ``<course>/service.db`` (SQLite) by default, or in the
gradebook's PostgreSQL database (``--db-url``) beside nbgrader's tables. A submission's
row is committed, and its notebook written read-only and hashed, before the service
answers ``202``; a row still ``running`` when the service starts again (it was killed)
goes back to the queue, so every accepted submission gets its verdict.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib
import secrets
import threading

import sqlalchemy as sa

meta = sa.MetaData()

tokens = sa.Table(
    "service_tokens", meta,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("student", sa.String(128), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),  # learner | instructor
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
)

submissions = sa.Table(
    "service_submissions", meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),  # queue order
    sa.Column("id", sa.String(32), nullable=False, unique=True),  # the public id: random
    sa.Column("student", sa.String(128), nullable=False),
    sa.Column("assignment", sa.String(16), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("path", sa.String(1024), nullable=False),
    sa.Column("received", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, default="learner"),  # learner | restore
    sa.Column("restores", sa.String(32), nullable=True),  # restore job: the id it grades again
    sa.Column("status", sa.String(32), nullable=False),  # queued | running | a grader status
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("max_score", sa.Float, nullable=True),
    sa.Column("result", sa.Text, nullable=True),  # JSON: exercises, points, verdicts, message
    sa.Column("counts", sa.Boolean, nullable=False, default=False),
    sa.Column("started", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
    sa.Index("service_by_learner", "student", "assignment", "received"),
    sa.Index("service_by_status", "status", "seq"),
)

QUEUED, RUNNING = "queued", "running"


def now() -> datetime.datetime:
    """The server's clock, in UTC: the only clock the service believes."""
    return datetime.datetime.now(datetime.UTC)


def utc(stamp: datetime.datetime | None) -> datetime.datetime | None:
    """SQLite gives naive datetimes back: they were written in UTC."""
    if stamp is None:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.UTC)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 (a token has 256 random bits, so a plain
    hash cannot be reversed by guessing)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def service_url(course_root: pathlib.Path, gradebook_url: str) -> str:
    """The service's database: the gradebook's when it is a server (PostgreSQL), else an
    SQLite file of its own in the course directory (nbgrader's SQLite file stays nbgrader's)."""
    if gradebook_url.startswith("sqlite"):
        return f"sqlite:///{pathlib.Path(course_root).resolve() / 'service.db'}"
    return gradebook_url


class Store:
    """The service's tables, and the read-only copies of the uploaded notebooks in
    ``<course>/service/uploads/<student>/<id>.ipynb``."""

    def __init__(self, url: str, course_root: pathlib.Path):
        self.url = url
        kwargs = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.engine = sa.create_engine(url, **kwargs)
        if self.url.startswith("sqlite"):
            @sa.event.listens_for(self.engine, "connect")
            def _wal(conn, _record):  # durable on commit, readers never wait for the writer
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
        meta.create_all(self.engine)
        self.root = pathlib.Path(course_root)
        self.uploads = self.root / "service" / "uploads"
        self.feedback = self.root / "service" / "feedback"
        self.lock = threading.Lock()
        """held while a learner's rate is counted and their submission inserted"""

    # ------------------------------------------------------------ tokens
    def set_tokens(self, rows: list[tuple[str, str, str]]) -> None:
        """(student, token, role) rows: each learner's earlier tokens stop working."""
        with self.engine.begin() as conn:
            for student, token, role in rows:
                conn.execute(tokens.delete().where(tokens.c.student == student, tokens.c.role == role))
                conn.execute(tokens.insert().values(hash=token_hash(token), student=student, role=role,
                                                    created=now()))

    def token_rows(self) -> list[tuple[str, str, str]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(tokens.c.hash, tokens.c.student, tokens.c.role))]

    # ------------------------------------------------------------ submissions
    def recent(self, student: str, assignment: str, since: datetime.datetime) -> list[datetime.datetime]:
        """When ``student`` submitted ``assignment`` since ``since`` (their own uploads only)."""
        q = (sa.select(submissions.c.received)
             .where(submissions.c.student == student, submissions.c.assignment == assignment,
                    submissions.c.kind == "learner", submissions.c.received > since)
             .order_by(submissions.c.received))
        with self.engine.connect() as conn:
            return [utc(r[0]) for r in conn.execute(q)]

    def queued_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(submissions)
                                .where(submissions.c.status.in_([QUEUED, RUNNING]))).scalar_one()

    def accept(self, student: str, assignment: str, filename: str, raw: bytes,
               received: datetime.datetime | None = None, kind: str = "learner", restores: str | None = None,
               path: pathlib.Path | None = None) -> dict:
        """Keep one upload: written read-only and fsynced, hashed, and its queue row
        committed; the row."""
        sid = secrets.token_hex(12)
        received = received or now()
        if path is None:
            folder = self.uploads / student
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{sid}.ipynb"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        row = {"id": sid, "student": student, "assignment": assignment, "filename": filename[:255],
               "sha256": hashlib.sha256(raw).hexdigest(), "path": str(path), "received": received,
               "kind": kind, "restores": restores, "status": QUEUED, "counts": False}
        with self.engine.begin() as conn:
            conn.execute(submissions.insert().values(**row))
        return row

    def get(self, sid: str) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(submissions).where(submissions.c.id == sid)).mappings().first()
        return _row(r)

    def of(self, student: str | None = None, assignment: str | None = None, kind: str | None = "learner") -> list[dict]:
        q = sa.select(submissions).order_by(submissions.c.seq)
        if student is not None:
            q = q.where(submissions.c.student == student)
        if assignment is not None:
            q = q.where(submissions.c.assignment == assignment)
        if kind is not None:
            q = q.where(submissions.c.kind == kind)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q).mappings()]

    def requeue_running(self) -> int:
        """After a restart: whatever was being graded when the service stopped is queued again."""
        with self.engine.begin() as conn:
            return conn.execute(submissions.update().where(submissions.c.status == RUNNING)
                                .values(status=QUEUED, started=None)).rowcount

    def claim(self, limit: int, busy: set[tuple[str, str]]) -> list[dict]:
        """Up to ``limit`` queued submissions, oldest first, now ``running``; at most one per
        learner and chapter at a time (one gradebook row each), none of ``busy``'s."""
        out = []
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(submissions).where(submissions.c.status == QUEUED)
                                .order_by(submissions.c.seq).limit(max(limit * 8, 64))).mappings().all()
            taken = set(busy)
            for r in rows:
                key = (r["student"], r["assignment"])
                if len(out) >= limit:
                    break
                if key in taken:
                    continue
                taken.add(key)
                conn.execute(submissions.update().where(submissions.c.id == r["id"])
                             .values(status=RUNNING, started=now()))
                out.append(_row(r) | {"status": RUNNING})
        return out

    def finish(self, sid: str, status: str, score, max_score, result: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(submissions.update().where(submissions.c.id == sid)
                         .values(status=status, score=score, max_score=max_score, result=json.dumps(result),
                                 finished=now()))

    def set_counts(self, student: str, assignment: str, sid: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(submissions.update().where(submissions.c.student == student,
                                                    submissions.c.assignment == assignment)
                         .values(counts=submissions.c.id == sid if sid else False))

    def close(self) -> None:
        self.engine.dispose()


def _row(r) -> dict | None:
    if r is None:
        return None
    d = dict(r)
    for k in ("received", "started", "finished"):
        d[k] = utc(d.get(k))
    d["result"] = json.loads(d["result"]) if d.get("result") else {}
    return d
