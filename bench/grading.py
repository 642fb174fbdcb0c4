"""Benchmark: grading a class with `python -m autograde grade` (sandboxed) against plain `nbgrader autograde`.

    .venv/bin/python bench/grading.py --n 20 100 400

For each N it generates N synthetic submissions spread over all chapters (a realistic
mix, seeded: 40 % correct, 40 % with one classic mistake, 20 % untouched), grades them
with this course's command, then with plain `nbgrader autograde` (one command per
chapter, as an instructor would run it) on a copy of the same released course, checks
that every grade of every cell is identical in the two gradebooks, and prints both
throughputs and their ratio. Nothing is timed inside a unit test.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import time

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from autograde import course  # noqa: E402
from autograde.authoring import synthetic  # noqa: E402
from autograde.nbgrader_glue.coursedir import Course  # noqa: E402


def make_submissions(n: int, folder: pathlib.Path, seed: int = 0) -> list[tuple[str, course.Chapter, str]]:
    rng = random.Random(seed)
    chapters = course.chapters()
    made = []
    for i in range(n):
        ch = chapters[i % len(chapters)]
        student = f"learner{i // len(chapters):04d}"
        roll = rng.random()
        if roll < 0.4:
            answers, kind = "reference", "correct"
        elif roll < 0.8:
            mistake = rng.choice(sorted(synthetic.mistakes(ch)))
            answers, kind = {synthetic.mistakes(ch)[mistake][0]: mistake}, mistake
        else:
            answers, kind = "untouched", "untouched"
        path = folder / student / ch.path.name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(synthetic.submission(ch, answers), path)
        made.append((student, ch, kind))
    return made


def scores(course_dir: pathlib.Path) -> dict:
    c = Course(course_dir)
    out = {}
    with c.gradebook() as gb:
        for ch in course.chapters():
            try:
                subs = gb.assignment_submissions(ch.assignment)
            except Exception:
                continue
            for sub in subs:
                for nb in sub.notebooks:
                    for g in nb.grades:
                        out[(sub.student_id, ch.assignment, nb.name, g.name)] = g.score
    return out


def run(cmd, cwd=None) -> float:
    env = dict(os.environ, PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    t = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.monotonic() - t


def in_kernel_baseline(course_dir: pathlib.Path) -> None:
    """Let plain ``nbgrader autograde`` grade this copy of the course, with the hidden checks
    in the learner's kernel (refused in every other course directory): the baseline."""
    cfg = course_dir / "nbgrader_config.py"
    cfg.write_text(cfg.read_text().replace("__file__", "__file__, in_kernel_baseline=True", 1))


def bench(n: int, work: pathlib.Path, workers: int) -> dict:
    subs = work / f"subs{n}"
    made = make_submissions(n, subs)
    ours_dir, plain_dir = work / f"ours{n}", work / f"plain{n}"
    Course(ours_dir).release()
    shutil.copytree(ours_dir, plain_dir)  # the same released course, untouched gradebook
    in_kernel_baseline(plain_dir)
    extra = ["--workers", str(workers)] if workers else []
    t_ours = run([sys.executable, "-m", "autograde", "--course", str(ours_dir), "-q", "grade", str(subs),
                  "--out", str(work / f"out{n}"), *extra])
    # plain nbgrader: the same files in nbgrader's submitted/ layout, one autograde per chapter
    for student, ch, _ in made:
        dest = plain_dir / "submitted" / student / ch.assignment / ch.path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(subs / student / ch.path.name, dest)
    t_plain = 0.0
    for ch in sorted({ch for _, ch, _ in made}, key=lambda c: c.number):
        t_plain += run([str(pathlib.Path(sys.executable).parent / "nbgrader"), "autograde", ch.assignment,
                        "--force", "--log-level=ERROR"], cwd=plain_dir)
    a, b = scores(ours_dir), scores(plain_dir)
    differ = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
    # partial credit (a check's PARTS): plain nbgrader gives a failed cell 0, ours the
    # sub-checks passed; that difference is the feature, every other one is a fault
    partial = [k for k in differ if b.get(k) == 0 and (a.get(k) or 0) > 0
               and k[3].removeprefix("test_") in _parts(k[1])]
    differ = [k for k in differ if k not in partial]
    same = not differ
    kinds = {}
    for _, _, kind in made:
        key = kind if kind in ("correct", "untouched") else "one mistake"
        kinds[key] = kinds.get(key, 0) + 1
    return {"n": n, "ours": t_ours, "plain": t_plain, "same": same, "cells": len(a), "differ": differ[:5],
            "partial": len(partial), "mix": kinds}


