"""Submissions that try to make a class run slow or heavy (issue 15), each one still
answering every exercise with the reference, so that it would earn full marks.

Used by ``bench/grading.py --attacks`` (the class with these mixed in, against the
honest class alone) and by ``tests/test_security.py`` (each attack, with a generous
bound). Every builder returns a notebook of the chapter it names.
"""
from __future__ import annotations

import nbformat

from autograde import course
from autograde.authoring import synthetic

CH03, CH04, CH07 = (course.by_assignment(a) for a in ("ch03", "ch04", "ch07"))


def _insert(nb, k: int, cells: list) -> nbformat.NotebookNode:
    nb.cells[k:k] = cells
    return nb


def many_cells(n_names: int = 100, n_cells: int = 2500) -> nbformat.NotebookNode:
    """2,500 small cells reading the same 100 names (the run plan's worst case)."""
    names = [f"n{i}" for i in range(n_names)]
    cells = [nbformat.v4.new_code_cell("; ".join(f"{n} = {i}" for i, n in enumerate(names)))]
    cells += [nbformat.v4.new_code_cell(f"_ = {' + '.join(names)}") for _ in range(n_cells - 1)]
    return _insert(synthetic.submission(CH04, "reference"), 2, cells)


def markdown_tags(n: int = 8000) -> nbformat.NotebookNode:
    """One Markdown cell of 8,000 distinct formatting tags, never closed (the HTML
    sanitizer's worst case)."""
    text = "".join(f'<b title="t{i}"><i title="u{i}">w{i} ' for i in range(n // 2))
    return _insert(synthetic.submission(CH04, "reference"), 2, [nbformat.v4.new_markdown_cell(text)])


def long_expression(n: int = 60_000) -> str:
    return "x = a" + ".a" * n


def markdown_fence(n: int = 60_000) -> nbformat.NotebookNode:
    """A 60,000-attribute expression in a Markdown code fence (never executed; the
    syntax highlighter's worst case)."""
    cell = nbformat.v4.new_markdown_cell(f"```python\n{long_expression(n)}\n```")
    return _insert(synthetic.submission(CH04, "reference"), 2, [cell])


DEAF_CELL = """\
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grader's interrupt is ignored
while True:
    time.sleep(0.1)
"""


def deaf_cell() -> nbformat.NotebookNode:
    """A code cell that ignores the interrupt sent at its timeout (and runs forever), at
    the end of a notebook whose exercises were all graded before it."""
    nb = synthetic.submission(CH04, "reference")
    nb.cells.append(nbformat.v4.new_code_cell(DEAF_CELL))
    return nb


def huge_stand_in() -> nbformat.NotebookNode:
    """The learner's encoder-decoder asks the grader's stand-in for a 10**9-step decoder
    every time it runs (during its check and after it, in the visible tests of the last
    exercise), then computes its answer itself."""
    nb = synthetic.submission(CH07, "reference")
    for cell in nb.cells:
        if cell.cell_type == "code" and "def encoder_decoder_forward(" in cell.source:
            head, _, rest = cell.source.partition('"""')
            doc, _, body = rest.partition('"""')
            first = next(line for line in body.split("\n") if line.strip())
            indent = first[: len(first) - len(first.lstrip())]
            attack = (f"\n{indent}try:\n{indent}    _m = x.shape[1]\n"
                      f"{indent}    one_to_many_forward(np.zeros((decoder_parameters['Wya'].shape[0], _m)), "
                      f"np.zeros((decoder_parameters['Waa'].shape[0], _m)), decoder_parameters, 10**9)\n"
                      f"{indent}except Exception:\n{indent}    pass")
            cell.source = head + '"""' + doc + '"""' + attack + body
            return nb
    raise AssertionError("no encoder_decoder_forward in chapter 7")


BIG_FRAME = """\
import harness, struct
chan = harness._state["channel"]
try:
    chan.sendall(struct.pack(">I", 40 * 2**20) + b"[" + b"0," * (20 * 2**20 - 1) + b"0]")
except OSError as exc:
    print("the grader closed the channel:", type(exc).__name__)
"""


def big_frame() -> nbformat.NotebookNode:
    """A 40 MB frame on the harness channel, at the end of the notebook."""
    nb = synthetic.submission(CH04, "reference")
    nb.cells.append(nbformat.v4.new_code_cell(BIG_FRAME))
    return nb


CHILDREN = """\
import os
started, refused = 0, None
for _ in range(4):
    try:
        if os.fork() == 0:
            block = bytearray(int(0.9 * 2**30))  # just under the per-process limit
            os._exit(0)
        started += 1
    except OSError as exc:
        refused = type(exc).__name__
print("children started:", started, "refused:", refused)
"""


def children() -> nbformat.NotebookNode:
    """Four child processes, each just under the memory limit."""
    nb = synthetic.submission(CH04, "reference")
    nb.cells.append(nbformat.v4.new_code_cell(CHILDREN))
    return nb


ATTACKS = {"many_cells": many_cells, "markdown_tags": markdown_tags, "markdown_fence": markdown_fence,
           "deaf_cell": deaf_cell, "huge_stand_in": huge_stand_in, "big_frame": big_frame, "children": children}
"""name -> builder of the attack's notebook"""
