"""Sphinx extension of the course: the theme's markup that axe-core (run on every page by
tests/test_book.py) reports, changed at its source.

The theme's search field without ``autocomplete="off"``. The pydata theme writes the
attribute on its ``<input type="search">``. That is valid HTML, but axe-core 3.1.1 (the
version that axe-selenium-python bundles) reports it as a serious violation of the rule
``autocomplete-valid`` on the search page, where the field is visible: its check
"autocomplete-appropriate" accepts "off" on text inputs only (dequelabs/axe-core#1109,
fixed in axe-core 3.1.2). Without the attribute a browser may offer the reader's earlier
searches in the field, which does no harm.

The theme's own template is served with the attribute removed, so everything else in it
follows the installed theme; if the theme stops writing the attribute, a warning (an
error in the strict build) says that this override can go.
"""
from __future__ import annotations

from sphinx.util import logging

log = logging.getLogger(__name__)

SEARCH_FIELD = "components/search-field.html"
ATTRIBUTE = 'autocomplete="off"'


def _search_field_without_autocomplete(app):
    from jinja2 import BaseLoader, TemplateNotFound

    loaders = getattr(getattr(app.builder, "templates", None), "loaders", None)
    if loaders is None:
        return  # not an HTML builder
    theme_loaders = list(loaders)

    class SearchField(BaseLoader):
        """The theme's search field, minus the attribute; every other template is not found
        here, so the next loaders (the theme's) serve it unchanged."""

        def get_source(self, environment, template):
            if not template.replace("\\", "/").endswith(SEARCH_FIELD):
                raise TemplateNotFound(template)
            for loader in theme_loaders:
                try:
                    source, filename, uptodate = loader.get_source(environment, template)
                except TemplateNotFound:
                    continue
                if ATTRIBUTE not in source:
                    log.warning(f"{filename} no longer writes {ATTRIBUTE}: the override in "
                                "_ext/accessible_book.py can go")
                return source.replace(ATTRIBUTE, ""), filename, uptodate
            raise TemplateNotFound(template)

    loaders.insert(0, SearchField())


def setup(app):
    app.connect("builder-inited", _search_field_without_autocomplete)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
