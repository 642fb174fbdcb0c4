"""The submission service, fast tier: tokens, the [service] rules of policies.toml, which
submission counts, and the whole HTTP API over a real uvicorn server on loopback, with the
grading stubbed (a backend that reads a score from the notebook's metadata): who may
read what, the status codes, the upload bounds, the headers, kill -9 and restart.
Grading real notebooks through the service is in test_service_grading.py (slow)."""
from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import pathlib
import re
import signal
import socket
import stat
import subprocess
import sys
import time

import httpx
import nbformat
import pytest

from autograde import course, policies
from autograde.service import store as st
from autograde.service import tokens

HERE = pathlib.Path(__file__).resolve().parent
CH04 = course.by_assignment("ch04")
CH05 = course.by_assignment("ch05")


# ---------------------------------------------------------------- the stand-in grader
class StubBackend:
    """Grades instantly (or after ``delay`` seconds each, one at a time): the score is the
    notebook's ``metadata.stub_score`` out of 10, one exercise ``ex``; it writes a small
    feedback page naming the learner's stub diagnosis."""

    def __init__(self, delay: float = 0.0, capacity: int = 2):
        self.delay, self.capacity = delay, capacity
        self.todo: list = []

    def start(self) -> None:
        pass

    def submit(self, row: dict) -> None:
        self.todo.append((time.monotonic() + self.delay, row))

    def poll(self, timeout: float) -> list:
        time.sleep(min(timeout, 0.02))
        now, out, keep = time.monotonic(), [], []
        for when, row in self.todo:
            if when > now:
                keep.append((when, row))
                continue
            nb = json.loads(pathlib.Path(row["path"]).read_bytes())
            score = float(nb["metadata"].get("stub_score", 10))
            passed = score >= 10
            out.append((row["id"], {"status": "graded", "score": score, "max_score": 10.0, "exercises": {"ex": score},
                                    "points": {"ex": 10.0},
                                    "verdicts": {"ex": {"passed": passed, "message": "passed" if passed else
                                                        "wrong: STUB-DIAGNOSIS", "diagnosis": None if passed
                                                        else "STUB-DIAGNOSIS"}},
                                    "message": "", "feedback": f"<html><body>feedback of {row['student']}: "
                                    f"{'passed' if passed else 'STUB-DIAGNOSIS'}</body></html>"}))
        self.todo = keep
        return out

    def idle(self) -> None:
        pass

    def close(self) -> None:
        pass


