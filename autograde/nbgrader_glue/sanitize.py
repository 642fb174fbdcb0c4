"""A submission made fit to grade, on the trusted side, before it runs.

nbgrader's own sanitize preprocessors (the ones ``nbgrader autograde`` runs: clear the
outputs, drop duplicated grade ids, restore the kernel spec, put back every locked and
test cell from the gradebook, check the metadata) are run against the gradebook; what
they repaired is said in plain words. Then the hidden test regions that nbgrader put
back are cut out (the hidden checks run on the trusted side, never in the notebook),
and the plan of what to grade and what need not run is made.
"""
from __future__ import annotations

import ast
import functools
import logging

import nbformat
from nbgrader import utils

from autograde import course
from autograde.authoring.assemble import strip_hidden

log = logging.getLogger("autograde")


class _Capture(logging.Handler):
    """Collects the warnings nbgrader's preprocessors log about one submission."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def sanitize(nb, resources: dict, config, released) -> tuple[object, list[str]]:
    """Run nbgrader's sanitize preprocessors on ``nb``; return it and the repairs in
    plain words. ``released``: the chapter's released notebook (to tell an edited
    locked cell from a hidden test put back)."""
    from nbgrader.converters import Autograde

    capture = _Capture()
    plog = logging.getLogger(f"autograde.sanitize.{resources['nbgrader']['student']}")
    plog.propagate = False
    plog.addHandler(capture)
    try:
        edited = edited_locked_cells(nb, released)
        for cls in Autograde.class_traits()["sanitize_preprocessors"].default():  # nbgrader's own, in its order
            nb, resources = cls(config=config, log=plog)(nb, resources)
            # DeduplicateIds leaves an empty nbgrader dict on a copied cell, which the
            # metadata check then rejects (the whole notebook fails in plain nbgrader):
            # the copy is just an ordinary cell
            for cell in nb.cells:
                if cell.get("metadata", {}).get("nbgrader", None) == {}:
                    del cell.metadata["nbgrader"]
    finally:
        plog.removeHandler(capture)
    warnings = [f"the locked cell {gid!r} was edited; the original was put back and graded" for gid in edited]
    return nb, warnings + plain_warnings(capture.messages)


def edited_locked_cells(nb, released) -> list[str]:
    """Grade ids of locked cells whose source differs from the released notebook
    (nbgrader restores them; its own log cannot tell an edit from the hidden tests it
    puts back)."""
    locked = {c.metadata["nbgrader"]["grade_id"]: c.source for c in released.cells
              if utils.is_locked(c) and not utils.is_solution(c)}
    return [gid for c in nb.cells if (gid := c.get("metadata", {}).get("nbgrader", {}).get("grade_id")) in locked
            and c.source != locked[gid]]


def plain_warnings(messages: list[str]) -> list[str]:
    """nbgrader's log lines about a submission, in words for the instructor."""
    out = []
    for m in messages:
        if "'checksum'" in m:
            continue  # nbgrader puts the hidden tests back this way; real edits are found by edited_locked_cells
        if "Missing grade cell" in m:
            out.append("a test cell was deleted; it was put back and graded")
        elif "has changed" in m and "'cell_type'" in m:
            out.append("a cell's type was changed; it was restored")
        elif "has changed" in m and "'locked'" in m:
            out.append("a cell was unlocked; it was locked again")
        elif "has changed" in m and "'points'" in m:
            out.append("a cell's points were changed; the original points count")
        elif "exists multiple times" in m:
            out.append("a cell was copied (duplicate grade id); the copy was ignored")
        elif "does not exist in the database" in m:
            out.append("a cell has an unknown grade id; it was ignored")
        else:
            out.append(m[:200])
    return list(dict.fromkeys(out))


def strip_hidden_tests(nb) -> None:
    """Cut the hidden test regions out of every cell: they never go to the sandbox."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_hidden(cell.source)


# ---------------------------------------------------------------- what need not run
def _names(source: str) -> tuple[set[str], set[str]] | None:
    """(names a cell binds at top level, every other name it mentions), or None if it is
    not Python even after IPython's transforms (magics, shell escapes)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # noqa: BLE001 - not Python: it may read anything
        return None
    top = set()
    for node in tree.body:
        for target in getattr(node, "targets", None) or [getattr(node, "target", None)]:
            if target is not None:
                top.update(id(n) for n in ast.walk(target) if isinstance(n, ast.Name))
    bound = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    bound |= {(a.asname or a.name).split(".")[0] for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
              for a in n.names}
    read = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if id(node) in top else read).add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            read.update(node.names)
    return bound, read


@functools.lru_cache(maxsize=32)
def _figure_sources(path: str) -> frozenset[str]:
    """Sources of the released notebook's figure cells: code hidden in the book
    (``hide-input``), not part of any exercise."""
    released = nbformat.read(path, as_version=4)
    return frozenset(c.source for c in released.cells if c.cell_type == "code"
                     and "hide-input" in c.metadata.get("tags", []) and "nbgrader" not in c.metadata)


def skippable(nb, chapter: course.Chapter, released_path) -> list[int]:
    """Indices of the cells that need not run to grade ``nb``: the chapter's figure cells,
    exactly as released, that bind no name any cell that does run reads (anywhere, in
    function bodies too). No verdict can depend on them: the checks call the learner's
    functions, and those functions run only code of cells that run."""
    figures = _figure_sources(str(released_path))
    names = {i: _names(c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    skip = {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source in figures
            and "nbgrader" not in c.metadata and names[i] is not None}
    while True:
        running = [names[i] for i in names if i not in skip]
        if any(n is None for n in running):
            return []  # a cell that is not Python may read anything
        read = set().union(*(n[1] for n in running))
        keep = {i for i in skip if names[i][0] & read}
        if not keep:
            return sorted(skip)
        skip -= keep
