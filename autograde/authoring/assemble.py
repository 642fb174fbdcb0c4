"""Assemble nbgrader source notebooks from the three rooms of the course.

    chapters/NN/<nb>.ipynb  (prose, stubs, visible tests)  ─┐
    solutions.chNN          (reference bodies)              ├─> source/chNN/<nb>.ipynb
    autograde.checks.chNN   (hidden checks)                 ─┘

Every exercise stub in a chapter is the nbgrader code stub (``CODE_STUB``) at some
indentation. Inside a function, it is replaced by the body of the reference function
of the same name (everything after its docstring), between ``### BEGIN SOLUTION`` and
``### END SOLUTION``. At the top level of a cell, it is replaced by the body of the
reference function ``cell_<grade_id>``. Every grade cell ``test_<name>`` starts with a
hidden test region that calls ``check_<name>`` from the chapter's checks module.

``nbgrader generate_assignment`` on the result gives back the chapter exactly;
``tests/test_roundtrip.py`` proves it.
"""
from __future__ import annotations

import ast
import copy
import importlib
import inspect
import pathlib
import re
import textwrap

import nbformat
from nbgrader import utils

from autograde.authoring.markers import BEGIN_HIDDEN, BEGIN_SOLUTION, CODE_STUB, END_HIDDEN, END_SOLUTION
from autograde.course import ROOT, Chapter

STUB_LINES = CODE_STUB.split("\n")


class AssembleError(RuntimeError):
    """A chapter and its reference or checks do not fit together."""


def function_parts(fn) -> tuple[str, str | None, list[str]]:
    """(signature source, docstring, body lines after the docstring, dedented)."""
    src = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(src).body[0]
    assert isinstance(node, ast.FunctionDef)
    lines = src.split("\n")
    body = node.body
    doc = ast.get_docstring(node, clean=True)
    # the body starts right after the docstring, so comments before the first statement stay
    start = body[0].end_lineno + 1 if doc is not None else body[0].lineno
    body_lines = textwrap.dedent("\n".join(lines[start - 1 : node.end_lineno])).strip("\n").split("\n")
    return ast.unparse(node.args), doc, body_lines


def stub_positions(lines: list[str]) -> list[tuple[int, str]]:
    """(index, indentation) of every code stub in ``lines``."""
    found = []
    n = len(STUB_LINES)
    for i in range(len(lines) - n + 1):
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        if all(lines[i + k] == indent + STUB_LINES[k] for k in range(n)):
            found.append((i, indent))
    return found


def enclosing_function(tree: ast.Module, line_no: int) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line_no <= node.end_lineno:
            return node
    return None


def fill_solution(source: str, reference, grade_id: str) -> str:
    """Replace every stub in a solution cell's ``source`` with the reference code."""
    lines = source.split("\n")
    tree = ast.parse(source)
    positions = stub_positions(lines)
    if not positions:
        raise AssembleError(f"solution cell {grade_id!r} has no code stub:\n{CODE_STUB}")
    for i, indent in reversed(positions):
        fn_node = enclosing_function(tree, i + 1)
        if fn_node is None:
            ref_name = f"cell_{grade_id}"
        else:
            ref_name = fn_node.name
        ref = getattr(reference, ref_name, None)
        if ref is None:
            raise AssembleError(f"{reference.__name__} has no {ref_name}() for cell {grade_id!r}")
        args, doc, body = function_parts(ref)
        if fn_node is not None:
            if ast.unparse(fn_node.args) != args:
                raise AssembleError(
                    f"{fn_node.name}: the chapter's signature ({ast.unparse(fn_node.args)}) "
                    f"differs from the reference's ({args})")
            if ast.get_docstring(fn_node, clean=True) != doc:
                raise AssembleError(f"{fn_node.name}: the chapter's docstring differs from the reference's")
        region = [indent + BEGIN_SOLUTION] + [(indent + b) if b else b for b in body] + [indent + END_SOLUTION]
        lines[i : i + len(STUB_LINES)] = region
    return "\n".join(lines)


def hidden_region(chapter: Chapter, grade_id: str, checks) -> str:
    name = grade_id.removeprefix("test_")
    if not hasattr(checks, f"check_{name}"):
        raise AssembleError(f"{checks.__name__} has no check_{name}() for grade cell {grade_id!r}")
    return "\n".join([
        BEGIN_HIDDEN,
        # plain nbgrader only: `python -m autograde grade` strips this region (autograde.execution.in_kernel)
        "from autograde.execution.in_kernel import run_hidden_check as _check",
        f"_check({chapter.assignment!r}, {name!r})",
        END_HIDDEN,
    ])


def assemble(chapter: Chapter) -> nbformat.NotebookNode:
    """The nbgrader source notebook of ``chapter``."""
    nb = nbformat.read(chapter.path, as_version=4)
    reference = importlib.import_module(chapter.solutions_module)
    checks = importlib.import_module(chapter.checks_module)
    src = copy.deepcopy(nb)
    for cell in src.cells:
        if cell.cell_type != "code":
            continue
        if utils.is_solution(cell):
            cell.source = fill_solution(cell.source, reference, cell.metadata["nbgrader"]["grade_id"])
        elif utils.is_grade(cell):
            # the hidden check runs first: its verdict is the most precise, and it sets up
            # the isolation the visible tests below it rely on (autograde.checks.isolate)
            cell.source = hidden_region(chapter, cell.metadata["nbgrader"]["grade_id"], checks) + "\n" + cell.source
    return src


#: The book's pages a chapter links to (``../../glossary.md#term-mask``). A release ships
#: them beside the notebook, and the notebook's links point there, so that they work in
#: the learner's Jupyter, where the assignment folder is all there is.
PAGES = ("glossary.md", "notation.md")


def release_links(text: str) -> str:
    """``text`` (a Markdown cell, or a whole notebook file) with its links to the pages
    pointing beside the notebook."""
    for page in PAGES:
        text = text.replace(f"](../../{page}", f"]({page}")
    return text


def released_page(text: str) -> str:
    """A page as shipped beside a released notebook: its links into chapters/ (the other
    notebooks are not in the assignment folder) become their words."""
    return re.sub(r"\[([^\]]+)\]\(chapters/[^)]*\)", r"\1", text)


def write_sources(chapters: list[Chapter], source_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the source notebook of each chapter to ``source_dir/chNN/<nb>.ipynb``, with
    the pages it links to beside it."""
    written = []
    for chapter in chapters:
        out = source_dir / chapter.assignment / chapter.path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        nb = assemble(chapter)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = release_links(cell.source)
        nbformat.write(nb, out)
        for page in PAGES:
            (out.parent / page).write_text(released_page((ROOT / page).read_text()))
        written.append(out)
    return written
