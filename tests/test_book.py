"""The student edition of the book: it builds with warnings as errors, nothing of the
reference or the hidden tests reaches it, and it renders offline in a real browser. At a
1280-pixel window every page fits its column, every figure has a caption and an alt text
that describes it, every cell tagged solution-output shows a correct solution's output under
its label, and axe-core finds no serious or critical accessibility violation."""
from __future__ import annotations

import functools
import http.server
import pathlib
import re
import socketserver
import threading

import pytest

from autograde import course
from autograde.authoring import assemble
from helpers import chromium, leaks, secret_lines

ROOT = pathlib.Path(__file__).resolve().parent.parent
def test_the_scan_finds_leaks_when_there_are_some(tmp_path):
    # positive control: the nbgrader source notebooks hold the reference and the checks
    secrets = secret_lines()
    assert len(secrets) > 30
    import nbformat

    for ch in course.chapters():
        nbformat.write(assemble.assemble(ch), tmp_path / ch.path.name)
    found = leaks(tmp_path, secrets)
    assert any("BEGIN SOLUTION" in f for f in found)
    for ch in course.chapters():
        assert any(ch.path.name in f and "BEGIN SOLUTION" not in f and "BEGIN HIDDEN" not in f for f in found), ch


def test_chapters_hold_no_reference_or_hidden_code():
    assert leaks(ROOT / "chapters", secret_lines()) == []


def test_built_site_holds_no_reference_or_hidden_code(built_book):
    assert (built_book / "_sources").is_dir()
    assert list(built_book.rglob("*.ipynb")), "the downloadable notebooks are part of the scan"
    assert leaks(built_book, secret_lines()) == []


def test_every_chapter_is_in_the_book_with_its_figures(built_book):
    for ch in course.chapters():
        page = built_book / ch.path.relative_to(ROOT).with_suffix(".html")
        assert page.exists(), page
        assert (built_book / "_sources" / ch.path.relative_to(ROOT)).exists()
    page = (built_book / "chapters" / "04" / "rnn_forward.html").read_text()
    assert page.count("<img") >= 2  # the cell and the unrolled network, drawn by the chapter's code


def test_site_needs_no_network(built_book):
    """No script, style sheet or image is loaded from another host."""
    pattern = re.compile(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", re.I)
    for page in built_book.rglob("*.html"):
        assert not pattern.search(page.read_text()), page
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").exists()


# ---------------------------------------------------------------- headless Chromium


@pytest.fixture(scope="module")
def site_url(built_book):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_book))

    class Quiet(handler.func):
        def log_message(self, *args):
            pass

    server = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_book)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"), {"goog:loggingPrefs": {"browser": "ALL"}})
    yield driver
    driver.quit()


@pytest.mark.parametrize("chapter", course.chapters(), ids=lambda c: c.assignment)
def test_chapter_renders_math_offline_without_errors(browser, site_url, chapter, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    rel = chapter.path.relative_to(ROOT).with_suffix(".html").as_posix()
    browser.get(f"{site_url}/{rel}")
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script("return !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"))
    browser.execute_async_script("const done = arguments[0]; MathJax.startup.promise.then(() => done(true));")
    rendered = browser.execute_script("return document.querySelectorAll('mjx-container').length")
    errors = browser.execute_script("return document.querySelectorAll('mjx-merror, .MathJax_Error').length")
    raw_tex = browser.execute_script(
        "return Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container')).length")
    assert rendered > 5, f"MathJax rendered {rendered} formulas"
    assert errors == 0 and raw_tex == 0
    broken_images = browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert broken_images == []
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe
    if chapter.number == 4:
        browser.save_screenshot(str(tmp_path / "chapter4.png"))


# ---------------------------------------------------------------- every page at 1280 px: layout, figures, axe-core
LABEL = "With a correct solution, this cell shows:"
TAG = "solution-output"


def _book_pages() -> list[str]:
    """The HTML pages of the book, in the order of _toc.yml (root, chapters, reference pages)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part.get("chapters", [])]
    return [f"{f}.html" for f in files]


BOOK_PAGES = _book_pages()
CHAPTER_PAGES = {ch.path.relative_to(ROOT).with_suffix(".html").as_posix(): ch for ch in course.chapters()}


def _open(browser, site_url, page):
    """Load a page at 1280x2000 and wait until MathJax has typeset it and every image has loaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(1280, 2000)
    browser.get(f"{site_url}/{page}")
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.readyState === 'complete'"))
    browser.set_script_timeout(120)
    browser.execute_async_script(
        "const done = arguments[0];"
        "const typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;"
        "(typeset || Promise.resolve()).then(() => done(true));")
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return Array.from(document.images).every(i => i.complete)"))
    assert browser.execute_script("return window.innerWidth") == 1280