def _parts(assignment: str) -> dict:
    """The exercises of a chapter whose checks give partial credit."""
    import importlib

    return getattr(importlib.import_module(course.by_assignment(assignment).checks_module), "PARTS", {})


class PeakMemory:
    """The peak resident memory of a grading run, sampled every 0.2 s: the grader (the
    coordinator, its workers and their helper processes) and all sandboxes together."""

    def __init__(self, pid: int):
        import threading

        self.pid, self.grader, self.sandboxes, self.done = pid, 0, 0, False
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done:
            grader = sandboxes = 0
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.Error:
                break
            for p in procs:
                try:
                    rss, cmd = p.memory_info().rss, " ".join(p.cmdline())
                except psutil.Error:
                    continue
                if "harness.py" in cmd or "bwrap" in cmd.split(" ")[0] or cmd.startswith("/usr/bin/setpriv"):
                    sandboxes += rss
                else:
                    grader += rss
            self.grader, self.sandboxes = max(self.grader, grader), max(self.sandboxes, sandboxes)
            time.sleep(0.2)

    def stop(self) -> tuple[float, float]:
        self.done = True
        self.thread.join(5)
        return self.grader / 2**20, self.sandboxes / 2**20


def grade_measured(course_dir: pathlib.Path, subs: pathlib.Path, out: pathlib.Path, workers: int):
    """(seconds, peak grader MB, peak sandboxes MB) of one `python -m autograde grade`."""
    Course(course_dir).release()
    extra = ["--workers", str(workers)] if workers else []
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "autograde", "--course", str(course_dir), "-q", "grade", str(subs),
                             "--out", str(out), *extra], stdout=subprocess.DEVNULL)
    peak = PeakMemory(proc.pid)
    if proc.wait() != 0:
        raise SystemExit(f"grading {subs} failed")
    return (time.perf_counter() - t, *peak.stop())


def attack_bench(n: int, work: pathlib.Path, workers: int) -> str:
    """The honest class alone, then with the red team's submissions (bench/attacks.py)
    mixed in: the slowdown, the peak memory, and whether every honest grade is the same."""
    import csv

    import attacks

    honest = work / f"honest{n}"
    make_submissions(n, honest, seed=1)
    mixed = work / f"mixed{n}"
    shutil.copytree(honest, mixed)
    for name, build in attacks.ATTACKS.items():
        ch = attacks.CH07 if name == "huge_stand_in" else attacks.CH04
        dest = mixed / f"attack-{name}" / ch.path.name
        dest.parent.mkdir(parents=True)
        nbformat.write(build(), dest)
    runs = {}
    for label, subs in (("honest", honest), ("mixed", mixed)):
        runs[label] = grade_measured(work / f"course-{label}{n}", subs, work / f"out-{label}{n}", workers)

    def grades(label):
        with open(work / f"out-{label}{n}" / "grades.csv", newline="") as f:
            return {(r["student_id"], r["chapter"]): (r["status"], r["score"]) for r in csv.DictReader(f)
                    if not r["student_id"].startswith("attack-")}

    same = grades("honest") == grades("mixed")
    (t_h, g_h, s_h), (t_m, g_m, s_m) = runs["honest"], runs["mixed"]
    return (f"attacks: {n} honest notebooks in {t_h:.1f} s; with the {len(attacks.ATTACKS)} attacks mixed in "
            f"{t_m:.1f} s: slowdown {t_m / t_h:.2f}x (goal < 1.5x); honest grades identical: {'yes' if same else 'NO'}\n"
            f"peak memory: grader {g_h:.0f} MB honest, {g_m:.0f} MB mixed; all sandboxes together "
            f"{s_h:.0f} MB honest, {s_m:.0f} MB mixed")


