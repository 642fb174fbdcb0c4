"""The chapter notebooks as a learner sees them in Jupyter, with no extension installed.

Jupyter renders Markdown cells with its own Markdown parser: MyST roles, directives and
targets, which the book understands, would show raw there. So a chapter's Markdown cells
hold none; a cross-reference is a plain Markdown link (the book resolves
``../../glossary.md#term-<slug>`` to the glossary entry, see ``_ext/course_book.py``), and
every code cell the book hides is collapsed in Jupyter too (``jupyter.source_hidden``).

The static tests read the notebooks; the browser tests open them in a real JupyterLab 4
and Notebook 7 server in headless Chromium and check what is rendered: no raw MyST, every
formula typeset by MathJax, the links, the collapsed diagram cells.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from autograde import course
from helpers import chromium

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = course.chapters()
PAGES = [ROOT / "intro.md", ROOT / "glossary.md", ROOT / "notation.md"]

# ---------------------------------------------------------------- MyST that Jupyter shows raw
MYST = {
    "role": re.compile(r"\{[a-z][\w:-]*\}`"),                       # {term}`x`, {ref}`x`, {doc}`x`, {eq}`x`...
    "directive": re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*\{", re.M),   # ```{note}
    "colon fence": re.compile(r"^[ \t]*:{3,}", re.M),                 # :::{note}
    "target": re.compile(r"^[ \t]*\([^()\s]+\)=[ \t]*$", re.M),       # (label)=
    "equation label": re.compile(r"\$\$[ \t]*\([^()\s]+\)"),          # $$ ... $$ (label)
    "comment": re.compile(r"^%", re.M),                               # % a MyST comment
    "block break": re.compile(r"^\+\+\+", re.M),                      # +++
    "substitution": re.compile(r"\{\{.*?\}\}"),                       # {{ name }}
}
# the tags with which the book hides a code cell's code (the diagram cells use hide-input)
HIDDEN_BY_BOOK = {"hide-input", "remove-input", "hide-cell", "remove-cell"}
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# math as Jupyter's Markdown renderer finds it (a code span is not math)
CODE = re.compile(r"(`{3,}).*?\1|`[^`\n]*`", re.S)
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$|\\begin\{([a-z]+\*?)\}.+?\\end\{\1\}", re.S)


def _notebook(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _markdown(path: pathlib.Path) -> list[str]:
    return [_source(c) for c in _notebook(path)["cells"] if c["cell_type"] == "markdown"]


def _myst_in(text: str) -> list[str]:
    return [f"{kind}: {m.group(0)!r}" for kind, rx in MYST.items() for m in rx.finditer(text)]


def _links(text: str) -> list[str]:
    return [u for u in LINK.findall(text) if not re.match(r"[a-z][a-z+.-]*:", u)]  # relative ones only


def _glossary_anchors() -> set[str]:
    """The ids the book gives the glossary's terms (_ext/course_book.py): Sphinx's
    ``term-<id of the term>`` for every bold term before the colon of an entry."""
    from sphinx.util.nodes import _make_id

    entries = re.findall(r"^- (.+?):", (ROOT / "glossary.md").read_text(), re.M)
    terms = [t.replace("`", "") for entry in entries for t in re.findall(r"\*\*(.+?)\*\*", entry)]
    assert len(terms) > 30, terms
    return {_make_id(f"term-{t}") for t in terms}


def _expected_math(markdown: str) -> int:
    return len(MATH.findall(CODE.sub("", markdown)))


# ---------------------------------------------------------------- static
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_markdown_cells_hold_no_myst_syntax(chapter):
    found = [f"cell {i}: {hit}" for i, text in enumerate(_markdown(chapter.path)) for hit in _myst_in(text)]
    assert found == [], f"{chapter.path.name}: MyST that Jupyter shows raw\n" + "\n".join(found)


def test_the_myst_scan_finds_what_it_looks_for():
    samples = ["the {term}`hidden state`", "{ref}`notation page <notation>`", "{doc}`x`", "{numref}`fig`",
               "{eq}`rnn`", "{math}`x`", "```{note}\nhi\n```", ":::{tip}\nhi\n:::", "(notation)=\n# Notation",
               "$$ a = b $$ (eq-a)", "% a comment", "+++", "{{ version }}"]
    for s in samples:
        assert _myst_in(s), s
    assert _myst_in("```python\nx = {1: 2}\n```\n$y \\in \\{0, 1\\}$ and [a link](x.md) (see below)=") == []


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_cells_the_book_hides_are_collapsed_in_jupyter(chapter):
    """source_hidden exactly on the code cells whose input the book hides (the diagram cells)."""
    hidden, collapsed = [], []
    for i, cell in enumerate(_notebook(chapter.path)["cells"]):
        if cell["cell_type"] != "code":
            assert "source_hidden" not in cell["metadata"].get("jupyter", {}), f"markdown cell {i}"
            continue
        if HIDDEN_BY_BOOK & set(cell["metadata"].get("tags", [])):
            hidden.append(i)
        if cell["metadata"].get("jupyter", {}).get("source_hidden") is True:
            collapsed.append(i)
    assert collapsed == hidden, f"{chapter.path.name}: hidden in the book {hidden}, collapsed in Jupyter {collapsed}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_relative_links_point_at_files_and_glossary_terms(chapter):
    anchors = _glossary_anchors()
    links = [u for text in _markdown(chapter.path) for u in _links(text)]
    broken = []
    for url in links:
        target, _, fragment = url.partition("#")
        if not target:
            continue  # a heading of the notebook itself
        path = (chapter.path.parent / target).resolve()
        if not path.is_file() or not path.is_relative_to(ROOT):
            broken.append(f"{url}: no file {target}")
        elif path == ROOT / "glossary.md" and fragment and fragment not in anchors:
            broken.append(f"{url}: the glossary defines no term with the anchor {fragment}")
        elif path.suffix == ".md" and path.name != "glossary.md" and fragment:
            broken.append(f"{url}: an anchor into {target}, which the book does not resolve")
    assert broken == [], "\n".join(broken)
    assert any("glossary.md#term-" in u for u in links), "each chapter links its terms to the glossary"


@pytest.mark.parametrize("page", ["glossary.md", "notation.md"])
def test_the_pages_a_chapter_links_to_hold_no_myst_syntax(page):
    assert _myst_in((ROOT / page).read_text()) == []


def test_the_pages_a_chapter_links_to_link_to_files_and_terms_that_exist():
    anchors = _glossary_anchors()
    for page in PAGES:
        for url in _links(page.read_text()):
            target, _, fragment = url.partition("#")
            path = (page.parent / target).resolve() if target else page
            assert path.is_file(), f"{page.name}: {url}"
            if path == ROOT / "glossary.md" and fragment:
                assert fragment in anchors, f"{page.name}: {url}: the glossary defines no such term"


# ---------------------------------------------------------------- a real Jupyter server
USER_SETTINGS = {
    # every cell rendered at once (a windowing mode may leave the cells out of view unrendered)
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # no news, no update check: the server and the page stay offline
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
# a learner's plain JupyterLab and Notebook 7: what this environment adds for the instructor is off
SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False, "nbgrader.server_extensions.validate_assignment": False,
    "nbgrader.server_extensions.assignment_list": False, "nbgrader.server_extensions.course_list": False,
    "jupyter_lsp": False}}}
PAGE_CONFIG = {"disabledExtensions": {"@jupyter/nbgrader": True, "@jupyter-widgets/jupyterlab-manager": True}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


class Server:
    def __init__(self, url: str, token: str, proc: subprocess.Popen):
        self.url, self.token, self.proc = url, token, proc
        self.kernels: list = []  # processes it started, kernels included (they run in their own sessions)

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shut_down_sessions(self):
        """Remember the kernels the page started, then shut them down (one chapter at a time)."""
        self.kernels += _descendants(self.proc.pid)
        for s in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{s['id']}")

    def stop(self):
        import psutil

        self.kernels += _descendants(self.proc.pid)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the server shuts its kernels down
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=15)
        for p in self.kernels:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        alive = [p for p in self.kernels if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert alive == [], f"still running after the server stopped: {alive}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The chapters, glossary and notation pages in their folder layout, so relative links resolve."""
    root = tmp_path_factory.mktemp("jupyter-root")
    shutil.copytree(ROOT / "chapters", root / "chapters",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for page in ("glossary.md", "notation.md"):
        shutil.copy2(ROOT / page, root / page)
    return root


@pytest.fixture(scope="module")
def jupyter(served, tmp_path_factory, request):
    home = tmp_path_factory.mktemp("jupyter-home")
    config, data, runtime = home / "config", home / "data", home / "runtime"
    for name, settings in USER_SETTINGS.items():
        path = config / "lab" / "user-settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    (config / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_", "IPYTHON"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(config), JUPYTER_DATA_DIR=str(data),
               JUPYTER_RUNTIME_DIR=str(runtime), IPYTHONDIR=str(home / "ipython"),
               PATH=str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""))
    token, port = secrets.token_hex(16), _free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={served}",
           "--ServerApp.open_browser=False", "--ServerApp.terminals_enabled=False", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "server.log", "wb")  # closed by a finaliser
    proc = subprocess.Popen(cmd, cwd=served, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", token, proc)
    request.addfinalizer(log.close)
    request.addfinalizer(server.stop)
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, (home / "server.log").read_text()[-4000:]
        try:
            server.api("GET", "/api/status")
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            assert time.monotonic() < deadline, (home / "server.log").read_text()[-4000:]
            time.sleep(0.3)
    yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory, request):
    # accept the "leave the page?" that an unsaved notebook asks
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"), {"unhandledPromptBehavior": "accept"})
    request.addfinalizer(driver.quit)
    return driver


