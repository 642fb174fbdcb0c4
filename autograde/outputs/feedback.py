"""What learners see in their feedback: points and plain words, never hidden code, never
anything that runs.

The page is nbgrader's feedback template over a clean copy of the graded notebook, made
on the trusted side: the cells' sources, and of their outputs only text, PNG images
that really are PNG, and errors as text. Learner HTML, SVG, Markdown output and
JavaScript are dropped; Markdown cells are rendered and then sanitized (nbconvert's
``sanitize_html``, bleach); the page carries a Content-Security-Policy that allows no
script at all. At the top, a summary table built here from the gradebook's scores and
the hidden checks' messages (escaped text).
"""
from __future__ import annotations

import base64
import binascii
import html
import os
import re

import nbformat
from nbgrader import utils

from autograde.authoring.markers import strip_hidden
from autograde.status import Status

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SAFE_TAGS = ["a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
             "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody",
             "td", "tfoot", "th", "thead", "tr", "ul"]
SAFE_ATTRIBUTES = {"*": ["class", "id", "title"], "a": ["href"], "img": ["src", "alt", "width", "height"],
                   "td": ["align", "style"], "th": ["align", "style"]}
_ID = re.compile(r"[a-zA-Z0-9-_]{1,64}")
MAX_TEXT = 20_000  # characters of one text output kept in the feedback
# bounds on what the learner's Markdown and code may cost to render (issue 15): the HTML
# sanitizer and the syntax highlighter take time that grows faster than the input
MAX_MARKDOWN = 50_000  # characters of one learner's Markdown cell rendered as Markdown
MAX_MARKDOWN_TAGS = 500  # HTML tags in one learner's Markdown cell
MAX_LINE = 2_000  # characters of one line of Markdown, or of code to highlight
MAX_HIGHLIGHT = 30_000  # characters of one code cell to highlight
MAX_PAGE_HIGHLIGHT = 400_000  # characters highlighted in one page; the rest is plain text
MAX_PAGE_TAGS = 2_000  # HTML tags sanitized in one notebook's learner Markdown; the rest is plain text
_TAG = re.compile(r"<[!/?A-Za-z]")
MAX_PNG = 2 * 2**20
CSP = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:\">")


def clean_html(fragment) -> str:
    """HTML with nothing that runs: formatting tags only, links to http(s) and mailto,
    images from data: URIs only, no style beyond text alignment, no script, no event
    attribute (bleach)."""
    import bleach
    from bleach.css_sanitizer import CSSSanitizer

    return bleach.clean(str(fragment), tags=SAFE_TAGS, attributes=_allowed_attribute,
                        protocols=["http", "https", "mailto", "data"], strip=True,
                        css_sanitizer=CSSSanitizer(allowed_css_properties=["text-align"]))


def too_costly(source: str, longest: int = MAX_LINE) -> bool:
    """Whether rendering ``source`` could cost more than its size: very long, or very long lines."""
    return len(source) > MAX_MARKDOWN or any(len(line) > longest for line in source.split("\n"))


def markdown_of(source: str, budget: list | None = None) -> str:
    """A learner's Markdown cell for the feedback: cleaned of HTML that runs, or, when it
    has more markup than the feedback renders (``MAX_MARKDOWN``, ``MAX_MARKDOWN_TAGS``,
    ``MAX_LINE``, or the notebook's ``budget``: [tags, characters of code fences] left,
    counted down), shown as plain text without being parsed at all."""
    tags = len(_TAG.findall(source, 0, MAX_MARKDOWN + 1))
    if budget is not None:
        budget[0] -= tags
        if "```" in source or "~~~" in source:  # fences are highlighted when the page is made
            budget[1] -= len(source)
    if too_costly(source) or tags > MAX_MARKDOWN_TAGS or (budget is not None and min(budget) < 0):
        return ("*This cell is shown as plain text: it has more markup than the feedback renders.*\n\n"
                f"<pre>{html.escape(source[:MAX_MARKDOWN])}</pre>")
    return clean_html(source)


