"""Benchmark: the submission service under a burst, against `grade` on the same notebooks.

    .venv/bin/python bench/service.py --n 200 --learners 50

It releases a course once and copies it. On one copy it starts `python -m autograde
serve` (over loopback, a local dask cluster), waits for one warm-up verdict, then 50
learners (threads, one HTTP client each) send N notebooks at once (each learner a
different chapter each time: a seeded mix of correct answers, classic mistakes and
untouched notebooks from ``autograde.authoring.synthetic``). It prints the time from
upload to verdict (median, 95th percentile, max; from the service's own records), the
time to answer 202, and the burst's wall time; then it grades the same notebooks with
`python -m autograde grade` on the other copy and prints its wall time (in batch mode
every verdict arrives at the end). It checks that every submission got exactly one
verdict (one journal line each, none lost, none graded twice) and that the service and
`grade` gave every submission the same score. Nothing is timed inside a unit test.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde import course  # noqa: E402
from autograde.authoring import synthetic  # noqa: E402
from autograde.nbgrader_glue.coursedir import Course  # noqa: E402
from autograde.service import store as st  # noqa: E402
from autograde.service import tokens  # noqa: E402


def make(n: int, learners: int, folder: pathlib.Path, seed: int = 0) -> list[tuple[str, course.Chapter, bytes]]:
    rng = random.Random(seed)
    chapters = course.chapters()
    out = []
    for i in range(n):
        student, ch = f"l{i % learners:03d}", chapters[(i // learners) % len(chapters)]
        roll = rng.random()
        if roll < 0.4:
            answers = "reference"
        elif roll < 0.8:
            mistakes = synthetic.mistakes(ch)
            answers = {mistakes[(m := rng.choice(sorted(mistakes)))][0]: m}
        else:
            answers = "untouched"
        raw = nbformat.writes(synthetic.submission(ch, answers)).encode()
        path = folder / student / ch.path.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        out.append((student, ch, raw))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="submissions in the burst (default 200)")
    ap.add_argument("--learners", type=int, default=50, help="learners sending them (default 50)")
    ap.add_argument("--workers", type=int, default=0, help="grading workers (default: one per core)")
    ap.add_argument("--skip-grade", action="store_true", help="do not run `grade` for comparison")
    args = ap.parse_args()
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-service-"))
    server = None
    try:
        base = Course(work / "released")
        t0 = time.monotonic()
        base.release(course.chapters())
        print(f"released the course in {time.monotonic() - t0:.1f} s")
        svc_root, grade_root = work / "service-course", work / "grade-course"
        shutil.copytree(base.root, svc_root)
        shutil.copytree(base.root, grade_root)
        subs = make(args.n, args.learners, work / "submissions")
        (svc_root / "policies.toml").write_text("[service]\nrate_limit = 1000\n")  # the burst is the point here
        store = st.Store(st.service_url(svc_root, Course(svc_root).gradebook_url), svc_root)
        learners = sorted({s for s, _, _ in subs})
        toks = dict(tokens.issue(store, learners + ["warmup"]) + tokens.issue(store, ["prof"], tokens.INSTRUCTOR))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(work / "serve.log", "w")  # noqa: SIM115 - closed with the run
        server = subprocess.Popen([sys.executable, "-m", "autograde", "--course", str(svc_root), "-q", "serve",
                                   "--port", str(port), "--workers", str(args.workers)],
                                  stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        client = httpx.Client(base_url=url, timeout=60)
        while True:
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        t0 = time.monotonic()
        ch04 = course.by_assignment("ch04")
        r = client.post("/api/submissions", headers={"Authorization": f"Bearer {toks['warmup']}"},
                        files={"notebook": (ch04.path.name, nbformat.writes(synthetic.submission(ch04)).encode())})
        warm = r.json()["id"]
        while client.get(f"/api/submissions/{warm}", headers={"Authorization": f"Bearer {toks['warmup']}"}
                         ).json()["status"] in ("queued", "running"):
            time.sleep(0.2)
        print(f"service up, first verdict (cluster start) after {time.monotonic() - t0:.1f} s")

        by_learner: dict[str, list] = {}
        for student, ch, raw in subs:
            by_learner.setdefault(student, []).append((ch, raw))
        answered: list[float] = []
        ids: dict[str, tuple[str, str]] = {}

        def learner(student: str) -> None:
            with httpx.Client(base_url=url, timeout=120) as c:
                for ch, raw in by_learner[student]:
                    t = time.monotonic()
                    resp = c.post("/api/submissions", headers={"Authorization": f"Bearer {toks[student]}"},
                                  files={"notebook": (ch.path.name, raw)})
                    answered.append(time.monotonic() - t)
                    assert resp.status_code == 202, resp.text
                    ids[resp.json()["id"]] = (student, ch.assignment)

        burst = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(len(by_learner)) as pool:
            list(pool.map(learner, by_learner))
        uploaded = time.monotonic() - burst
        staff = {"Authorization": f"Bearer {toks['prof']}"}
        while True:
            rows = client.get("/api/submissions", headers=staff).json()["submissions"]
            if all(s["status"] not in ("queued", "running") for s in rows):
                break
            time.sleep(0.5)
        wall = time.monotonic() - burst
        records = {r["id"]: r for r in store.of() if r["id"] in ids}
        latency = [(r["finished"] - r["received"]).total_seconds() for r in records.values()]
        journal = [json.loads(x) for x in (svc_root / "autograde-journal.jsonl").read_text().splitlines()]
        graded_lines = [e for e in journal if e["student"] != "warmup"]
        statuses: dict[str, int] = {}
        for r in records.values():
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        print(f"\nservice: {len(ids)} submissions from {len(by_learner)} learners, all sent in {uploaded:.1f} s "
              f"(202 in median {statistics.median(answered) * 1000:.0f} ms, p95 {pct(answered, 0.95) * 1000:.0f} ms)")
        print(f"  upload to verdict: median {statistics.median(latency):.1f} s, p95 {pct(latency, 0.95):.1f} s, "
              f"max {max(latency):.1f} s; last verdict {wall:.1f} s after the burst began "
              f"({len(ids) / wall:.2f} submissions/s)")
        print(f"  statuses: {statuses}")
        lost = len(subs) - len(records)
        once = len(graded_lines) == len(subs) and len({(e['student'], e['assignment']) for e in graded_lines}) == len(subs)
        print(f"  lost: {lost}; graded exactly once (one journal line each): {once}")
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=120)
        server = None
        svc_scores = {ids[i]: r["score"] for i, r in records.items()}
        if args.skip_grade:
            return 0 if not lost and once else 1
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "autograde", "--course", str(grade_root), "-q", "grade",
                        str(work / "submissions"), "--out", str(work / "grade-out"), "--workers", str(args.workers)],
                       check=True, capture_output=True, env=env)
        grade_wall = time.monotonic() - t0
        with open(work / "grade-out" / "grades.csv", newline="") as f:
            grade_scores = {(r["student_id"], r["chapter"]): float(r["score"]) for r in csv.DictReader(f)}
        same = all(abs(grade_scores.get(k, -1) - (v or 0)) < 1e-9 for k, v in svc_scores.items())
        print(f"\ngrade:   the same {len(subs)} notebooks in {grade_wall:.1f} s, cluster start included "
              f"({len(subs) / grade_wall:.2f} submissions/s); every verdict arrives at the end: {grade_wall:.1f} s")
        print(f"  the service and grade gave every submission the same score: {same}")
        return 0 if not lost and once and same else 1
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