# What the page shows, cell by cell: the text of the rendered Markdown without its formulas and
# code (where raw MyST or TeX would show), the formulas MathJax typeset, the links, and for a
# code cell whether its input is collapsed to a placeholder.
REPORT = r"""
const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
if (!nb) return null;
return Array.from(nb.querySelectorAll('.jp-Notebook-cell')).map(cell => {
  const md = cell.querySelector('.jp-RenderedMarkdown');
  const r = {markdown: cell.classList.contains('jp-MarkdownCell'), rendered: !!md, text: '', math: 0, errors: 0,
             links: [], fences: [], collapsed: !!cell.querySelector('.jp-InputPlaceholder'),
             input: !!cell.querySelector('.jp-Cell-inputArea:not(.lm-mod-hidden)')};
  if (md) {
    r.math = md.querySelectorAll('mjx-container').length;
    // a TeX error, or an undefined macro (MathJax shows its name in red)
    r.errors = md.querySelectorAll('mjx-merror, .MathJax_Error, mjx-assistive-mml mtext[mathcolor="red"]').length;
    r.links = Array.from(md.querySelectorAll('a[href]')).filter(a => !a.classList.contains('jp-InternalAnchorLink'))
                   .map(a => a.getAttribute('href'));
    r.fences = Array.from(md.querySelectorAll('pre code[class]')).map(c => c.className).filter(c => c.includes('{'));
    const copy = md.cloneNode(true);
    copy.querySelectorAll('mjx-container, code, pre, script').forEach(e => e.remove());
    r.text = copy.textContent;
  }
  return r;
});
"""
RAW_TEX = re.compile(r"\$|\\[A-Za-z]+|\\[(\[]")
RAW_MYST = re.compile(r"\{[a-z][\w:-]*\}|^[ \t]*:{3,}|\([^()\s]+\)=|\{\{", re.M)