def highlighted(highlight, source: str, language=None, plain: bool = False) -> str:
    """``highlight(source)``, or the code as plain text when highlighting it would cost
    more than its size (a line longer than ``MAX_LINE``, more than ``MAX_HIGHLIGHT``)."""
    if plain or len(source) > MAX_HIGHLIGHT or too_costly(source):
        return f'<div class="highlight"><pre>{html.escape(source)}</pre></div>'
    return highlight(source, language)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag == "img" and name == "src":
        return value.startswith("data:image/")  # no image from elsewhere (a tracker, a local file)
    return name in SAFE_ATTRIBUTES["*"] or name in SAFE_ATTRIBUTES.get(tag, ())


# ---------------------------------------------------------------- the clean notebook
def _text(value) -> str:
    if isinstance(value, list):
        value = "".join(str(v) for v in value)
    text = _ANSI.sub("", str(value))
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[... cut]"


def _png(value) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_PNG * 4 // 3 + 16:
        return None
    try:
        raw = base64.b64decode(value.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    return value.replace("\n", "") if raw.startswith(b"\x89PNG\r\n\x1a\n") else None


def _clean_output(out, graded: bool) -> dict | None:
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": _text(out.get("text", ""))}
    if kind in ("execute_result", "display_data"):
        data = {}
        if "text/plain" in out.get("data", {}):
            data["text/plain"] = _text(out["data"]["text/plain"])
        png = _png(out.get("data", {}).get("image/png"))
        if png:
            data["image/png"] = png
        if not data:
            return None
        extra = {"execution_count": None} if kind == "execute_result" else {}
        return {"output_type": kind, "data": data, "metadata": {}, **extra}
    if kind == "error":
        ename, evalue = _text(out.get("ename", "Error"))[:100], _text(out.get("evalue", ""))
        trace = [f"{ename}: {evalue}"] if graded else [_text(line) for line in out.get("traceback", [])][:60]
        return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": trace}
    return None


def clean_notebook(sanitized, executed, released_markdown: frozenset = frozenset()):
    """The feedback's notebook (also what goes to ``autograded/`` for the formgrader): the
    cells and nbgrader metadata of ``sanitized`` (the trusted copy), with the outputs of
    ``executed`` (from the kernel) filtered to plain text and images, and every Markdown
    cell that is not the course's own (``released_markdown``) cleaned of HTML that runs."""
    cells, tags = [], [MAX_PAGE_TAGS, MAX_PAGE_HIGHLIGHT]
    ran = executed.cells if len(executed.cells) == len(sanitized.cells) else [None] * len(sanitized.cells)
    for k, (cell, run) in enumerate(zip(sanitized.cells, ran)):
        meta = {"nbgrader": dict(cell.metadata["nbgrader"])} if "nbgrader" in cell.metadata else {}
        ident = cell.get("id") if isinstance(cell.get("id"), str) and _ID.fullmatch(cell.get("id")) else f"cell-{k}"
        if cell.cell_type == "markdown":
            source = str(cell.source)
            cells.append({"id": ident, "cell_type": "markdown", "metadata": meta,
                          "source": source if source in released_markdown else markdown_of(source, tags)})
        elif cell.cell_type == "code":
            outputs = run.get("outputs", []) if run is not None else []
            count = run.get("execution_count") if run is not None else None
            cells.append({"id": ident, "cell_type": "code", "metadata": meta, "source": strip_hidden(str(cell.source)),
                          "execution_count": count if isinstance(count, int) else None,
                          "outputs": [o for o in (_clean_output(out, utils.is_grade(cell)) for out in outputs[:500]) if o]})
    return nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "cells": cells,
                               "metadata": {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}})


def sub_checks(verdict: dict, points) -> str:
    """" Sub-checks: a_next 1.5 / 1.5, yt_pred 0 / 1, ..." for an exercise graded with
    partial credit; "" otherwise."""
    parts = verdict.get("parts") or {}
    total = sum(float(p.get("weight", 0)) for p in parts.values() if isinstance(p, dict))
    if not total:
        return ""
    said = []
    for name, p in parts.items():
        worth = float(p.get("weight", 0)) / total * float(points or 0)
        said.append(f"{name} {worth if p.get('passed') else 0:g} / {worth:g}")
    return " Sub-checks: " + ", ".join(said) + "."


