"""The round trip: chapter -> nbgrader source -> generate_assignment -> chapter again.

``release_copy`` runs it in a throw-away course directory; ``sync_chapters`` writes the
nbgrader metadata that generate_assignment adds (checksums, lock flags) back into the
chapters, after checking that every cell's source came back unchanged.
"""
from __future__ import annotations

import pathlib
import tempfile

import nbformat

from autograde import course
from autograde.authoring.assemble import release_links


def release_copy(chapters: list[course.Chapter] | None = None) -> dict[course.Chapter, nbformat.NotebookNode]:
    from autograde.nbgrader_glue.coursedir import Course

    chapters = chapters or course.chapters()
    with tempfile.TemporaryDirectory(prefix="autograde-roundtrip-") as tmp:
        c = Course(pathlib.Path(tmp) / "course")
        paths = c.release(chapters)
        return {ch: nbformat.read(p, as_version=4) for ch, p in zip(chapters, paths)}


def sync_chapters(only: list[str] | None = None) -> list[pathlib.Path]:
    """Write the released form of the chapters (all, or those whose assignment ids are
    in ``only``) back into chapters/."""
    chapters = [c for c in course.chapters() if not only or c.assignment in only]
    changed = []
    for ch, released in release_copy(chapters).items():
        chapter = nbformat.read(ch.path, as_version=4)
        if [(c.cell_type, release_links(c.source)) for c in chapter.cells] != \
                [(c.cell_type, c.source) for c in released.cells]:
            raise RuntimeError(f"{ch.path}: generate_assignment changed cell sources; fix the chapter's stubs first")
        for mine, theirs in zip(chapter.cells, released.cells):
            theirs.source = mine.source  # the chapter's links point at the book's pages
        if chapter != released:
            nbformat.write(released, ch.path)
            changed.append(ch.path)
    return changed