def sandbox_cost(n: int = 20) -> str:
    """What the sandbox adds to one notebook: bubblewrap around a process (median of n
    starts of `python -c pass`, in a sandbox and not), and a sandboxed kernel's start."""
    import statistics

    from jupyter_client import BlockingKernelClient

    from autograde.execution.sandbox import Limits, SandboxFactory

    with tempfile.TemporaryDirectory() as tmp:
        factory = SandboxFactory(pathlib.Path(tmp), Limits())
        inside = factory.command()[:-2] + ["-c", "pass"]

        def median(cmd):
            times = []
            for _ in range(n):
                t = time.perf_counter()
                subprocess.run(cmd, check=True)
                times.append(time.perf_counter() - t)
            return statistics.median(times)

        bare = median([sys.executable, "-I", "-c", "pass"])
        wrapped = median(inside)
        starts = []
        for _ in range(5):
            t = time.perf_counter()
            sandbox = factory.start()
            kc = BlockingKernelClient()
            kc.load_connection_info(sandbox.connection_info)
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            starts.append(time.perf_counter() - t)
            kc.stop_channels()
            sandbox.kill()
    return (f"sandbox cost per notebook: bubblewrap adds {1000 * (wrapped - bare):.0f} ms to a process start "
            f"({1000 * wrapped:.0f} ms vs {1000 * bare:.0f} ms); a fresh sandboxed kernel is ready in "
            f"{statistics.median(starts):.2f} s (started while the previous notebook runs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="*", default=[20, 100, 400])
    ap.add_argument("--workers", type=int, default=0, help="default: one per core")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--attacks", type=int, default=0, metavar="N",
                    help="also grade N honest notebooks alone and with bench/attacks.py mixed in (slowdown, memory)")
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="autograde-bench-"))
    print(f"machine: {os.cpu_count()} cores; chapters: {len(course.chapters())}; work folder: {work}")
    print(f"{'N':>5} {'ours s':>8} {'plain s':>8} {'ours nb/s':>10} {'plain nb/s':>11} {'ratio':>6} "
          f"{'ours s/nb':>10} {'plain s/nb':>11}  identical scores")
    rows = []
    for n in args.n:
        r = bench(n, work, args.workers)
        rows.append(r)
        print(f"{n:>5} {r['ours']:>8.1f} {r['plain']:>8.1f} {n / r['ours']:>10.2f} {n / r['plain']:>11.2f} "
              f"{r['plain'] / r['ours']:>6.2f} {r['ours'] / n:>10.3f} {r['plain'] / n:>11.3f}  "
              f"{'yes' if r['same'] else 'NO ' + str(r['differ'])} ({r['cells']} cell grades, {r['partial']} of them "
              f"partial credit that plain nbgrader scores 0; {r['mix']})", flush=True)
    if len(rows) > 1:
        a, b = rows[-2], rows[-1]
        print(f"cost per extra submission from N={a['n']} to N={b['n']}: ours "
              f"{(b['ours'] - a['ours']) / (b['n'] - a['n']):.3f} s, plain {(b['plain'] - a['plain']) / (b['n'] - a['n']):.3f} s")
    print(sandbox_cost(), flush=True)
    if args.attacks:
        print(attack_bench(args.attacks, work, args.workers), flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if not all(r["same"] for r in rows):
        raise SystemExit("scores differ between the two graders")


if __name__ == "__main__":
    main()