def summary_cell(result) -> nbformat.NotebookNode:
    """A Markdown cell for the top of the feedback: every exercise with its points and,
    when it lost points, why, in the checks' plain words (escaped)."""

    def esc(text) -> str:
        return html.escape(str(text)).replace("|", "&#124;").replace("\n", " ").replace("*", "&#42;") \
            .replace("_", "&#95;").replace("`", "&#96;").replace("[", "&#91;").replace("\\", "&#92;")

    rows = ["| Exercise | Points | Result |", "| --- | --- | --- |"]
    for name, score in result.exercises.items():
        points = result.points.get(name, 0)
        shown = "" if score is None else f"{float(score):g} / {float(points):g}"
        v = result.verdicts.get(name) or {}
        message = v.get("message", "no verdict")
        rows.append(f"| {esc(name)} | {shown} | {esc(message)}{esc(sub_checks(v, points))} |")
    lines = [f"## Your results: {result.score:g} / {result.max_score:g}", ""]
    if Status(result.status) != Status.GRADED:
        lines += [f"**Status:** {esc(result.status)}. {esc(result.message)}", ""]
    if result.seconds_late:
        lines += [f"Submitted {result.seconds_late / 3600:.1f} hours after the due date.", ""]
    lines += rows
    lines += ["", "Each exercise is graded on its own: a mistake in one function does not cost the points "
                  "of the functions that call it. The hidden checks run your functions on random inputs of "
                  "many sizes; where one failed, the message above says what your result looks like."]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


# ---------------------------------------------------------------- rendering
_EXPORTER = None


def exporter():
    """nbgrader's feedback exporter, made once per process (compiling its templates
    costs more than rendering a page), with sanitizing on."""
    global _EXPORTER
    if _EXPORTER is None:
        import nbgrader.converters as conv
        from nbconvert.exporters import HTMLExporter
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from traitlets.config import Config

        class FeedbackExporter(HTMLExporter):
            """HTMLExporter without its BeautifulSoup pass, which re-parses the whole page to
            add alt texts and tab stops to JupyterLab markup (more than half the time of a
            page; the feedback uses nbgrader's classic template). The alt text is added here."""

            _highlighted: dict = {}

            def from_notebook_node(self, nb, resources=None, **kw):
                highlight = Highlight2HTML(pygments_lexer="ipython3", parent=self)
                cache = self._highlighted
                left = [MAX_PAGE_HIGHLIGHT]  # characters this page may still have highlighted

                def highlight_code(source, language=None, metadata=None):
                    # every learner's notebook repeats the chapter's code cells: highlight
                    # each distinct source once per process (pygments is most of a page's cost)
                    key = (source, language)
                    if key not in cache:
                        left[0] -= len(source)
                        if left[0] < 0:
                            return highlighted(None, source, language, plain=True)
                        if len(cache) > 20000:
                            cache.clear()
                        cache[key] = highlighted(highlight, source, language)
                    return cache[key]

                self.register_filter("highlight_code", highlight_code)
                self.register_filter("clean_html", clean_html)  # nbconvert's drops headings and paragraphs
                page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
                page = re.sub(r"<img(?![^>]*\balt=)", '<img alt="figure drawn by the notebook"', page)
                return page, resources

        base = os.path.dirname(conv.__file__)
        c = Config()
        c.HTMLExporter.template_name = "feedback"
        c.HTMLExporter.sanitize_html = True
        c.HTMLExporter.extra_template_basedirs = [os.path.abspath(os.path.join(
            base, "..", "server_extensions", "formgrader", "templates"))]
        c.HTMLExporter.extra_template_paths = [os.path.abspath(os.path.join(
            base, "..", "server_extensions", "formgrader", "static", "node_modules", "bootstrap", "dist", "css"))]
        _EXPORTER = FeedbackExporter(config=c)
    return _EXPORTER


def warm() -> None:
    """Make this process's exporter now (a worker's page process, ahead of its first page)."""
    exporter()


def render(nb_json: str, nbgrader_resources: dict) -> str:
    """The feedback page of a clean feedback notebook (see ``clean_notebook``), given the
    grade information the coordinator read from the gradebook."""
    nb = nbformat.v4.nbjson.reads(nb_json)
    page, _ = exporter().from_notebook_node(nb, resources={"nbgrader": nbgrader_resources})
    page = re.sub(r"<script\b.*?</script>", "", page, flags=re.S | re.I)  # the template's MathJax loader
    return page.replace("<head>", "<head>\n" + CSP, 1)
