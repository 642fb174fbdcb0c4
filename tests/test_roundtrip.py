"""The nbgrader round trip: the source notebook assembled from a chapter, the reference
and the hidden checks gives back exactly the chapter under generate_assignment."""
import importlib

import nbformat
import pytest

from autograde import course
from autograde.authoring import assemble
from autograde.authoring.markers import BEGIN_HIDDEN, BEGIN_SOLUTION

CHAPTERS = course.chapters()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_generate_assignment_gives_back_the_chapter(chapter, released):
    _, paths = released
    release = nbformat.read(paths[chapter], as_version=4)
    original = nbformat.read(chapter.path, as_version=4)
    assert release.metadata == original.metadata
    assert len(release.cells) == len(original.cells)
    for a, b in zip(original.cells, release.cells):
        if a.cell_type == "markdown":
            a.source = assemble.release_links(a.source)
        assert a == b, f"cell {a.get('id')} differs after the round trip (run `python -m autograde sync`?)"
    # and byte for byte, as files: the chapter, with its links to the glossary and the
    # notation page pointing beside it, where the release ships them
    assert paths[chapter].read_text() == assemble.release_links(chapter.path.read_text())


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_source_holds_reference_and_hidden_checks(chapter):
    src = assemble.assemble(chapter)
    solution_cells = [c for c in src.cells if c.metadata.get("nbgrader", {}).get("solution")]
    grade_cells = [c for c in src.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert solution_cells and grade_cells
    assert all(BEGIN_SOLUTION in c.source for c in solution_cells)
    assert all(c.source.startswith(BEGIN_HIDDEN) for c in grade_cells)
    # every grade cell has a check, and every check has a grade cell
    checks = importlib.import_module(chapter.checks_module)
    names = {c.metadata["nbgrader"]["grade_id"].removeprefix("test_") for c in grade_cells}
    defined = {n.removeprefix("check_") for n in dir(checks) if n.startswith("check_")}
    assert names == defined


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_chapter_metadata_is_sound(chapter):
    nb = nbformat.read(chapter.path, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "duplicate grade ids"
    for cell in nb.cells:
        assert not cell.get("outputs") and cell.get("execution_count") is None, "chapters hold sources only"
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            assert meta["locked"] and meta["points"] > 0
            assert {"raises-exception", "remove-output"} <= set(cell.metadata.get("tags", []))
        if meta.get("solution"):
            assert assemble.stub_positions(cell.source.split("\n")), "a solution cell keeps the stub"


def test_signature_or_docstring_drift_is_refused(tmp_path):
    ch = next(c for c in CHAPTERS if c.number == 4)
    nb = nbformat.read(ch.path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax":
            cell.source = cell.source.replace("Column-wise softmax", "Row-wise softmax")
    path = tmp_path / "04" / ch.path.name
    path.parent.mkdir()
    nbformat.write(nb, path)
    with pytest.raises(assemble.AssembleError, match="docstring"):
        assemble.assemble(course.Chapter(4, path))
