"""The grading journal (``<course>/autograde-journal.jsonl``): one line per graded
submission, written after its grades are in the gradebook, so a run killed half-way
finishes where it stopped and nothing is graded twice. Each line holds the scores it
saved, so the journal and the gradebook can be checked against each other."""
from __future__ import annotations

import datetime
import json
import os
import pathlib


class Journal:
    def __init__(self, path: pathlib.Path):
        self.path = pathlib.Path(path)

    def entries(self) -> dict[tuple[str, str], dict]:
        """The last entry of every (student, assignment)."""
        done = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                    done[(entry["student"], entry["assignment"])] = entry
                except (json.JSONDecodeError, KeyError, TypeError):  # a line cut short by a kill
                    continue
        return done

    def record(self, entry: dict) -> None:
        entry = dict(entry, at=datetime.datetime.now(datetime.UTC).isoformat())
        with open(self.path, "a") as f:
            f.write(json.dumps(entry, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
