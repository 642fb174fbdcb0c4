"""Benchmark: how long chapter 8's training cell takes, run in a notebook as a learner runs it.

    .venv/bin/python bench/ch08_training.py --runs 3

Each run executes chapter 8 with the reference answers in a fresh Jupyter kernel (the
hidden tests cut out, as in tests/test_prose.py) and reads the time that the training
cell prints itself ("13989 steps in 9.8 s"). Before each run it prints the machine's
one-minute load average, and calls the run "idle" when that load is below 0.5 per core
and "busy" otherwise, since the machine may be shared. The chapter's prose states the
figures measured with this script; nothing is timed inside a unit test.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import statistics
import sys
import time

import nbclient

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde import course  # noqa: E402
from autograde.authoring import synthetic  # noqa: E402
from autograde.authoring.markers import strip_hidden  # noqa: E402

STEPS = re.compile(r"(\d+) steps in ([\d.]+) s")


def one_run(chapter) -> tuple[int, float]:
    """(steps, seconds) as the notebook's training cell prints them."""
    nb = synthetic.submission(chapter, "reference")
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_hidden(cell.source)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(chapter.path.parent)}}).execute()
    printed = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                        if o.get("output_type") == "stream")
    found = STEPS.search(printed)
    if not found:
        raise SystemExit("the training cell printed no 'N steps in S s' line")
    return int(found.group(1)), float(found.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    chapter = course.by_assignment("ch08")
    cores = os.cpu_count() or 1
    print(f"chapter 8's training cell, reference answers, {cores} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    seconds = {"idle": [], "busy": []}
    for k in range(args.runs):
        load = os.getloadavg()[0]
        state = "idle" if load / cores < 0.5 else "busy"
        steps, took = one_run(chapter)
        seconds[state].append(took)
        print(f"run {k + 1}: {steps} steps in {took:.1f} s (load {load:.2f} before the run: {state})")
    for state, values in seconds.items():
        if values:
            print(f"{state}: {len(values)} run(s), median {statistics.median(values):.1f} s, "
                  f"from {min(values):.1f} to {max(values):.1f} s")


if __name__ == "__main__":
    main()
