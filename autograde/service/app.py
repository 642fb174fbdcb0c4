"""The HTTP side of the service (FastAPI): it authenticates, validates, stores and
enqueues; it never grades in a request (the grading loop does, ``service.loop``).

    POST /api/submissions            multipart field ``notebook``  -> 202 {id, status}
    GET  /api/submissions            the caller's own submissions (an instructor: all)
    GET  /api/submissions/<id>       one of them: status, score, exercises, feedback_url
    GET  /api/chapters               per chapter: the rules, the submissions, what counts
    GET  /feedback/<id>/<signature>  the feedback page (the URL is given only to its owner)
    GET  /api/grades.csv, /api/report   instructors only
    GET  /                           the web page (static HTML, CSS, JS; no inline script)

Every API call takes ``Authorization: Bearer <token>``: 401 without a valid one; 404 for
a submission that is not the caller's (whether or not it exists); 413 above the upload
limit (the request body is counted as it arrives, not trusted from its headers); 429
with ``Retry-After`` past the chapter's rate limit; 503 with ``Retry-After`` when the
queue is full.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import html
import json
import logging
import math
import pathlib
import secrets
import tempfile
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response

from autograde import course, policies
from autograde.intake import collect, validate
from autograde.service import store as st
from autograde.service.loop import Loop, due_passed
from autograde.service.tokens import Authenticator, Caller

log = logging.getLogger("autograde.service")
STATIC = pathlib.Path(__file__).parent / "static"
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "frame-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
FEEDBACK_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                "frame-ancestors 'self'; sandbox")
MULTIPART_SLACK = 64 * 1024  # the multipart envelope around the notebook

@dataclasses.dataclass
class Service:
    course: object
    """the nbgrader course directory (``nbgrader_glue.coursedir.Course``)"""
    store: st.Store
    backend: object
    """what grades (``loop.GraderBackend``; tests give a stand-in)"""
    max_queue: int = 5000
    """queued submissions beyond which the service answers 503"""
    secret: bytes = dataclasses.field(default_factory=lambda: secrets.token_bytes(32))
    """signs feedback URLs (kept in <course>/service/secret so URLs survive a restart)"""

def _secret(root: pathlib.Path) -> bytes:
    path = root / "service" / "secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        import os

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()

class _TooLarge(Exception):
    pass

class BodyLimit:
    """413 for a request body over ``limit`` bytes: at once when its Content-Length says
    so, or as soon as the bytes received pass it (a chunked body, a lying header)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _too_large(send, self.limit)
        seen, started = 0, False

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await _too_large(send, self.limit)

def _problem(raw: bytes) -> str:
    """Why ``raw`` cannot be graded as a notebook, or '' (intake's own rules)."""
    try:
        validate.read(raw)
    except validate.Unreadable as exc:
        return str(exc)
    return ""


def _too_large_in(exc: BaseException | None, depth: int = 0) -> bool:
    if exc is None or depth > 8:
        return False
    if isinstance(exc, _TooLarge):
        return True
    inner = list(getattr(exc, "exceptions", ())) + [exc.__cause__, exc.__context__]
    return any(_too_large_in(e, depth + 1) for e in inner)


async def _too_large(send, limit: int):
    body = json.dumps({"detail": f"the upload is larger than the {limit // 1024} KB allowed"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})

