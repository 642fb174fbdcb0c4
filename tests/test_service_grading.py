"""The submission service with the real grader (slow: a dask cluster, sandboxed kernels):
`python -m autograde serve` over loopback grades notebooks as `grade` does, into the
gradebook and journal that `export` reads; the rule of which submission counts; lateness
from the server's clock; a bad notebook does not hold the others; kill -9 and restart;
a PostgreSQL gradebook."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import nbformat
import pytest
import test_scale
from test_service import bearer, free_port, make_tokens, wait_done

from autograde import course
from autograde.authoring import synthetic

pytestmark = pytest.mark.slow
pg = test_scale.postgres  # test_scale's PostgreSQL server, as the fixture `pg`

CH04, CH05 = course.by_assignment("ch04"), course.by_assignment("ch05")


class Serve:
    """``python -m autograde serve`` in a subprocess (its own process group)."""

    def __init__(self, root, *extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(root.parent / f"serve-{self.port}.log", "w")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen([sys.executable, "-m", "autograde", "--course", str(root), "-q", "serve",
                                      "--port", str(self.port), "--workers", "2", "--cell-timeout", "8",
                                      "--notebook-timeout", "60", *extra],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
            assert self.proc.poll() is None, (root.parent / f"serve-{self.port}.log").read_text()
        raise AssertionError("serve did not start")

    def kill9(self) -> None:
        """kill -9 of the service's process only (as a crash would)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        # whatever the killed service left behind in its group (dask workers)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


def nb(chapter, answers="reference", code: str | None = None) -> bytes:
    n = synthetic.submission(chapter, answers)
    if code is not None:
        n.cells.insert(1, nbformat.v4.new_code_cell(code))
    return nbformat.writes(n).encode()


def send(client, token, raw, chapter=CH04) -> str:
    r = client.post("/api/submissions", headers=bearer(token), files={"notebook": (chapter.path.name, raw)})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def grades_csv(root, *extra) -> dict:
    out = root.parent / "export"
    subprocess.run([sys.executable, "-m", "autograde", "--course", str(root), "-q", "export", "--out", str(out), *extra],
                   check=True, capture_output=True)
    return {(r["student_id"], r["chapter"]): r for r in csv.DictReader((out / "grades.csv").open())}


def test_service_grades_into_the_gradebook_with_the_rules(tmp_path):
    root = tmp_path / "course"
    toks = make_tokens(root, learners=("ana", "bo", "cy", "dee"))
    (root / "policies.toml").write_text('[service.chapters.ch04]\ncounts = "best"\n'
                                        "[late.chapters.ch05]\ndue = 2020-01-01T00:00:00Z\npenalty_per_day = 10\n"
                                        "penalty_cap = 50\n")
    server = Serve(root)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            good = send(client, toks["ana"], nb(CH04))
            assert wait_done(client, toks["ana"], good, 300)["score"] == 8.0
            # a bad notebook (an endless cell) holds one worker; the one after it is graded meanwhile
            stuck = send(client, toks["cy"], nb(CH04, code="while True:\n    pass"))
            t0 = time.monotonic()
            after = send(client, toks["dee"], nb(CH04))
            assert wait_done(client, toks["dee"], after, 120)["score"] == 8.0
            assert client.get(f"/api/submissions/{stuck}", headers=bearer(toks["cy"])).json()["status"] == "running"
            assert time.monotonic() - t0 < 8, "the good notebook waited for the stuck one"
            worse = send(client, toks["ana"], nb(CH04, {"rnn_cell_forward": "bias_left_out"}))
            w = wait_done(client, toks["ana"], worse, 120)
            assert w["score"] == 5.0 and w["status"] == "graded"
            assert "bias" in w["exercises"]["rnn_cell_forward"]["diagnosis"]
            page = client.get(w["feedback_url"]).text
            assert "bias" in page
            late = send(client, toks["bo"], nb(CH05), CH05)
            lb = wait_done(client, toks["bo"], late, 120)
            assert lb["late"] is True and lb["score"] == lb["max_score"]
            assert wait_done(client, toks["cy"], stuck, 120)["status"] == "timed-out"
            # under "best" the first counts, and the gradebook holds it again (a restore job)
            listed = {s["id"]: s for s in client.get("/api/submissions", headers=bearer(toks["ana"])).json()["submissions"]}
            assert listed[good]["counts"] and not listed[worse]["counts"]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                staff = client.get("/api/submissions", headers=bearer(toks["prof"])).json()["submissions"]
                if all(s["status"] not in ("queued", "running") for s in staff):
                    rows = grades_csv(root)
                    if float(rows[("ana", "ch04")]["score"]) == 8.0:
                        break
                time.sleep(1)
            chapters = client.get("/api/chapters", headers=bearer(toks["ana"])).json()["chapters"]
            assert next(c for c in chapters if c["chapter"] == "ch04")["score"] == 8.0
    finally:
        server.stop()
    rows = grades_csv(root)
    assert float(rows[("ana", "ch04")]["score"]) == 8.0  # the best, as `grade` would write it
    assert float(rows[("dee", "ch04")]["score"]) == 8.0
    assert rows[("cy", "ch04")]["status"] == "timed-out"
    bo = rows[("bo", "ch05")]
    assert float(bo["late_penalty"]) > 0 and float(bo["final_score"]) == float(bo["score"]) / 2  # the cap, by the server's clock
    journal = [json.loads(line) for line in (root / "autograde-journal.jsonl").read_text().splitlines()]
    assert {(e["student"], e["assignment"]) for e in journal} >= {("ana", "ch04"), ("bo", "ch05"), ("dee", "ch04")}
    assert (root / "feedback").exists() or any((root / "autograded").iterdir())