# The content box of the main column, and every display equation, figure, image, table and code
# block that reaches past it. Display math and figures also count as too wide when they (or a
# wrapper between them and the column) need horizontal scrolling to be seen whole; a code block
# or table may scroll inside its own box (long code lines are not wrapped), but that box must fit.
OVERFLOW_JS = r"""
const column = document.querySelector('article.bd-article') || document.querySelector('#main-content');
const cs = getComputedStyle(column), cr = column.getBoundingClientRect();
const left = cr.left + parseFloat(cs.paddingLeft), right = cr.right - parseFloat(cs.paddingRight);
const tex = el => {
  try {
    const items = MathJax.startup.document.getMathItemsWithin(el);
    if (items.length) return items[0].math;
  } catch (e) {}
  return null;
};
const describe = el => {
  const text = tex(el) || el.getAttribute('alt') || el.textContent || '';
  return text.replace(/\s+/g, ' ').trim().slice(0, 100);
};
const scrolls = el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible';
const found = [];
const strict = 'mjx-container[display="true"], div.math, figure, img';
const boxed = 'table, pre, div.highlight';
for (const el of column.querySelectorAll(strict + ', ' + boxed)) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;  // not displayed
  let why = null;
  if (r.left < left - 1 || r.right > right + 1) {
    why = `${Math.round(r.width)} px wide at ${Math.round(r.left)}..${Math.round(r.right)}, ` +
          `column ${Math.round(left)}..${Math.round(right)}`;
  } else if (el.matches(strict) && el.clientWidth && el.scrollWidth > el.clientWidth + 1) {
    why = `its content is ${el.scrollWidth} px wide in a ${el.clientWidth} px box`;
  } else if (el.matches(strict)) {
    for (let p = el.parentElement; p && p !== column; p = p.parentElement) {
      if (scrolls(p)) { why = `needs scrolling: ${p.scrollWidth} px in ${p.clientWidth} px`; break; }
    }
  }
  if (why) found.push(`<${el.tagName.toLowerCase()} class="${el.getAttribute('class') || ''}"> ${why}: ` +
                      JSON.stringify(describe(el)));
}
return [Math.round(right - left), found];
"""

# Every image: an alt text that says something (not empty, not a file name or a hash) and a
# <figure> around it with a caption besides its number.
IMAGES_JS = r"""
const found = [];
for (const img of document.images) {
  const alt = (img.getAttribute('alt') || '').trim();
  const name = (img.getAttribute('src') || '').split('/').pop();
  if (!alt) found.push(`${name}: no alt text`);
  else if (/\.(png|jpe?g|svg|gif|webp)\b/i.test(alt) || /[0-9a-f]{32,}/i.test(alt) || alt.split(/\s+/).length < 4)
    found.push(`${name}: the alt text ${JSON.stringify(alt.slice(0, 80))} does not say what it shows`);
  const figure = img.closest('figure');
  const caption = figure && figure.querySelector('figcaption');
  let text = '';
  if (caption) {
    const copy = caption.cloneNode(true);
    copy.querySelectorAll('.caption-number, .headerlink').forEach(e => e.remove());
    text = copy.textContent.trim();
  }
  if (!figure) found.push(`${name}: not in a <figure>`);
  else if (!text) found.push(`${name}: its <figure> has no caption`);
}
return found;
"""

# The labelled boxes of a correct solution's outputs: per box, where it is and what it shows.
SOLUTION_BOXES_JS = r"""
return Array.from(document.querySelectorAll('div.solution-output')).map(box => {
  const label = box.querySelector(':scope > p.solution-output-label');
  const text = Array.from(box.querySelectorAll('pre')).map(p => p.textContent.trim()).join('');
  const images = Array.from(box.querySelectorAll('img'));
  return {
    label: label ? label.textContent.trim() : null,
    in_tagged_cell: !!box.closest('div.cell.tag_solution-output'),
    text: text.length,
    images: images.length,
    loaded: images.filter(i => i.complete && i.naturalWidth > 0).length,
  };
});
"""


def _overflows(browser):
    return browser.execute_script(OVERFLOW_JS)


def _axe_serious(browser, page) -> list[str]:
    """axe-core (bundled with axe-selenium-python, injected from disk: no network) on the
    page; its violations of impact serious or critical, one line each."""
    from axe_selenium_python import Axe

    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    assert "violations" in results, results
    return [f"{v['id']} ({v['impact']}) on {page}: {v['help']}; "
            + ", ".join(" ".join(n["target"]) for n in v["nodes"][:4])
            + (f" and {len(v['nodes']) - 4} more" if len(v["nodes"]) > 4 else "")
            for v in results["violations"] if v.get("impact") in ("serious", "critical")]


