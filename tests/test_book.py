"""The student edition of the book: it builds with warnings as errors, nothing of the
reference or the hidden tests reaches it, and it renders offline in a real browser."""
from __future__ import annotations

import functools
import http.server
import pathlib
import re
import shutil
import socketserver
import threading

import pytest

from autograde import course
from autograde.authoring import assemble
from helpers import leaks, secret_lines

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
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


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
    assert CHROMIUM and CHROMEDRIVER, "Debian's chromium and chromium-driver are needed (.ci/run installs them)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,2000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
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
