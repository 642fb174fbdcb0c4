"""A submission made fit to grade, on the trusted side, before it runs.

First what any editor may do to an honest notebook is put right without a word:
Windows line ends become Jupyter's, and cell metadata an editor stripped is given back
from the release. Then nbgrader's own sanitize preprocessors (the ones ``nbgrader
autograde`` runs: clear the outputs, drop duplicated grade ids, restore the kernel spec,
put back every locked and test cell from the gradebook, check the metadata) are run
against the gradebook; what they repaired is said in plain words. Then the hidden test
regions that nbgrader put back are cut out (the hidden checks run on the trusted side,
never in the notebook). The plan of the run (what need not run, which course names the
learner defined again) is ``autograde.execution.plan``'s.
"""
from __future__ import annotations

import ast
import functools
import logging

from nbgrader import utils

from autograde.authoring.markers import strip_hidden

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
        normalise_line_ends(nb)
        restore_stripped_metadata(nb, released)
        edited = edited_locked_cells(nb, released)
        repaired = restore_metadata(nb, released)
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
    if repaired:
        warnings.append(f"the grading metadata of {repaired} cell(s) was edited; the original was put back")
    return nb, warnings + plain_warnings(capture.messages)


def normalise_line_ends(nb) -> None:
    """Windows (CRLF) and old Mac (CR) line ends as Jupyter's own (LF) in every cell:
    Python reads them the same, and a locked cell saved on Windows is not an edit."""
    for cell in nb.cells:
        if "\r" in cell.source:
            cell.source = cell.source.replace("\r\n", "\n").replace("\r", "\n")


def restore_stripped_metadata(nb, released) -> int:
    """Give back its nbgrader metadata to each cell that lost it to an editor (some
    editors and tools drop the metadata of every cell): the release's cells are matched
    to the submission's, the cells left as released (locked and test cells) by their
    source, an answered cell by its place between matched cells (the one of its type
    there that defines the exercise's function, or the only one of its type). Only the
    grade ids missing from the submission are given back, to cells with no nbgrader
    metadata. Returns how many cells got theirs back."""
    import difflib

    present = {c.metadata["nbgrader"].get("grade_id") for c in nb.cells
               if isinstance(c.get("metadata", {}).get("nbgrader"), dict)}
    ours = [i for i, c in enumerate(released.cells)
            if "grade_id" in c.metadata.get("nbgrader", {}) and c.metadata["nbgrader"]["grade_id"] not in present]
    if not ours:
        return 0
    keys = [(c.cell_type, c.source.strip()) for c in released.cells]
    theirs = [(c.cell_type, c.source.strip()) for c in nb.cells]
    pairs = [(a + k, b + k) for a, b, n in difflib.SequenceMatcher(None, keys, theirs, autojunk=False)
             .get_matching_blocks() for k in range(n)]
    match = dict(pairs)
    taken, restored = set(), 0
    for r in ours:
        cell = released.cells[r]
        j = match.get(r)
        if j is None:
            before = max((b for a, b in pairs if a < r), default=-1)
            after = min((b for a, b in pairs if a > r), default=len(nb.cells))
            gap = [k for k in range(before + 1, after) if nb.cells[k].cell_type == cell.cell_type and k not in taken]
            defines = defined(cell.source)
            fits = [k for k in gap if defines and defines & defined(nb.cells[k].source)]
            j = fits[0] if fits else (gap[0] if len(gap) == 1 else None)
        if j is None or j in taken or "nbgrader" in nb.cells[j].get("metadata", {}):
            continue
        nb.cells[j].metadata["nbgrader"] = dict(cell.metadata["nbgrader"])
        taken.add(j)
        restored += 1
    return restored


@functools.lru_cache(maxsize=4096)
def defined(source: str) -> frozenset[str]:
    """The functions and classes a cell defines at top level (none if it is not Python)."""
    try:
        return frozenset(st.name for st in ast.parse(source).body
                         if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
    except (SyntaxError, ValueError):
        return frozenset()


def restore_metadata(nb, released) -> int:
    """Put back the released nbgrader metadata of every cell that carries a grade id of
    the chapter, and drop it from cells that carry any other (a cell made into a "grade
    cell" by its learner is an ordinary cell). Returns how many cells were changed."""
    original = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in released.cells
                if "grade_id" in c.metadata.get("nbgrader", {})}
    changed = 0
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if gid in original:
            if meta != original[gid]:
                cell.metadata["nbgrader"] = dict(original[gid])
                changed += 1
        else:
            del cell.metadata["nbgrader"]
            changed += 1
    return changed


def edited_locked_cells(nb, released) -> list[str]:
    """Grade ids of locked cells whose source differs from the released notebook
    (nbgrader restores them; its own log cannot tell an edit from the hidden tests it
    puts back)."""
    locked = {c.metadata["nbgrader"]["grade_id"]: c.source for c in released.cells
              if utils.is_locked(c) and not utils.is_solution(c)}
    edited = []
    for cell in nb.cells:
        gid = cell.metadata["nbgrader"].get("grade_id") if utils.is_locked(cell) else None
        if gid in locked and cell.source != locked[gid]:
            edited.append(gid)
    return edited


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
