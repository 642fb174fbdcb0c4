"""Is a submitted file a notebook we can grade?"""
from __future__ import annotations

import json

import nbformat

MAX_BYTES = 50 * 2**20  # a notebook larger than this is not graded (outputs included)


def problem(raw: bytes) -> str:
    """Why ``raw`` cannot be graded as a notebook, in plain words, or '' if it can."""
    if len(raw) > MAX_BYTES:
        return f"the file is {len(raw) / 2**20:.0f} MB, larger than the {MAX_BYTES // 2**20} MB a notebook may be"
    if not raw.strip():
        return "the file is empty"
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return f"the file is not valid notebook JSON ({str(exc)[:120]})"
    if not isinstance(data, dict) or "cells" not in data:
        return "the file is JSON but not a Jupyter notebook (no cells)"
    try:
        nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat's many ways of refusing a notebook
        return f"the notebook cannot be read: {str(exc)[:200]}"
    return ""
