"""The run folder's guard: a tiny process that removes a grading run's temporary folder
when the coordinator that made it dies without removing it (``kill -9``).

    python -m autograde.execution.guard PID FOLDER

It waits for process PID to end (a pidfd, no polling) and then removes FOLDER; a
coordinator that ends normally removes the folder itself and stops its guard first.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import sys


def main(pid: int, folder: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the instructor's terminal is for the coordinator
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
