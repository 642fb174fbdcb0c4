"""Sphinx extension of the course: the book works offline.

Jupyter Book 1 always loads sphinx-thebe (live code through a remote Binder kernel).
The course has no live code, and on pages with code cells sphinx-thebe's inline
configuration is emitted twice, which the browser reports as "Identifier
'THEBE_JS_URL' has already been declared". This drops thebe's scripts from every page.
"""


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    kept = []
    for js in scripts:
        filename = getattr(js, "filename", str(js)) or ""
        body = (getattr(js, "attributes", {}) or {}).get("body", "")
        if "thebe" in filename or "THEBE" in body:
            continue
        kept.append(js)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