def test_kill_9_of_the_service_and_a_restart_grade_every_submission(tmp_path):
    root = tmp_path / "course"
    learners = [f"l{i}" for i in range(5)]
    toks = make_tokens(root, learners=learners)
    mistakes = [("reference", 8.0), ({"rnn_cell_forward": "bias_left_out"}, 5.0)]
    server = Serve(root)
    expected = {}
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i, who in enumerate(learners):
                answers, score = mistakes[i % 2]
                expected[send(client, toks[who], nb(CH04, answers))] = (who, score)
            time.sleep(1.0)
        server.kill9()
    finally:
        server.stop()
    from autograde.service import store as st

    s = st.Store(st.service_url(root, "sqlite:///x"), root)
    assert any(s.get(sid)["status"] in ("queued", "running") for sid in expected)  # killed mid-queue
    s.close()
    server = Serve(root)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for sid, (who, score) in expected.items():
                done = wait_done(client, toks[who], sid, 300)
                assert (done["status"], done["score"]) == ("graded", score), done
    finally:
        server.stop()
    rows = grades_csv(root)
    assert {who: float(rows[(who, "ch04")]["score"]) for who, _ in expected.values()} == \
        {who: s for who, s in expected.values()}


def test_service_on_a_postgresql_gradebook(tmp_path, pg):
    url, port = pg
    root = tmp_path / "course"
    from autograde.nbgrader_glue.coursedir import Course

    Course(root, url)  # keeps the URL in the course's config
    toks = make_tokens(root, learners=("ana",))
    server = Serve(root, "--db-url", url)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            sid = send(client, toks["ana"], nb(CH04, {"rnn_cell_forward": "bias_left_out"}))
            assert wait_done(client, toks["ana"], sid, 300)["score"] == 5.0
    finally:
        server.stop()
    import psycopg

    conn = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="gradebook")
    cur = conn.cursor()
    cur.execute("SELECT student, status, score FROM service_submissions")
    assert cur.fetchall() == [("ana", "graded", 5.0)]
    cur.execute("SELECT count(*) FROM service_tokens")
    assert cur.fetchone()[0] == 2
    cur.execute("SELECT sum(coalesce(g.manual_score, g.auto_score)) FROM grade g JOIN submitted_notebook n "
                "ON g.notebook_id = n.id JOIN submitted_assignment s ON n.assignment_id = s.id "
                "WHERE s.student_id = 'ana'")
    assert float(cur.fetchone()[0]) == 5.0
    conn.close()
    assert not (root / "service.db").exists()

