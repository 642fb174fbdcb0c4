"""nbval on both editions of every chapter.

- Student edition (chapters/ as learners get it): every cell runs; the cells tagged
  raises-exception (the exercises' tests and the cells that use unfinished exercises)
  must raise NotImplementedError with the stub's message and nothing else. nbval
  compares an error's name and message, so each such cell is given that error as its
  expected output and tagged nbval-check-output.
- Reference edition (the nbgrader source: reference solutions and hidden tests filled
  in): every cell runs without error, so every visible and hidden test passes.
"""
import ast
import copy
import pathlib
import subprocess
import sys

import nbformat
import pytest

from autograde import course
from autograde.authoring import assemble
from autograde.authoring.markers import CODE_STUB

CHAPTERS = course.chapters()
STUB_MESSAGE = ast.literal_eval(CODE_STUB.split("NotImplementedError(", 1)[1].rsplit(")", 1)[0])


def student_expectations(chapter) -> nbformat.NotebookNode:
    nb = nbformat.read(chapter.path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and "raises-exception" in tags:
            cell.metadata["tags"] = tags + ["nbval-check-output"]
            cell.execution_count = 1  # nbval ignores the outputs of cells marked as never run
            cell.outputs = [nbformat.v4.new_output("error", ename="NotImplementedError", evalue=STUB_MESSAGE, traceback=[])]
    return nb


def reference_edition(chapter) -> nbformat.NotebookNode:
    nb = copy.deepcopy(assemble.assemble(chapter))
    for cell in nb.cells:
        tags = [t for t in cell.metadata.get("tags", []) if t != "raises-exception"]
        cell.metadata["tags"] = tags
    return nb


def run_nbval(folder: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=300", "-p", "no:cacheprovider",
         "-q", str(folder)],
        cwd=folder, capture_output=True, text=True, timeout=3600)


@pytest.mark.parametrize("edition", ["student", "reference"])
def test_nbval(edition, tmp_path):
    make = student_expectations if edition == "student" else reference_edition
    for chapter in CHAPTERS:
        nbformat.write(make(chapter), tmp_path / chapter.path.name)
    proc = run_nbval(tmp_path)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_student_check_catches_a_wrong_error(tmp_path):
    """The student-edition expectation is strict: a cell that raises anything other than
    the stub's NotImplementedError fails nbval."""
    chapter = CHAPTERS[0]
    nb = student_expectations(chapter)
    cell = next(c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", []))
    cell.source = "raise ValueError('something else')"
    nbformat.write(nb, tmp_path / chapter.path.name)
    assert run_nbval(tmp_path).returncode != 0