def _rendered(driver, url: str, nb: dict, timeout: float = 90) -> list[dict]:
    """Open url and wait until every cell is there and every formula typeset (or the time is up)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    n_cells = len(nb["cells"])
    expected = [_expected_math(_source(c)) if c["cell_type"] == "markdown" else 0 for c in nb["cells"]]
    last = {}

    def ready(d):
        cells = d.execute_script(REPORT)
        last["cells"] = cells
        if not cells or len(cells) != n_cells or not all(c["rendered"] for c in cells if c["markdown"]):
            return False
        return all(c["math"] >= e and not RAW_TEX.search(c["text"]) for c, e in zip(cells, expected))

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(ready)
    except Exception:
        pass  # the assertions below say what is missing
    time.sleep(0.5)  # MathJax typesets a cell at a time: one more look once it has settled
    cells = driver.execute_script(REPORT) or last.get("cells")
    assert cells, f"no notebook rendered at {url}"
    return cells


def _check_cells(cells: list[dict], nb: dict, where: str):
    assert len(cells) == len(nb["cells"]), f"{where}: {len(cells)} cells rendered of {len(nb['cells'])}"
    problems = []
    total_math = 0
    for i, (cell, source) in enumerate(zip(cells, nb["cells"])):
        text = _source(source)
        if source["cell_type"] == "markdown":
            assert cell["markdown"] and cell["rendered"], f"{where}: cell {i} is not rendered Markdown"
            for kind, rx in (("raw MyST", RAW_MYST), ("raw TeX", RAW_TEX)):
                if shown := sorted(set(rx.findall(cell["text"]))):
                    problems.append(f"cell {i}: {kind} {shown[:8]}")
            problems += [f"cell {i}: a MyST directive rendered as code ({c})" for c in cell["fences"]]
            if cell["errors"]:
                problems.append(f"cell {i}: {cell['errors']} MathJax errors")
            if cell["math"] != _expected_math(text):
                problems.append(f"cell {i}: {cell['math']} formulas typeset of {_expected_math(text)}")
            total_math += cell["math"]
            # each link of the source is a link on the page, to the same file and anchor
            wanted = sorted(_page_and_anchor(u) for u in _links(text) if not u.startswith("#"))
            shown = sorted(_page_and_anchor(h) for h in cell["links"] if ".md" in h or ".ipynb" in h)
            if wanted != shown:
                problems.append(f"cell {i}: links {shown}, the source has {wanted}")
        else:
            hidden = source["metadata"].get("jupyter", {}).get("source_hidden") is True
            if hidden and not (cell["collapsed"] and not cell["input"]):
                problems.append(f"cell {i}: a diagram cell whose code shows")
            if not hidden and (cell["collapsed"] or not cell["input"]):
                problems.append(f"cell {i}: a code cell whose code is collapsed")
    assert problems == [], f"{where}:\n" + "\n".join(problems)
    assert total_math >= 5, f"{where}: {total_math} formulas typeset"


def _page_and_anchor(url: str) -> tuple[str, str]:
    """``../../glossary.md#term-x`` or ``http://host/files/glossary.md?_xsrf=..#term-x`` -> (glossary.md, term-x)"""
    path, _, fragment = url.partition("#")
    return path.split("?")[0].rstrip("/").rsplit("/", 1)[-1], fragment


