"""Where the course's chapters live and how they are named.

Convention, so that adding a chapter needs no registration:

    chapters/NN/<notebook>.ipynb   the student edition of chapter NN
    nbgrader assignment            "chNN"
    reference module               solutions.chNN
    hidden checks                  autograde.checks.chNN

A notebook name is unique across the course, so a submitted file
``<student>/<notebook>.ipynb`` says by itself which chapter it belongs to.
"""
from __future__ import annotations

import dataclasses
import functools
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS_DIR = ROOT / "chapters"


@dataclasses.dataclass(frozen=True)
class Chapter:
    number: int
    path: pathlib.Path  # the student edition, chapters/NN/<notebook>.ipynb

    @property
    def assignment(self) -> str:
        return f"ch{self.number:02d}"

    @property
    def notebook(self) -> str:
        return self.path.stem

    @property
    def solutions_module(self) -> str:
        return f"solutions.{self.assignment}"

    @property
    def checks_module(self) -> str:
        return f"autograde.checks.{self.assignment}"


def chapters(root: pathlib.Path | None = None) -> list[Chapter]:
    """Every chapter that has a notebook, in order."""
    return list(_chapters(root or ROOT))


@functools.lru_cache(maxsize=4)
def _chapters(root: pathlib.Path) -> tuple[Chapter, ...]:
    base = root / "chapters"
    found = []
    for folder in sorted(base.iterdir()):
        if not (folder.is_dir() and folder.name.isdigit()):
            continue
        notebooks = sorted(p for p in folder.glob("*.ipynb"))
        if not notebooks:  # a chapter folder still being written
            continue
        if len(notebooks) != 1:
            raise RuntimeError(f"{folder} must hold exactly one notebook, found {len(notebooks)}")
        found.append(Chapter(int(folder.name), notebooks[0]))
    names = [c.notebook for c in found]
    if len(set(names)) != len(names):
        raise RuntimeError(f"notebook names must be unique across chapters: {names}")
    return tuple(found)


def by_notebook(name: str) -> Chapter | None:
    """The chapter whose notebook is called ``name`` (with or without .ipynb)."""
    name = name.removesuffix(".ipynb")
    return next((c for c in chapters() if c.notebook == name), None)


def by_assignment(assignment: str) -> Chapter:
    for c in chapters():
        if c.assignment == assignment:
            return c
    raise KeyError(f"no chapter for assignment {assignment!r}")