def _caller(request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    who = request.app.state.auth.caller(token.strip()) if scheme.lower() == "bearer" else None
    if who is None:
        raise HTTPException(401, "a valid token is needed: Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    return who


def _instructor(who: Annotated[Caller, Depends(_caller)]) -> Caller:
    if not who.instructor:
        raise HTTPException(403, "for instructors only")
    return who


Who = Annotated[Caller, Depends(_caller)]
Staff = Annotated[Caller, Depends(_instructor)]


def create_app(svc: Service) -> FastAPI:
    assignments = [ch.assignment for ch in course.chapters()]
    loop = Loop(svc.store, svc.backend, svc.course.root, assignments)
    auth = Authenticator(svc.store)

    def rules() -> policies.Policies:
        try:
            return policies.load(svc.course.root, assignments)
        except policies.PolicyError as exc:
            log.warning("%s (the defaults meanwhile)", exc)
            return policies.Policies()

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app):
        loop.start()
        yield
        loop.stop()

    app = FastAPI(title="Sequence Models I: submissions", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.loop, app.state.svc, app.state.auth = loop, svc, auth

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def signature(sid: str, student: str) -> str:
        return hmac.new(svc.secret, f"{sid}\0{student}".encode(), hashlib.sha256).hexdigest()[:32]

    def view(row: dict, who: Caller, p: policies.Policies) -> dict:
        result = row["result"] or {}
        rule = p.service_rule(row["assignment"])
        hide = rule.diagnoses == "after_due" and not due_passed(p, row["assignment"]) and not who.instructor
        exercises = {}
        for name, score in (result.get("exercises") or {}).items():
            points = (result.get("points") or {}).get(name)
            verdict = (result.get("verdicts") or {}).get(name) or {}
            passed = score is not None and points is not None and float(score) >= float(points)
            item = {"score": score, "max_score": points, "passed": passed}
            if not hide:
                item["message"] = str(verdict.get("message") or "")
                if verdict.get("diagnosis"):
                    item["diagnosis"] = str(verdict["diagnosis"])
            exercises[name] = item
        done = row["status"] not in (st.QUEUED, st.RUNNING)
        due = p.rule(row["assignment"]).due
        out = {"id": row["id"], "chapter": row["assignment"], "notebook": row["filename"],
               "received": row["received"].isoformat(), "status": row["status"],
               "score": row["score"] if done else None, "max_score": row["max_score"] if done else None,
               "exercises": exercises, "message": result.get("message", "") if done and not hide else "",
               "counts": bool(row["counts"]), "late": bool(due and row["received"] > due),
               "diagnoses_hidden_until_due": hide,
               "feedback_url": f"/feedback/{row['id']}/{signature(row['id'], row['student'])}" if done else None}
        if who.instructor:
            out["student"] = row["student"]
        return out

    def own(sid: str, who: Caller) -> dict:
        row = svc.store.get(sid) if len(sid) <= 64 else None
        if row is None or (row["student"] != who.student and not who.instructor) or (
                row["kind"] != "learner" and not who.instructor):
            raise HTTPException(404, "no such submission")
        return row

    # ------------------------------------------------------------ pages
    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        files = {"app.js": "text/javascript", "app.css": "text/css"}
        if name not in files:
            raise HTTPException(404, "not found")
        return FileResponse(STATIC / name, media_type=files[name], headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    @app.get("/api/health")
    def health():
        ok = loop.error is None
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    def keep(who: Caller, ch, filename: str, raw: bytes, p: policies.Policies) -> dict:
        """Validate, count the rate, and store one upload (in a worker thread)."""
        problem = _problem(raw)
        if problem:
            raise HTTPException(422, problem)
        rule = p.service_rule(ch.assignment)
        window = datetime.timedelta(minutes=rule.rate_window_minutes)
        with svc.store.lock:
            now = st.now()
            recent = svc.store.recent(who.student, ch.assignment, now - window)
            if len(recent) >= rule.rate_limit:
                retry = max(1, math.ceil((recent[-rule.rate_limit] + window - now).total_seconds()))
                raise HTTPException(429, f"{rule.rate_limit} submissions of {ch.assignment} per "
                                         f"{rule.rate_window_minutes:g} minutes; try again in {retry} s",
                                    headers={"Retry-After": str(retry)})
            if svc.store.queued_count() >= svc.max_queue:
                raise HTTPException(503, "the queue is full; try again in a minute", headers={"Retry-After": "60"})
            return svc.store.accept(who.student, ch.assignment, filename, raw, now)

    # ------------------------------------------------------------ submissions
    @app.post("/api/submissions", status_code=202)
    async def submit(request: Request, who: Who):
        if who.instructor:
            raise HTTPException(403, "an instructor's token cannot submit; use a learner's")
        p = rules()
        limit = p.max_upload_kb * 1024
        try:
            form = await request.form(max_files=1, max_fields=4)
        except HTTPException:
            raise
        except _TooLarge:
            raise HTTPException(413, f"the upload is larger than the {p.max_upload_kb} KB allowed") from None
        except Exception as exc:  # noqa: BLE001 - python-multipart's and starlette's errors
            if _too_large_in(exc):  # the counted body passed the limit (inside anyio's task group)
                raise HTTPException(413, f"the upload is larger than the {p.max_upload_kb} KB allowed") from None
            raise HTTPException(422, f"the upload cannot be read as a form: {exc}"[:200]) from None
        upload = form.get("notebook")
        if upload is None or isinstance(upload, str):
            raise HTTPException(422, "send the notebook as the multipart field 'notebook'")
        raw = await upload.read(limit + 1)
        filename = pathlib.PurePosixPath((upload.filename or "").replace("\\", "/")).name
        await form.close()
        if len(raw) > limit:
            raise HTTPException(413, f"the notebook is larger than the {p.max_upload_kb} KB allowed")
        ch, _warning = collect.match_notebook(filename, lms=False)
        if ch is None:
            names = ", ".join(c.path.name for c in course.chapters())
            raise HTTPException(422, f"{filename or 'the file'} is not a notebook of this course "
                                     f"(expected one of: {names})")
        # reading the notebook, the rate and the fsynced write: off the event loop
        row = await run_in_threadpool(keep, who, ch, filename, raw, p)
        loop.wake.set()
        return {"id": row["id"], "status": row["status"], "chapter": ch.assignment,
                "url": f"/api/submissions/{row['id']}"}

    @app.get("/api/submissions")
    def mine(who: Who):
        p = rules()
        rows = svc.store.of(None if who.instructor else who.student)
        return {"submissions": [view(r, who, p) for r in reversed(rows)]}

    @app.get("/api/submissions/{sid}")
    def one(sid: str, who: Who):
        return view(own(sid, who), who, rules())

    @app.get("/api/chapters")
    def chapters(who: Who):
        p = rules()
        rows = svc.store.of(who.student)
        out = []
        for ch in course.chapters():
            rule, due = p.service_rule(ch.assignment), p.rule(ch.assignment).due
            mine_ = [r for r in rows if r["assignment"] == ch.assignment]
            counted = next((r for r in mine_ if r["counts"]), None)
            out.append({"chapter": ch.assignment, "notebook": ch.path.name, "title": ch.notebook,
                        "due": due.isoformat() if due else None, "rate_limit": rule.rate_limit,
                        "rate_window_minutes": rule.rate_window_minutes, "counts": rule.counts,
                        "diagnoses": rule.diagnoses, "submissions": len(mine_),
                        "score": counted["score"] if counted else None,
                        "max_score": counted["max_score"] if counted else None})
        return {"student": who.student, "role": who.role, "chapters": out}

    @app.get("/feedback/{sid}/{sig}", include_in_schema=False)
    def feedback_page(sid: str, sig: str):
        row = svc.store.get(sid) if len(sid) <= 64 else None
        if row is None or not hmac.compare_digest(sig.encode(), signature(sid, row["student"]).encode()) \
                or row["status"] in (st.QUEUED, st.RUNNING):
            raise HTTPException(404, "no such feedback")
        p = rules()
        hide = p.service_rule(row["assignment"]).diagnoses == "after_due" and not due_passed(p, row["assignment"])
        page = svc.store.feedback / f"{sid}.html"
        if hide or not page.exists():
            text = _summary_page(row, hide)
        else:
            text = page.read_text(encoding="utf-8")
        return HTMLResponse(text, headers={"Content-Security-Policy": FEEDBACK_CSP})

    # ------------------------------------------------------------ instructors
    @app.get("/api/grades.csv")
    def grades(_who: Staff):
        from autograde.coordinator import Grader

        with tempfile.TemporaryDirectory() as out:
            path = Grader(svc.course).export(out)
            return PlainTextResponse(pathlib.Path(path).read_text(encoding="utf-8"), media_type="text/csv")

    @app.get("/api/report")
    def report(_who: Staff):
        from autograde.coordinator import Grader
        from autograde.outputs.report import write_report

        g = Grader(svc.course)
        results = g.results_from_records()
        moved = g.apply_policies(results)
        with tempfile.TemporaryDirectory() as out:
            path = write_report(results, pathlib.Path(out) / "report.html", (), None, moved)
            text = pathlib.Path(path).read_text(encoding="utf-8")
        return HTMLResponse(text, headers={"Content-Security-Policy": FEEDBACK_CSP})

    return app

def _summary_page(row: dict, hide: bool) -> str:
    """A feedback page of our own: every exercise passed or not (and, unless the rule
    hides them until the due date, the checks' words)."""
    result = row["result"] or {}
    e = html.escape
    items = []
    for name, score in (result.get("exercises") or {}).items():
        points = (result.get("points") or {}).get(name)
        passed = score is not None and points is not None and float(score) >= float(points)
        words = "" if hide else e(str(((result.get("verdicts") or {}).get(name) or {}).get("message") or ""))
        items.append(f"<tr><td>{e(name)}</td><td>{'passed' if passed else 'not passed'}</td><td>{words}</td></tr>")
    note = ("<p>The hidden checks' diagnoses are shown after the due date; until then, whether each "
            "exercise passed.</p>" if hide else "")
    score = "" if row["score"] is None else f"{row['score']:g} / {row['max_score'] or 0:g}"
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Feedback {e(row['assignment'])}"
            f"</title></head><body><main><h1>{e(row['assignment'])}: {e(row['status'])} {e(score)}</h1>{note}"
            "<table><thead><tr><th scope=\"col\">Exercise</th><th scope=\"col\">Result</th>"
            f"<th scope=\"col\">Check</th></tr></thead><tbody>{''.join(items)}</tbody></table></main></body></html>")

def make_service(c, settings, db_url: str | None = None, backend=None) -> Service:
    """The service of course directory ``c``: its store, and the grader as backend."""
    from autograde.service.loop import GraderBackend

    store = st.Store(db_url or st.service_url(c.root, c.gradebook_url), c.root)
    return Service(c, store, backend or GraderBackend(c, settings), secret=_secret(pathlib.Path(c.root)))

def build(svc: Service):
    """The ASGI application with the upload limit of policies.toml around it."""
    try:
        p = policies.load(svc.course.root, [ch.assignment for ch in course.chapters()])
    except policies.PolicyError:
        p = policies.Policies()
    return BodyLimit(create_app(svc), p.max_upload_kb * 1024 + MULTIPART_SLACK)
