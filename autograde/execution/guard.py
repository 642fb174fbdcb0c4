"""The run folder's guard: a tiny process that removes a grading run's temporary folder
when the coordinator that made it dies without removing it (``kill -9``).

    python -m autograde.execution.guard PID FOLDER

It waits for process PID to end (a pidfd, no polling), then kills every process left
that names FOLDER (the run's sandboxes) and removes FOLDER; a coordinator that ends
normally does both itself and stops its guard first.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import sys
import time


def kill_left_over(folder: str) -> list[int]:
    """SIGKILL every process whose command line names ``folder`` (the run's sandboxes: their
    outer bubblewrap binds files of the run folder; killing it ends everything inside), but
    this one; the pids signalled. A sandbox whose worker died abruptly is reparented to
    init and would otherwise outlive the run."""
    mark, killed = os.fsencode(str(folder).rstrip("/") + "/"), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if mark not in f.read():
                    continue
            os.kill(int(entry), signal.SIGKILL)
            killed.append(int(entry))
        except (OSError, ValueError):  # gone already, or not ours to read or signal
            continue
    return killed


def main(pid: int, folder: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the instructor's terminal is for the coordinator
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    for _ in range(20):  # workers notice within a quarter second; one may be starting a sandbox
        kill_left_over(folder)
        time.sleep(0.25)
    kill_left_over(folder)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
