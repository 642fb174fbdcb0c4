"""Is a submitted file a notebook we can grade?

Outputs are never graded (nbgrader clears them before a notebook runs), so they are
dropped first and the size rules count what is graded: a learner's large figures cost
nothing. The limits, in order:

- the file as submitted: at most ``MAX_BYTES`` (the same as intake's limit for one file);
- the notebook without its outputs: at most ``MAX_NOTEBOOK_BYTES``;
- the source of its code cells, together: at most ``MAX_CODE_BYTES``.
"""
from __future__ import annotations

import json

import nbformat

MAX_BYTES = 200 * 2**20  # the file as submitted, outputs included
MAX_NOTEBOOK_BYTES = 10 * 2**20  # the notebook once its outputs are dropped
MAX_CODE_BYTES = 2 * 2**20  # every code cell's source, together


class Unreadable(ValueError):
    """The file cannot be graded as a notebook; the message says why in plain words."""


def _mb(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.0f} MB"
    return f"{n / 2**10:.0f} kB" if n >= 2**10 else f"{n} bytes"


def read(raw: bytes):
    """``raw`` as a notebook (nbformat 4) without outputs, or Unreadable."""
    if len(raw) > MAX_BYTES:
        raise Unreadable(f"the file is {_mb(len(raw))}, larger than the {_mb(MAX_BYTES)} a notebook may be")
    if not raw.strip():
        raise Unreadable("the file is empty")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Unreadable(f"the file is not valid notebook JSON ({str(exc)[:120]})") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise Unreadable("the file is JSON but not a Jupyter notebook (no cells)")
    drop_outputs(data)
    text = json.dumps(data, ensure_ascii=False)
    if len(text.encode()) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"the notebook is {_mb(len(text.encode()))} without its outputs, larger than the "
                         f"{_mb(MAX_NOTEBOOK_BYTES)} a notebook may be")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat's many ways of refusing a notebook
        raise Unreadable(f"the notebook cannot be read: {str(exc)[:200]}") from None
    code = sum(len(c.source.encode()) for c in nb.cells if c.cell_type == "code")
    if code > MAX_CODE_BYTES:
        raise Unreadable(f"the notebook holds {_mb(code)} of code, more than the {_mb(MAX_CODE_BYTES)} "
                         "a notebook may hold")
    return nb


def drop_outputs(data: dict) -> None:
    """Empty the outputs and execution counts of every code cell of a notebook's JSON
    (cells that are not well-formed are left for nbformat to refuse)."""
    cells = data.get("cells")
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


def problem(raw: bytes) -> str:
    """Why ``raw`` cannot be graded as a notebook, in plain words, or '' if it can."""
    try:
        read(raw)
    except Unreadable as exc:
        return str(exc)
    return ""
