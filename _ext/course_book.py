"""Sphinx extension of the course: what the book adds to the student edition.

1. Glossary links that read as plain Markdown links in Jupyter. A chapter links a term
   with ``[hidden state](../../glossary.md#term-hidden-state)``: JupyterLab opens the
   glossary file (plain Markdown, so it reads well there too), and here each entry gets
   its ``term-`` anchor as a target of the glossary page, so the link resolves (a
   misspelt anchor still fails the strict build).

2. Outputs of a correct solution. A code cell tagged ``solution-output`` uses the
   learner's exercises, so in the student edition it raises NotImplementedError and its
   output is removed. The book shows instead what a correct solution prints and draws:
   the chapter's nbgrader source (reference bodies filled in, hidden tests cut out) is
   run once at build time, and only the OUTPUTS of the tagged cells (text and PNG
   images) are inserted below the cell, under the label "With a correct solution, this
   cell shows:". No line of the reference reaches the site: the executed notebook is
   kept in memory, and the cache under ``_build/`` holds outputs only.

3. Every figure of a chapter has a caption and an alt text (the cell metadata
   ``mystnb.figure.caption`` and ``mystnb.image.alt``); a figure without them is a
   warning, so the strict build fails.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import pathlib
import re

from docutils import nodes
from sphinx.util import logging

log = logging.getLogger(__name__)

TAG = "solution-output"
LABEL = "With a correct solution, this cell shows:"
VERSION = "1"  # bump to invalidate the cached outputs


# ---------------------------------------------------------------- 1. glossary anchors
def _glossary_terms(item: nodes.list_item) -> list[str]:
    """The terms an entry of the glossary defines: the bold words before its first colon,
    as in ``- **backpropagation through time**, **BPTT**: ...``."""
    paragraph = item.children[0] if item.children and isinstance(item.children[0], nodes.paragraph) else None
    terms = []
    for child in paragraph.children if paragraph is not None else []:
        if isinstance(child, nodes.strong):
            terms.append(child.astext().replace("\u2019", "'"))  # as typed: smartquotes curl it
        elif isinstance(child, nodes.Text) and child.astext().strip() in ("", ","):
            continue
        else:
            break
    return terms


def _register_glossary_terms(app, doctree):
    """glossary.md is plain Markdown (a list of ``**term**: definition``), so that it reads
    well where a chapter's link opens it in Jupyter. Here each entry gets the anchor a Sphinx
    glossary would give its terms, ``term-<id>``, and the anchors are registered as targets
    of the page (a link to a term the glossary lacks still fails the strict build)."""
    from sphinx.util.nodes import make_id

    docname = app.env.docname
    if docname != "glossary":
        return
    slugs = app.env.metadata[docname].setdefault("myst_slugs", {})
    labels = app.env.get_domain("std").anonlabels  # for the page's own [mask](#term-mask)
    for bullets in doctree.findall(nodes.bullet_list):
        for item in bullets.children:
            for term in _glossary_terms(item):
                node_id = make_id(app.env, doctree, "term", term)
                item["ids"].append(node_id)
                doctree.ids[node_id] = item
                slugs.setdefault(node_id, (item.line or 0, node_id, term))
                labels[node_id] = (docname, node_id)


# ---------------------------------------------------------------- 2. outputs of a correct solution
def _chapter_of(app, docname):
    from autograde import course

    source = pathlib.Path(app.env.doc2path(docname)).resolve()
    return next((c for c in course.chapters() if c.path.resolve() == source), None)


def _cache_key(chapter) -> str:
    import importlib
    import inspect

    h = hashlib.sha256(VERSION.encode())
    h.update(chapter.path.read_bytes())
    h.update(inspect.getsource(importlib.import_module(chapter.solutions_module)).encode())
    return h.hexdigest()[:20]


def _run_reference(chapter) -> dict[str, list[dict]]:
    """Cell id -> outputs of the tagged cells, from running the chapter with the reference."""
    import nbclient

    from autograde.authoring import assemble
    from autograde.authoring.markers import strip_hidden

    nb = copy.deepcopy(assemble.assemble(chapter))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source = strip_hidden(cell.source)
        # with the reference filled in nothing may raise: an error stops the build
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != "raises-exception"]
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(chapter.path.parent)}})
    client.execute()
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and TAG in cell.metadata.get("tags", []):
            found[cell.id] = [dict(o) for o in cell.outputs]
    return found


def _reference_outputs(app, chapter) -> dict[str, list[dict]]:
    cache = getattr(app, "_course_reference_outputs", None)
    if cache is None:
        cache = app._course_reference_outputs = {}
    key = _cache_key(chapter)
    if key in cache:
        return cache[key]
    folder = pathlib.Path(app.doctreedir).parent / "solution_outputs"
    stored = folder / f"{chapter.assignment}-{key}.json"
    if stored.exists():
        outputs = json.loads(stored.read_text())
    else:
        log.info(f"running {chapter.assignment} with the reference solutions for the book's outputs")
        outputs = _run_reference(chapter)
        folder.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps(outputs))
    cache[key] = outputs
    return outputs


def _inline(text: str) -> list[nodes.Node]:
    """Plain text with $...$ math, as docutils nodes."""
    parts = re.split(r"(\$[^$]+\$)", text)
    return [nodes.math(p[1:-1], p[1:-1]) if p.startswith("$") and p.endswith("$") and len(p) > 2
            else nodes.Text(p) for p in parts if p]


def _figure(app, png: bytes, meta: dict, node) -> nodes.Element:
    doctree = node.document
    folder = pathlib.Path(app.doctreedir).parent / "solution_outputs" / "images"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(png).hexdigest()}.png"
    if not path.exists():
        path.write_bytes(png)
    # Sphinx reads "/..." relative to the source folder (myst-nb points at its outputs the same way)
    uri = "/" + os.path.relpath(path.resolve(), app.srcdir)
    options = meta.get("mystnb", {})
    alt = options.get("image", {}).get("alt", "")
    caption = options.get("figure", {}).get("caption", "")
    image = nodes.image(uri=uri, alt=alt)
    figure = nodes.figure("", image, classes=["solution-output-figure"])
    if caption:
        figure += nodes.caption("", "", *_inline(caption))
    figure.source, figure.line = node.source, node.line
    if doctree is not None:
        doctree.set_id(figure)  # an id, as the HTML writer numbers figures by id
    return figure


def _output_nodes(app, outputs, meta, node) -> list[nodes.Element]:
    found = []
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream" and o.get("name") == "stdout":
            if text:
                block = nodes.literal_block(text, text, classes=["output", "stream"])
                block["language"] = "none"
                found.append(block)
                text = ""
        elif kind in ("display_data", "execute_result"):
            data = o.get("data", {})
            if "image/png" in data:
                found.append(_figure(app, base64.b64decode(data["image/png"]), meta, node))
            elif "text/plain" in data:
                plain = "".join(data["text/plain"])
                block = nodes.literal_block(plain, plain, classes=["output", "text_plain"])
                block["language"] = "none"
                found.append(block)
        elif kind == "stream":
            continue  # warnings on stderr are not part of what the cell shows
        else:
            log.warning(f"the reference run of this cell gave an output of type {kind!r}", location=node)
    return found


def _add_solution_outputs(app, doctree):
    cells = [c for c in doctree.findall(nodes.container)
             if c.get("nb_element") == "cell_code" and TAG in c.get("cell_metadata", {}).get("tags", [])]
    if not cells:
        return
    chapter = _chapter_of(app, app.env.docname)
    if chapter is None:
        log.warning(f"cells tagged {TAG!r} outside a chapter are not supported", location=cells[0])
        return
    import nbformat

    ids = [c.id for c in nbformat.read(chapter.path, as_version=4).cells]
    outputs = _reference_outputs(app, chapter)
    for cell in cells:
        cell_id = ids[cell["cell_index"]]
        shown = _output_nodes(app, outputs.get(cell_id, []), cell["cell_metadata"], cell)
        if not shown:
            log.warning(f"cell {cell_id} is tagged {TAG!r} but the reference run shows nothing", location=cell)
            continue
        box = nodes.container("", nodes.paragraph(LABEL, LABEL, classes=["solution-output-label"]), *shown,
                              classes=["cell_output", "solution-output"])
        box.source, box.line = cell.source, cell.line
        cell += box


# ---------------------------------------------------------------- 3. captions and alt texts
def _check_figures(app, doctree, docname):
    if not docname.startswith("chapters/"):
        return
    for image in doctree.findall(nodes.image):
        figure = image.parent if isinstance(image.parent, nodes.figure) else None
        captioned = figure is not None and any(isinstance(c, nodes.caption) and c.astext().strip() for c in figure.children)
        alt = image.get("alt", "").strip()
        if not alt or not captioned:
            log.warning(f"a figure of {docname} has no {'alt text' if not alt else 'caption'}: set the cell's "
                        "metadata mystnb.image.alt and mystnb.figure.caption", location=image)


def setup(app):
    app.connect("doctree-read", _register_glossary_terms)
    # before Sphinx's image collector (priority 500), which registers the new images
    app.connect("doctree-read", _add_solution_outputs, priority=400)
    app.connect("doctree-resolved", _check_figures)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": VERSION}
