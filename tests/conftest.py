"""Shared fixtures: a released course directory, and the book built once per session."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent


def pytest_collection_modifyitems(items):
    # whatever needs the built book (a jupyter-book build, minutes) is in the slow tier
    for item in items:
        if "built_book" in getattr(item, "fixturenames", ()) or item.module.__name__ == "test_notebooks":
            item.add_marker(pytest.mark.slow)  # and nbval runs every notebook of both editions


@pytest.fixture(scope="session", autouse=True)
def _tools_on_path():
    # nbgrader runs alembic, and the book build runs jupyter-book, from this environment
    os.environ["PATH"] = str(BIN) + os.pathsep + os.environ.get("PATH", "")


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    """A course directory with every chapter released: (Course, {chapter: released path})."""
    from autograde import course
    from autograde.nbgrader_glue.coursedir import Course

    c = Course(tmp_path_factory.mktemp("course") / "course")
    chapters = course.chapters()
    return c, dict(zip(chapters, c.release(chapters)))


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The student edition built exactly as `make book` builds it, into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [str(BIN / "jupyter-book"), "build", "-W", "-n", "--keep-going", "--path-output", str(out), str(ROOT)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    html = out / "_build" / "html"
    assert (html / "index.html").exists()
    return html
