"""Helpers shared by the tests that grade through the instructor's command line."""
from __future__ import annotations

import ast
import csv
import html
import importlib
import inspect
import json
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time

import nbformat

from autograde import course
from autograde.authoring import assemble


def cli(*args, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``python -m autograde ARGS`` in a subprocess, as an instructor runs it."""
    proc = subprocess.run([sys.executable, "-m", "autograde", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    if check:
        assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def rows_of(out) -> dict[tuple[str, str], dict]:
    """grades.csv as {(student_id, chapter): row}."""
    with open(pathlib.Path(out) / "grades.csv", newline="") as f:
        return {(r["student_id"], r["chapter"]): r for r in csv.DictReader(f)}


def summary_counts(stdout: str) -> dict[str, dict[str, int]]:
    """The summary table ``grade`` prints, as {chapter (or "all"): {status: count}}; the
    status words are its column headers, so a test reads the counts, not the words."""
    lines = stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:1] == ["chapter"])
    statuses = lines[head].split()[1:-2]  # "... mean score"
    table = {}
    for line in lines[head + 2:]:
        cells = line.split()
        if len(cells) < len(statuses) + 1 or not all(c.isdigit() for c in cells[1:len(statuses) + 1]):
            break
        table[cells[0]] = dict(zip(statuses, map(int, cells[1:len(statuses) + 1])))
    return table


def grade(course_dir, submissions, out, *extra, check: bool = True):
    """Grade ``submissions`` quietly; (rows of grades.csv, the finished process)."""
    proc = cli("--course", course_dir, "-q", "grade", submissions, "--out", out, *extra, check=check)
    return (rows_of(out) if (pathlib.Path(out) / "grades.csv").exists() else {}), proc


def write(folder, student: str, chapter, nb=None, name: str | None = None, text=None) -> pathlib.Path:
    """Put a submission at ``folder/student/<notebook>.ipynb`` (or ``name``)."""
    path = pathlib.Path(folder) / student / (name or chapter.path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    else:
        nbformat.write(nb, path)
    return path


def page_text(page: str) -> str:
    """What a reader sees of an HTML page: tags removed, entities decoded, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def exercises(chapter) -> dict[str, float]:
    """Exercise name -> points, from the chapter's grade cells."""
    nb = nbformat.read(chapter.path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"].removeprefix("test_"): float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


# ---------------------------------------------------------------- leak scans
MIN_LINE = 16  # shorter lines ("return s", "else:") are too generic to be evidence


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def secret_lines() -> set[str]:
    """Every substantial line of reference code and of the hidden test regions, normalised.

    A reference line that the chapter shows on purpose (an API convention stated in the
    prose, a call the visible tests make too) carries the comment ``# public`` and is
    not counted."""
    lines = set()
    for ch in course.chapters():
        for module_name in (ch.solutions_module,):
            module = importlib.import_module(module_name)
            tree = ast.parse(inspect.getsource(module))
            src = inspect.getsource(module).split("\n")
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef):
                    continue
                body = node.body
                start = body[0].end_lineno + 1 if ast.get_docstring(node) is not None else body[0].lineno
                for ln in src[start - 1 : node.end_lineno]:
                    code = ln.split("  #", 1)[0].strip()
                    if "# public" in ln:
                        continue
                    if len(code) >= MIN_LINE and not code.startswith("#"):
                        lines.add(norm(code))
        for cell in assemble.assemble(ch).cells:
            if assemble.BEGIN_HIDDEN in cell.source:
                region = cell.source.split(assemble.BEGIN_HIDDEN, 1)[1].split(assemble.END_HIDDEN, 1)[0]
                lines.update(norm(ln) for ln in region.split("\n") if len(ln.strip()) >= 8)
    return lines


MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "autograde.checks", "import solutions",
           "from solutions")


def readable_text(path: pathlib.Path) -> str:
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="ignore")
    if path.suffix == ".html":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    elif path.suffix == ".ipynb":
        nb = json.loads(text)
        parts = []
        for cell in nb.get("cells", []):
            parts.append("".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else cell.get("source", ""))
            for out in cell.get("outputs", []):
                parts.append(json.dumps(out))
        text = "\n".join(parts)
    return text


def found_in(text: str, secrets: set[str]) -> set[str]:
    """The markers and reference lines that ``text`` holds."""
    lines = {norm(ln) for ln in text.split("\n")}
    flat = norm(text)
    found = {marker for marker in MARKERS if marker in text}
    return found | {secret for secret in secrets if secret in lines or (len(secret) >= 30 and secret in flat)}


def leaks(folder: pathlib.Path, secrets: set[str]) -> list[str]:
    """Marker strings and reference lines found in the files under ``folder`` (or in the one file)."""
    found = []
    for path in [folder] if folder.is_file() else sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix in {".png", ".jpg", ".woff", ".woff2", ".ttf", ".eot", ".ico", ".gif"}:
            continue
        if "_static" in path.parts and path.suffix in {".js", ".css"} and "mathjax" in path.parts:
            continue  # third-party bundles
        found += [f"{path}: {secret!r}" for secret in sorted(found_in(readable_text(path), secrets))]
    return found


# ---------------------------------------------------------------- processes
def parents() -> dict[int, int]:
    """pid -> parent pid, of every process on the machine."""
    out = {}
    for p in pathlib.Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                out[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return out


def descendants(pid: int) -> set[int]:
    table = parents()
    found, todo = set(), [pid]
    while todo:
        here = todo.pop()
        for child, parent in table.items():
            if parent == here and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids) -> list[int]:
    """Those of ``pids`` that still run (zombies do not count)."""
    out = []
    for pid in pids:
        try:
            state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            out.append(pid)
    return out


def marked(marker: str) -> list[int]:
    """Live processes whose command line or environment holds ``marker`` (a sandbox's
    processes carry AUTOGRADE_RUN=autograde-run-<coordinator pid>-...)."""
    found = []
    for p in pathlib.Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                blob = (p / "cmdline").read_bytes() + (p / "environ").read_bytes()
            except OSError:
                continue
            if marker.encode() in blob:
                found.append(int(p.name))
    return alive(found)


def watch(cmd: list, timeout: float = 1800) -> tuple[subprocess.CompletedProcess, int, set[int]]:
    """Run ``cmd``; return how it ended, its pid, and every process it started on the way."""
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: set[int] = set()
    out, err = [], []
    readers = [threading.Thread(target=lambda s=s, b=b: b.append(s.read()), daemon=True)
               for s, b in ((proc.stdout, out), (proc.stderr, err))]
    for r in readers:
        r.start()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        seen |= descendants(proc.pid)
        time.sleep(0.2)
    proc.wait(timeout=max(1, deadline - time.monotonic()))
    for r in readers:
        r.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(out), "".join(err)), proc.pid, seen


# ---------------------------------------------------------------- headless Chromium
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def chromium(profile: pathlib.Path, capabilities: dict | None = None):
    """A headless Chromium at a 1280x2000 window with its own profile folder, offline
    (no background network, updates or sync); the caller quits it."""
    assert CHROMIUM and CHROMEDRIVER, "Debian's chromium and chromium-driver are needed (make system installs them)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,2000", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    for key, value in (capabilities or {}).items():
        opts.set_capability(key, value)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
