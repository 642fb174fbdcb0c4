"""Which learners' exercise code is unusually alike: flagged for a person to read, never a
penalty.

Per chapter, each learner's code (the code cells of the graded notebook) is fingerprinted
with copydetect (winnowing over Pygments tokens, with names, strings and comments
normalised away, so renaming variables or rewording comments changes nothing). Every
fingerprint that also occurs in the released notebook (the starter code, the docstrings,
the visible tests, the course's own helpers) is boilerplate and ignored, so learners who
only filled in the same stubs do not look alike. A pair is flagged when the code both
share covers at least ``threshold`` of one learner's own code and at least ``min_tokens``
tokens. Each chapter gets a page with every flagged pair, its matched code highlighted
side by side; the class report links the pages.

Pages are made from a Jinja2 template with autoescaping; the code is escaped by
copydetect's highlighter (``escape_html=True``) before the highlight marks are added.
"""
from __future__ import annotations

import dataclasses
import io
import itertools
import logging
import pathlib

import jinja2
import nbformat
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap

from autograde import course

log = logging.getLogger("autograde.similarity")

K = 25
"""noise threshold: matches shorter than this many normalised characters are never seen"""
WINDOW = 1
"""winnowing window (1 keeps every k-gram: exact and cheap enough for a class)"""
THRESHOLD = 0.8
MIN_TOKENS = 120
MAX_SHOWN = 100
"""pairs shown side by side on a chapter's page (the table lists up to ``MAX_LISTED``)"""
MAX_LISTED = 2000
MAX_CODE = 200_000
"""characters of one learner's code compared (intake already bounds a notebook's code)"""

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("autograde.outputs", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)


@dataclasses.dataclass(frozen=True)
class Pair:
    """Two learners of one chapter and how much of their own code they share."""

    first: str
    second: str
    share_first: float
    """the part of the first learner's code (outside the starter code) found in the second's"""
    share_second: float
    tokens: int
    """normalised characters in common"""
    first_html: str = ""
    """the first learner's code, escaped, the shared parts marked (``highlight``)"""
    second_html: str = ""
    slices: tuple = dataclasses.field(default=(), repr=False, compare=False)
    """copydetect's matched slices in each learner's code"""

    @property
    def share(self) -> float:
        return max(self.share_first, self.share_second)


def notebook_code(nb) -> str:
    """The code of every code cell, in order (magics and shell escapes left as written)."""
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _fingerprint(code: str, boilerplate=None) -> CodeFingerprint:
    return CodeFingerprint("code.py", K, WINDOW, boilerplate=boilerplate, language="python",
                           fp=io.StringIO(code))


def boilerplate(released_nb) -> list[int]:
    """The fingerprints of the released notebook's code: never evidence of copying."""
    return sorted(_fingerprint(notebook_code(released_nb)).hashes)


def compare(codes: dict[str, str], starter: list[int], threshold: float = THRESHOLD,
            min_tokens: int = MIN_TOKENS) -> list[Pair]:
    """Every pair of learners over ``threshold``, most alike first. ``codes``: learner ->
    code; ``starter``: the fingerprints to ignore (``boilerplate``)."""
    prints = {}
    for student, code in sorted(codes.items()):
        code = code[:MAX_CODE]
        try:
            prints[student] = _fingerprint(code, starter)
        except Exception as exc:  # noqa: BLE001 - one learner's odd code never stops the report
            log.warning("similarity: %s's code cannot be read (%s)", student, exc)
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        tokens, (share_a, share_b), slices = compare_files(prints[a], prints[b])
        if int(tokens) < min_tokens or max(share_a, share_b) < threshold:
            continue
        pairs.append(Pair(a, b, float(share_a), float(share_b), int(tokens), slices=slices))
    return sorted(pairs, key=lambda p: (-p.share, -p.tokens, p.first, p.second))


def highlight(pair: Pair, codes: dict[str, str]) -> Pair:
    """The pair with both learners' code escaped and the shared parts marked."""
    html = [highlight_overlap(codes[s][:MAX_CODE], sl, "<mark>", "</mark>", escape_html=True)[0]
            for s, sl in ((pair.first, pair.slices[0]), (pair.second, pair.slices[1]))]
    return dataclasses.replace(pair, first_html=html[0], second_html=html[1])


def chapter_report(chapter: course.Chapter, notebooks: dict[str, pathlib.Path], released_path, out_dir,
                   threshold: float = THRESHOLD, min_tokens: int = MIN_TOKENS) -> tuple[pathlib.Path, list[Pair]]:
    """The page ``<out_dir>/similarity/<chNN>.html`` for one chapter's notebooks (learner ->
    path); a notebook that cannot be read is left out with a warning."""
    codes = {}
    for student, path in notebooks.items():
        try:
            codes[student] = notebook_code(nbformat.read(path, as_version=4))
        except Exception as exc:  # noqa: BLE001
            log.warning("similarity: %s's notebook cannot be read (%s)", student, exc)
    starter = boilerplate(nbformat.read(released_path, as_version=4))
    pairs = compare(codes, starter, threshold, min_tokens)
    shown = [highlight(p, codes) for p in pairs[:MAX_SHOWN]]
    page = pathlib.Path(out_dir) / "similarity" / f"{chapter.assignment}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(_ENV.get_template("similarity.html.j2").render(
        assignment=chapter.assignment, notebook=chapter.notebook, pairs=pairs[:MAX_LISTED], shown=shown,
        more=max(0, len(pairs) - MAX_LISTED), learners=len(codes),
        threshold=threshold, min_tokens=min_tokens))
    return page, pairs


def course_report(c, out_dir, chapters=None, threshold: float = THRESHOLD,
                  min_tokens: int = MIN_TOKENS) -> dict[str, tuple[pathlib.Path, list[Pair]]]:
    """A page per chapter from the originals stored at intake
    (``<course>/submitted/<student>/<chNN>/<notebook>.ipynb``); chapter -> (page, pairs)."""
    out = {}
    for ch in course.chapters():
        if chapters and ch.assignment not in chapters:
            continue
        notebooks = {p.parent.parent.name: p for p in sorted((c.root / "submitted").glob(f"*/{ch.assignment}/*.ipynb"))}
        if len(notebooks) < 2 or not c.released(ch):
            continue
        out[ch.assignment] = chapter_report(ch, notebooks, c.released_path(ch), out_dir, threshold, min_tokens)
    return out