def _open_chapter(driver, jupyter, served, chapter, ui: str, shot: pathlib.Path) -> list[dict]:
    rel = chapter.path.relative_to(ROOT).as_posix()
    url = (f"{jupyter.url}/lab/workspaces/{chapter.assignment}/tree/{rel}" if ui == "lab"
           else f"{jupyter.url}/notebooks/{rel}")
    try:
        cells = _rendered(driver, f"{url}?token={jupyter.token}", _notebook(served / rel))
    finally:
        driver.save_screenshot(str(shot))
    return cells


UIS = {"lab": "JupyterLab", "notebook": "Notebook 7"}


@pytest.mark.parametrize("ui", UIS)
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.assignment)
def test_chapter_renders_in_jupyter(browser, jupyter, served, chapter, ui, tmp_path):
    try:
        cells = _open_chapter(browser, jupyter, served, chapter, ui, tmp_path / f"{ui}-{chapter.assignment}.png")
        _check_cells(cells, _notebook(chapter.path), f"{UIS[ui]}, {chapter.path.name}")
    finally:
        jupyter.shut_down_sessions()


def test_a_glossary_link_opens_the_glossary_in_jupyterlab(browser, jupyter, served, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chapter = course.by_assignment("ch04")
    try:
        _open_chapter(browser, jupyter, served, chapter, "lab", tmp_path / "before.png")
        link = browser.find_element(By.CSS_SELECTOR, ".jp-RenderedMarkdown a[href*='glossary.md']")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
        link.click()
        tabs = "return Array.from(document.querySelectorAll('.lm-DockPanel .lm-TabBar-tabLabel')).map(t => t.textContent)"
        WebDriverWait(browser, 30).until(lambda d: "glossary.md" in d.execute_script(tabs))
        assert len(browser.window_handles) == 1, "JupyterLab opens the glossary in a tab of its own, not a new window"
    finally:
        browser.save_screenshot(str(tmp_path / "glossary.png"))
        jupyter.shut_down_sessions()