def serve_stub(root: str, port: int, delay: float = 0.0, capacity: int = 2) -> None:
    """Run the service of course directory ``root`` with the stub grader (in a subprocess)."""
    import uvicorn

    from autograde.nbgrader_glue.coursedir import Course
    from autograde.service import app

    c = Course(root)
    svc = app.make_service(c, None, backend=StubBackend(delay, capacity))
    uvicorn.run(app.build(svc), host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A service in a subprocess on a free loopback port."""

    def __init__(self, root: pathlib.Path, delay: float = 0.0, capacity: int = 2):
        self.root, self.port = root, free_port()
        code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from test_service import serve_stub; "
                f"serve_stub({str(root)!r}, {self.port}, {delay}, {capacity})")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode())
        raise RuntimeError("the service did not start")

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)


def make_tokens(root: pathlib.Path, learners=("ana", "bo"), instructors=("prof",)) -> dict[str, str]:
    from autograde.nbgrader_glue.coursedir import Course

    c = Course(root)
    s = st.Store(st.service_url(c.root, c.gradebook_url), c.root)
    rows = tokens.issue(s, list(learners)) + tokens.issue(s, list(instructors), tokens.INSTRUCTOR)
    s.close()
    return dict(rows)


def notebook(score: float = 10, pad: int = 0) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.metadata["stub_score"] = score
    nb.cells.append(nbformat.v4.new_code_cell("x = 1" + " " * pad))
    return nbformat.writes(nb).encode()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def upload(client, token, raw=None, name=None, **kw):
    return client.post("/api/submissions", headers=bearer(token),
                       files={"notebook": (name or CH04.path.name, raw if raw is not None else notebook())}, **kw)


def wait_done(client, token, sid, timeout=20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/api/submissions/{sid}", headers=bearer(token)).json()
        if r["status"] not in ("queued", "running"):
            return r
        time.sleep(0.05)
    raise AssertionError(f"{sid} still {r['status']}")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("service") / "course"
    toks = make_tokens(root, learners=("ana", "bo", "cy", "dee", "eve"))
    server = Server(root)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client, toks, root
    server.stop()


@pytest.fixture(scope="module")
def eve_sid(service):
    client, toks, _ = service
    return upload(client, toks["eve"]).json()["id"]


# ---------------------------------------------------------------- tokens
def test_roster_tokens_are_fresh_random_and_stored_only_as_hashes(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,email\nana,Ana,a@x\nJosé,José,j@x\n  \n", encoding="utf-8")
    from autograde.cli import main

    out = tmp_path / "TOKENS.csv"
    assert main(["--course", str(tmp_path / "course"), "-q", "tokens", str(roster), "--out", str(out),
                 "--instructor", "prof"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["student_id"] for r in rows] == ["ana", "José", "prof"]
    assert len({r["token"] for r in rows}) == 3 and all(len(r["token"]) >= 40 for r in rows)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    db = (tmp_path / "course" / "service.db").read_bytes()
    for r in rows:
        assert r["token"].encode() not in db
        assert hashlib.sha256(r["token"].encode()).hexdigest().encode() in db
    s = st.Store(st.service_url(tmp_path / "course", "sqlite:///x"), tmp_path / "course")
    auth = tokens.Authenticator(s)
    assert auth.caller(rows[0]["token"]) == tokens.Caller("ana", tokens.LEARNER)
    assert auth.caller(rows[2]["token"]).instructor
    assert auth.caller(rows[0]["token"] + "x") is None and auth.caller("") is None and auth.caller(None) is None
    # a new token ends the old one
    (new,) = tokens.issue(s, ["ana"])
    time.sleep(1.1)  # the authenticator reads the store again at most once a second
    assert auth.caller(new[1]) == tokens.Caller("ana", tokens.LEARNER)
    assert auth.caller(rows[0]["token"]) is None


def test_roster_without_student_id_or_with_a_duplicate_is_refused(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("id,name\nana,Ana\n")
    with pytest.raises(tokens.RosterError, match="no student_id column"):
        tokens.read_roster(bad)
    bad.write_text("student_id\nana\nbo\nana\n")
    with pytest.raises(tokens.RosterError, match="'ana' appears twice"):
        tokens.read_roster(bad)


def test_tokens_are_compared_with_compare_digest_against_every_stored_hash(tmp_path, monkeypatch):
    """Constant time: every stored hash is compared (hmac.compare_digest), also after a match."""
    make_tokens(tmp_path / "c", learners=[f"s{i}" for i in range(20)])
    s = st.Store(st.service_url(tmp_path / "c", "sqlite:///x"), tmp_path / "c")
    auth = tokens.Authenticator(s)
    calls = []
    real = tokens.hmac.compare_digest
    monkeypatch.setattr(tokens.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    first = next(r for r in s.token_rows())
    auth.rows = [first] + [r for r in auth.rows if r != first]
    assert auth._match(first[0]) is not None
    assert len(calls) == len(auth.rows) == 21


# ---------------------------------------------------------------- rules
def test_service_rules_in_policies_toml():
    p = policies.parse('[service]\nrate_limit = 5\ndiagnoses = "after_due"\nmax_upload_kb = 100\n'
                       '[service.chapters.ch04]\ncounts = "best"\nrate_window_minutes = 1\n', ["ch04", "ch05"])
    assert p.service_rule("ch04") == policies.ServiceRule(5, 1.0, "best", "after_due")
    assert p.service_rule("ch05") == policies.ServiceRule(5, 10.0, "last", "after_due")
    assert p.max_upload_kb == 100
    assert policies.parse("").service_rule("ch04") == policies.ServiceRule(3, 10.0, "last", "always")
    for text, words in [('[service]\nrate = 3', "unknown setting 'rate'"),
                        ('[service.chapters.ch09]\ncounts = "best"', "no chapter 'ch09'"),
                        ('[service]\ncounts = "first"', "must be one of 'last', 'best'"),
                        ('[service]\nrate_limit = 0', "rate_limit"),
                        ('[service.chapters.ch04]\nmax_upload_kb = 5', "unknown setting 'max_upload_kb'"),
                        ('[servce]\n', "unknown table [servce]")]:
        with pytest.raises(policies.PolicyError, match=re.escape(words)):
            policies.parse(text, ["ch04", "ch05"])


def _row(sid, received, score, status="graded"):
    return {"id": sid, "received": received, "score": score, "status": status}


@pytest.mark.parametrize("counts, due, expected", [
    ("last", None, "c"),  # the last
    ("last", 2, "b"),  # the last before the due date
    ("last", -1, "c"),  # none on time: the last of all
    ("best", None, "b"),  # the highest score
])
def test_which_submission_counts(tmp_path, counts, due, expected):
    from autograde.service.loop import Loop

    t0 = datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC)
    rows = [_row("a", t0, 3.0), _row("b", t0 + datetime.timedelta(hours=1), 9.0),
            _row("c", t0 + datetime.timedelta(hours=3), 5.0), _row("d", t0 + datetime.timedelta(hours=4), None, "queued")]
    text = f'[service.chapters.ch04]\ncounts = "{counts}"\n'
    if due is not None:
        text += f"[late.chapters.ch04]\ndue = {(t0 + datetime.timedelta(hours=due)).isoformat()}\n"
    (tmp_path / "policies.toml").write_text(text)

    class FakeStore:
        def of(self, student, assignment):
            return rows

    loop = Loop(FakeStore(), None, tmp_path, ["ch04"])
    assert loop.counted("ana", "ch04")["id"] == expected


# ---------------------------------------------------------------- the API
ENDPOINTS = [("POST", "/api/submissions"), ("GET", "/api/submissions"), ("GET", "/api/submissions/{id}"),
             ("GET", "/api/chapters"), ("GET", "/api/grades.csv"), ("GET", "/api/report")]


@pytest.mark.parametrize("method, path", ENDPOINTS)
@pytest.mark.parametrize("auth", [None, "Bearer nope", "Basic YW5hOng=", "Bearer"])
def test_every_endpoint_needs_a_valid_token(service, eve_sid, method, path, auth):
    client, toks, _ = service
    sid = eve_sid
    headers = {"Authorization": auth} if auth else {}
    files = {"notebook": (CH04.path.name, notebook())} if method == "POST" else None
    r = client.request(method, path.format(id=sid), headers=headers, files=files)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"


def test_upload_is_stored_read_only_and_hashed_before_202_then_graded(service):
    client, toks, root = service
    raw = notebook(7)
    r = upload(client, toks["ana"], raw)
    assert r.status_code == 202
    body = r.json()
    assert set(body) >= {"id", "status"} and body["status"] in ("queued", "running") and body["chapter"] == "ch04"
    s = st.Store(st.service_url(root, "sqlite:///x"), root)
    row = s.get(body["id"])  # committed by the time the 202 came back
    assert row["sha256"] == hashlib.sha256(raw).hexdigest() and row["student"] == "ana"
    path = pathlib.Path(row["path"])
    assert path.read_bytes() == raw and stat.S_IMODE(path.stat().st_mode) == 0o444
    done = wait_done(client, toks["ana"], body["id"])
    assert done["status"] == "graded" and done["score"] == 7.0 and done["max_score"] == 10.0
    assert done["exercises"]["ex"] == {"score": 7.0, "max_score": 10.0, "passed": False,
                                       "message": "wrong: STUB-DIAGNOSIS", "diagnosis": "STUB-DIAGNOSIS"}
    page = client.get(done["feedback_url"])
    assert page.status_code == 200 and "feedback of ana" in page.text
    csp = page.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script" not in csp


def test_no_learner_reads_another_learners_submission_or_feedback(service):
    client, toks, _ = service
    sid = upload(client, toks["bo"], notebook(4)).json()["id"]
    done = wait_done(client, toks["bo"], sid)
    # another learner: 404 on the submission (as for one that does not exist), absent from their list
    assert client.get(f"/api/submissions/{sid}", headers=bearer(toks["cy"])).status_code == 404
    assert client.get("/api/submissions/nonexistent", headers=bearer(toks["cy"])).status_code == 404
    assert sid not in {s["id"] for s in client.get("/api/submissions", headers=bearer(toks["cy"])).json()["submissions"]}
    assert sid in {s["id"] for s in client.get("/api/submissions", headers=bearer(toks["bo"])).json()["submissions"]}
    cy_chapters = client.get("/api/chapters", headers=bearer(toks["cy"])).json()
    assert cy_chapters["student"] == "cy" and all(c["submissions"] == 0 for c in cy_chapters["chapters"])
    # the feedback URL is signed for its owner: another id's signature, or a forged one, is 404
    other = upload(client, toks["cy"], notebook(10)).json()["id"]
    wait_done(client, toks["cy"], other)
    sig = done["feedback_url"].rsplit("/", 1)[1]
    assert client.get(f"/feedback/{other}/{sig}").status_code == 404
    assert client.get(f"/feedback/{sid}/{'0' * 32}").status_code == 404
    assert client.get(f"/feedback/{sid}/").status_code == 404
    # nothing changes a submission: no method but GET on it, for anyone
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        assert client.request(method, f"/api/submissions/{sid}", headers=bearer(toks["cy"])).status_code == 405
        assert client.request(method, f"/api/submissions/{sid}", headers=bearer(toks["bo"])).status_code == 405
    assert client.get(f"/api/submissions/{sid}", headers=bearer(toks["bo"])).json() == done
    # grades and the report are the instructor's
    for path in ("/api/grades.csv", "/api/report"):
        assert client.get(path, headers=bearer(toks["bo"])).status_code == 403
    staff_csv = client.get("/api/grades.csv", headers=bearer(toks["prof"]))
    assert staff_csv.status_code == 200 and staff_csv.text.startswith("student_id,")
    # the instructor sees everyone's (and cannot submit as a learner)
    staff = client.get(f"/api/submissions/{sid}", headers=bearer(toks["prof"])).json()
    assert staff["student"] == "bo" and staff["score"] == 4.0
    assert upload(client, toks["prof"]).status_code == 403


def test_rate_limit_429_with_retry_after_per_learner_and_chapter(service):
    client, toks, _ = service
    for _ in range(3):
        assert upload(client, toks["dee"]).status_code == 202
    r = upload(client, toks["dee"])
    assert r.status_code == 429
    assert 590 <= int(r.headers["retry-after"]) <= 600
    assert upload(client, toks["dee"], name=CH05.path.name).status_code == 202  # another chapter
    assert upload(client, toks["eve"]).status_code in (202, 429)  # another learner is not limited by dee
    assert sum(s["chapter"] == "ch04" for s in
               client.get("/api/submissions", headers=bearer(toks["dee"])).json()["submissions"]) == 3


def test_uploads_are_bounded_in_size(service):
    client, toks, _ = service
    big = notebook(pad=6 * 2**20)
    r = upload(client, toks["cy"], big)
    assert r.status_code == 413
    # without a Content-Length (chunked), counted as it arrives

    def chunks():
        yield b"--b\r\nContent-Disposition: form-data; name=\"notebook\"; filename=\"rnn_forward.ipynb\"\r\n\r\n"
        for _ in range(80):
            yield b" " * 2**17

    r = client.post("/api/submissions", headers=bearer(toks["cy"]) | {"Content-Type": "multipart/form-data; boundary=b"},
                    content=chunks())
    assert r.status_code == 413, r.text
    n = len(client.get("/api/submissions", headers=bearer(toks["cy"])).json()["submissions"])
    assert n == 1  # nothing kept of either


def test_what_is_not_a_notebook_of_the_course_is_refused(service):
    client, toks, _ = service
    r = upload(client, toks["cy"], name="homework.ipynb")
    assert r.status_code == 422 and "rnn_forward.ipynb" in r.json()["detail"]
    r = upload(client, toks["cy"], b"{not json", name=CH05.path.name)
    assert r.status_code == 422 and "not valid notebook JSON" in r.json()["detail"]
    r = client.post("/api/submissions", headers=bearer(toks["cy"]), files={"other": ("x", b"1")})
    assert r.status_code == 422
    r = client.post("/api/submissions", headers=bearer(toks["cy"]), files=[
        ("notebook", (CH05.path.name, notebook())), ("notebook", (CH05.path.name, notebook()))])
    assert r.status_code in (400, 422)  # one file per upload


def test_page_has_a_csp_and_no_inline_script(service):
    client, _, _ = service
    r = client.get("/")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    page = r.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", page), "an inline event handler"
    assert "javascript:" not in page
    js = client.get("/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in js.text  # learners' and checks' words go in as text
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/store.py").status_code == 404


def test_a_mistake_in_the_service_rules_stops_serve_at_once(tmp_path):
    from autograde.cli import main

    (tmp_path / "policies.toml").write_text('[service]\ncounts = "first"\n')
    with pytest.raises(SystemExit, match=r"cannot serve: .*policies.toml: \[service\]\.counts"):
        main(["--course", str(tmp_path), "-q", "serve"])


def test_serve_binds_localhost_unless_told():
    from autograde.cli import _parser

    assert _parser().parse_args(["serve"]).host == "127.0.0.1"
    assert _parser().parse_args(["serve", "--host", "0.0.0.0"]).host == "0.0.0.0"


def test_diagnoses_hidden_before_the_due_date_when_the_rule_says_so(service):
    client, toks, root = service
    due = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    ch06, ch07 = course.by_assignment("ch06"), course.by_assignment("ch07")
    rules = root / "policies.toml"
    rules.write_text(f'[service.chapters.ch06]\ndiagnoses = "after_due"\n[late.chapters.ch06]\ndue = {due.isoformat()}\n')
    try:  # the rules are read on every request: no restart
        sid = upload(client, toks["ana"], notebook(3), name=ch06.path.name).json()["id"]
        done = wait_done(client, toks["ana"], sid)
        assert done["exercises"]["ex"] == {"score": 3.0, "max_score": 10.0, "passed": False}
        assert done["diagnoses_hidden_until_due"] is True
        page = client.get(done["feedback_url"]).text
        assert "STUB-DIAGNOSIS" not in page and "not passed" in page
        listed = client.get("/api/submissions", headers=bearer(toks["ana"])).json()["submissions"]
        assert "STUB-DIAGNOSIS" not in json.dumps([s for s in listed if s["chapter"] == "ch06"])
        # the instructor sees them
        assert client.get(f"/api/submissions/{sid}", headers=bearer(toks["prof"])).json()["exercises"]["ex"][
            "diagnosis"] == "STUB-DIAGNOSIS"
        # another chapter keeps the default: shown at once
        sid7 = upload(client, toks["ana"], notebook(3), name=ch07.path.name).json()["id"]
        assert wait_done(client, toks["ana"], sid7)["exercises"]["ex"]["diagnosis"] == "STUB-DIAGNOSIS"
        # once the due date has passed, shown
        rules.write_text('[service.chapters.ch06]\ndiagnoses = "after_due"\n[late.chapters.ch06]\n'
                         'due = 2020-01-01T00:00:00Z\n')
        after = client.get(f"/api/submissions/{sid}", headers=bearer(toks["ana"])).json()
        assert after["exercises"]["ex"]["diagnosis"] == "STUB-DIAGNOSIS" and after["late"] is True
        assert "STUB-DIAGNOSIS" in client.get(done["feedback_url"]).text
    finally:
        rules.unlink()


@pytest.mark.slow  # two service starts (~30 s on a loaded machine); the grader's own: test_service_grading.py
def test_kill_9_and_restart_finishes_every_queued_submission(tmp_path):
    root = tmp_path / "course"
    toks = make_tokens(root, learners=[f"l{i}" for i in range(6)])
    server = Server(root, delay=1.0, capacity=1)  # one at a time, a second each
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ids = {upload(client, toks[f"l{i}"], notebook(i)).json()["id"]: (f"l{i}", i) for i in range(6)}
    server.stop(signal.SIGKILL)
    s = st.Store(st.service_url(root, "sqlite:///x"), root)
    states = [s.get(sid)["status"] for sid in ids]
    assert "queued" in states  # the kill came before the queue was done
    s.close()
    server = Server(root, delay=0.0)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for sid, (who, score) in ids.items():
                done = wait_done(client, toks[who], sid)
                assert done["status"] == "graded" and done["score"] == float(score)
    finally:
        server.stop()