@pytest.mark.parametrize("page", BOOK_PAGES)
def test_page_fits_its_column_and_every_figure_is_described(browser, site_url, page, tmp_path):
    _open(browser, site_url, page)
    width, overflows = _overflows(browser)
    assert width > 500, f"{page}: the main column is {width} px wide at a 1280 px window"
    assert overflows == [], f"{page}: wider than the {width} px column at a 1280 px window:\n" + "\n".join(overflows)
    images = browser.execute_script(IMAGES_JS)
    assert images == [], f"{page}:\n" + "\n".join(images)
    if page == "chapters/04/rnn_forward.html":
        browser.save_screenshot(str(tmp_path / "chapter4-1280.png"))


@pytest.mark.parametrize("page", list(CHAPTER_PAGES), ids=lambda p: CHAPTER_PAGES[p].assignment)
def test_each_solution_output_cell_shows_a_labelled_output(browser, site_url, page):
    import nbformat

    nb = nbformat.read(CHAPTER_PAGES[page].path, as_version=4)
    tagged = sum(TAG in c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code")
    _open(browser, site_url, page)
    boxes = browser.execute_script(SOLUTION_BOXES_JS)
    assert len(boxes) == tagged, f"{page}: {tagged} cells tagged {TAG}, {len(boxes)} boxes on the page"
    for i, box in enumerate(boxes, 1):
        assert box["label"] == LABEL, f"{page}, box {i}: label {box['label']!r}"
        assert box["in_tagged_cell"], f"{page}, box {i} is not under a cell tagged {TAG}"
        assert box["text"] or box["images"], f"{page}, box {i} is empty"
        assert box["loaded"] == box["images"], f"{page}, box {i}: an image did not load"


# genindex.html and search.html are generated by Sphinx, hold no course content and are not
# in _toc.yml; they are checked too, as they are part of the site a learner can open.
@pytest.mark.parametrize("page", BOOK_PAGES + ["genindex.html", "search.html"])
def test_page_has_no_serious_accessibility_violation(browser, site_url, page):
    _open(browser, site_url, page)
    serious = _axe_serious(browser, page)
    assert serious == [], "axe-core:\n" + "\n".join(serious)


def test_the_page_checks_fail_on_a_broken_page(browser, site_url):
    """Positive control: the same checks on chapter 4 with a wide equation, a wide figure, an
    image described by its file name outside a figure, an image with no alt, and an emptied
    solution-output box."""
    page = "chapters/04/rnn_forward.html"
    _open(browser, site_url, page)
    browser.set_script_timeout(120)
    browser.execute_async_script(r"""
      const done = arguments[0];
      const article = document.querySelector('article.bd-article');
      const src = document.querySelector('article img').getAttribute('src');
      const math = document.createElement('div');
      math.className = 'math notranslate nohighlight';
      math.textContent = '\\[ a = g\\big(W_{aa} a + W_{ax} x + b_a\\big), \\qquad ' +
        '\\hat{y} = \\operatorname{softmax}\\big(W_{ya} a + b_y\\big), \\qquad ' +
        'x = \\text{one-hot of the symbol chosen from } \\hat{y} = 0.6931 + 1.3863 + 0.2231 = 2.3026. \\]';
      article.append(math);
      const figure = document.createElement('figure');
      figure.innerHTML = `<img src="${src}" alt="A very wide copy of a figure of the chapter" ` +
                         `style="max-width: none; width: 2000px"><figcaption>Too wide</figcaption>`;
      article.append(figure);
      const named = document.createElement('img');
      named.src = src; named.alt = src.split('/').pop();
      article.append(named);
      const bare = document.createElement('img');
      bare.src = src;
      article.append(bare);
      const box = document.querySelector('div.solution-output');
      box.querySelectorAll(':scope > :not(p.solution-output-label)').forEach(e => e.remove());
      MathJax.typesetPromise([math]).then(() => done(true));
    """)
    width, overflows = _overflows(browser)
    assert any(o.startswith("<mjx-container") and "W_{aa} a + W_{ax}" in o for o in overflows), overflows
    assert any(o.startswith("<figure") for o in overflows), overflows
    assert any(o.startswith("<img") and "very wide copy" in o for o in overflows), overflows
    images = browser.execute_script(IMAGES_JS)
    assert any("does not say what it shows" in p for p in images), images
    assert any("no alt text" in p for p in images) and any("not in a <figure>" in p for p in images), images
    boxes = browser.execute_script(SOLUTION_BOXES_JS)
    assert any(not (b["text"] or b["images"]) for b in boxes), boxes
    serious = _axe_serious(browser, page)
    assert any(s.startswith("image-alt (critical)") for s in serious), serious
