"""Attacks are tests. One class is graded: an honest learner, a learner with one wrong
answer, and one submission per kind of attack a dishonest learner can try. Every
attack starts from a notebook whose honest score is known (most are untouched, 0 points)
and tries to get more: none may get a point it did not earn, the two classmates keep
exactly their grades, the run completes, nothing outside the sandboxes changes, no
process outlives the run, and every feedback page and the report are safe to open.
(A learner's own timestamp.txt, which must not set the lateness, is tried in
test_robustness and in test_grading's LMS zip.)
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import sys
import tempfile
import textwrap
import time

import nbformat
import pytest

from autograde import course
from autograde.authoring import synthetic
from helpers import (
    alive,
    cli,
    exercises,
    found_in,
    marked,
    page_text,
    readable_text,
    rows_of,
    secret_lines,
    watch,
    write,
)

pytestmark = pytest.mark.slow

CH04 = course.by_assignment("ch04")
CH06 = course.by_assignment("ch06")
ROOT = pathlib.Path(__file__).resolve().parent.parent
HONEST_MARKER = "HONEST-CLASSMATE-7f3a"  # a comment only the honest classmate's notebook holds
TIMEOUTS = ["--cell-timeout", "10", "--notebook-timeout", "90"]


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def top_level(code: str, base="untouched", chapter=CH04, cell="softmax"):
    """A submission whose solution cell ``cell`` also runs ``code`` at top level."""
    nb = synthetic.submission(chapter, base)
    _cell(nb, cell).source += "\n\n" + textwrap.dedent(code).strip("\n")
    return nb


def function_body(body: str, name="softmax", chapter=CH04, base="untouched"):
    """A submission whose function ``name`` runs ``body`` (which returns its answer)."""
    nb = synthetic.submission(chapter, base)
    cell = _cell(nb, name)
    header = cell.source.split('"""', 2)
    cell.source = header[0] + '"""' + header[1] + '"""\n' + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return nb


# ---------------------------------------------------------------- the attacks
IMPORT_REFERENCE = function_body('''
    import glob, os, sys
    try:
        import solutions.ch04 as ref
        return ref.softmax(z)
    except Exception as exc:
        print("BLOCKED import solutions:", type(exc).__name__)
    try:
        from autograde.checks import ch04 as checks
        print("checks imported", checks)
    except Exception as exc:
        print("BLOCKED import checks:", type(exc).__name__)
    roots = {os.path.dirname(p) for p in sys.path if p} | {"/work", "/root", "/home", "/tmp", "/opt", "/srv"}
    for root in roots:
        for path in glob.glob(root + "/**/ch04.py", recursive=True):
            text = open(path).read()
            if "def softmax" in text:
                ns = {}
                exec(text, ns)
                return ns["softmax"](z)
    print("BLOCKED reading the reference: no file found")
    raise NotImplementedError
''')

FRAME_GC = function_body('''
    import gc, sys
    import numpy as np
    seen = []
    frame = sys._getframe()
    while frame is not None:
        seen += [v for v in frame.f_locals.values() if isinstance(v, np.ndarray) and v.shape == z.shape and v is not z]
        frame = frame.f_back
    seen += [o for o in gc.get_objects() if isinstance(o, np.ndarray) and o.shape == z.shape and o is not z]
    ours = [o for o in gc.get_objects() if callable(o) and str(getattr(o, "__module__", "")).startswith(("autograde", "solutions"))]
    print("FRAMES:", len(seen), "GRADER FUNCTIONS FOUND:", len(ours))
    return seen[0] if seen else z
''')

PATCH_EVERYTHING = top_level('''
    import builtins, sys, types
    import numpy
    numpy.allclose = lambda *a, **k: True
    numpy.isclose = lambda *a, **k: True
    numpy.array_equal = lambda *a, **k: True
    builtins.AssertionError = type("Nothing", (Exception,), {})
    fake = types.ModuleType("autograde.checks.ch04")
    for name in ("check_softmax", "check_rnn_cell_forward", "check_rnn_forward"):
        setattr(fake, name, lambda *a, **k: None)
    sys.modules["autograde"] = types.ModuleType("autograde")
    sys.modules["autograde.checks"] = types.ModuleType("autograde.checks")
    sys.modules["autograde.checks.ch04"] = fake
    sys.modules["solutions"] = types.ModuleType("solutions")

    def softmax(z):
        return z
''')

IPYTHON_HOOKS = top_level('''
    ip = get_ipython()
    def blank(lines):
        return ["pass\\n"] if any("harness" in line or "assert" in line or "import" in line for line in lines) else lines
    ip.input_transformers_cleanup.append(blank)
    ip.input_transformers_post.append(blank)
    ip.events.register("pre_run_cell", lambda *a: print("pre-run hook"))
    ip.events.register("post_run_cell", lambda *a: print("post-run hook"))
''')

FORGED_OUTPUTS = top_level('''
    import math
    from IPython.display import display
    ip = get_ipython()
    def forge(*args):
        ip.displayhook(float("nan"))
        ip.displayhook(-5)
        ip.displayhook(10**9)
        print("Hidden check passed: 3 / 3 points")
    ip.events.register("post_run_cell", forge)
    display({"text/plain": "1000"}, raw=True)
''')

WRITE_FILES = top_level('''
    import glob, os, sys
    targets = []
    for root in ["/work", "/root", "/home", "/tmp", "/opt", "/srv", "/var", "/etc"]:
        for pattern in ("gradebook.db", "*.jsonl", "grades.csv", "*.ipynb", "ch04.py", "harness.py", "wire.py"):
            targets += glob.glob(f"{root}/**/{pattern}", recursive=True)
    written = []
    for path in targets:
        try:
            with open(path, "a") as f:
                f.write("# tampered\\n")
            written.append(path)
        except OSError:
            pass
    for folder in [p for p in sys.path if "site-packages" in p] + ["/opt/autograde", "/usr/lib", "/"]:
        try:
            open(os.path.join(folder, "sitecustomize.py"), "w").write("print('pwned')")
            written.append(folder)
        except OSError:
            pass
    print("TARGETS:", len(targets), "WRITTEN OUTSIDE /tmp:", [w for w in written if not w.startswith("/tmp")])
''')

READ_CLASSMATES = top_level(f'''
    import glob
    found = []
    for root in ["/work", "/root", "/home", "/tmp", "/opt", "/srv", "/var"]:
        for path in glob.glob(root + "/**/*.ipynb", recursive=True):
            try:
                if "{HONEST_MARKER[:8]}" + "{HONEST_MARKER[8:]}" in open(path).read():
                    found.append(path)
            except OSError:
                pass
    print("CLASSMATE NOTEBOOKS FOUND:", len(found))
    for path in found:
        print(open(path).read())
''')

DAEMONS = top_level('''
    import os, subprocess, threading, time
    subprocess.Popen(["sleep", "4242"], start_new_session=True)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "4243"])
        os._exit(0)
    threading.Thread(target=lambda: time.sleep(4244), daemon=True).start()
    print("daemons started")
''')

KILL_HELPERS = top_level('''
    import os, signal, sys, time
    print("processes I can see:", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
    sys.stdout.flush()
    time.sleep(0.5)  # let the kernel send what it printed
    for pid in range(2, 4096):
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    os.kill(1, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
''')

GARBAGE_TO_HELPERS = top_level('''
    import os
    for fd in range(3, 1024):
        try:
            os.write(fd, b"\\xff" * 64 + os.urandom(4096))
        except OSError:
            pass
    print("garbage written")
''')

REACH_SCHEDULER = top_level('''
    import os, socket
    open_ports = []
    for port in range(1, 65536):
        s = socket.socket()
        s.setblocking(False)
        if s.connect_ex(("127.0.0.1", port)) in (0, 115):
            try:
                s.settimeout(0.05)
                if s.getpeername() != s.getsockname():  # not a TCP self-connection
                    open_ports.append(port)
            except OSError:
                pass
        s.close()
    reachable = []
    for host in ["10.0.0.1", "172.17.0.1", "192.168.0.1", "8.8.8.8"]:
        try:
            socket.create_connection((host, 8786), timeout=0.5).close()
            reachable.append(host)
        except OSError:
            pass
    own = {int(line.split()[1].split(":")[1], 16) for line in open("/proc/net/tcp").readlines()[1:]
           if line.split()[3] == "0A" and line.split()[7] == str(os.getuid())}
    import os
    print("FOREIGN OPEN PORTS:", [p for p in open_ports if p not in own], "REACHABLE HOSTS:", reachable)
''')

FAKE_HARNESS = top_level('''
    import sys, numpy as np
    import wire, harness
    def serve(*args, **kwargs):
        chan = harness._state["channel"]
        wire.send(chan, {"op": "ready"})
        while True:
            msg = wire.recv(chan)
            reply = {"ok": True, "seq": msg.get("seq"), "kind": "function", "type": "function",
                     "result": wire.encode((np.ones((3, 3)), np.ones((3, 3)), ())), "args": msg.get("args")}
            wire.send(chan, reply)
            if msg.get("op") == "end":
                return
    harness.serve = serve
    sys.modules["harness"].serve = serve
''')

FORGED_CALLBACKS = function_body('''
    import harness, wire
    chan = harness._state["channel"]
    answers = []
    for target in ("rnn_cell_forward", "rnn_forward", "softmax", "callback-1", "check_rnn_cell_forward"):
        try:
            wire.send(chan, {"op": "callback", "target": target, "args": wire.encode([xt, a_prev, parameters]),
                             "kwargs": wire.encode({})})
            answers.append((target, str(wire.recv(chan))[:80]))
        except Exception as exc:
            answers.append((target, type(exc).__name__))
    print("CALLBACK ANSWERS:", answers)
    return a_prev, a_prev, (a_prev, a_prev, xt, parameters)
''', name="rnn_cell_forward")

RESOURCES = top_level('''
    import os
    try:
        with open("/tmp/fill", "wb") as f:
            for _ in range(4096):
                f.write(b"\\0" * 2**20)
    except OSError as exc:
        print("DISK:", type(exc).__name__)
    children = 0
    try:
        for _ in range(10_000):
            if os.fork() == 0:
                import time
                time.sleep(30)
                os._exit(0)
            children += 1
    except OSError as exc:
        print("FORK LIMIT after", children, type(exc).__name__)
''')

INJECTION = top_level('''
    from IPython.display import HTML, Javascript, SVG, Markdown, display
    display(HTML('<script>document.title="pwned"</script><img src=x onerror="document.title=1">'))
    display(Javascript('document.title="pwned"'))
    display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="pwned"</script></svg>'))
    display(Markdown('<iframe src="javascript:alert(1)"></iframe>'))
    print('<script>document.title="pwned"</script>')

    def softmax(z):
        raise ValueError('<script>document.title="pwned"</script> It looks like you deserve full marks')
''')


def _injected_markdown(nb):
    nb.cells.insert(2, nbformat.v4.new_markdown_cell(
        '<script>document.title="pwned"</script>\n\n<img src=x onerror="document.title=1">\n\n'
        '<a href="javascript:alert(1)">click</a> <style>body{display:none}</style>'))
    return nb


def _edited_metadata():
    nb = synthetic.submission(CH04, "untouched")
    _cell(nb, "test_softmax").metadata["nbgrader"]["points"] = 1000
    sol = _cell(nb, "softmax")
    sol.metadata["nbgrader"].update({"grade": True, "points": 100})
    nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    bonus = nbformat.v4.new_code_cell("print('free points')")
    bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "test_bonus", "points": 50, "locked": False,
                                  "solution": False, "schema_version": 3, "task": False}
    nb.cells.append(bonus)
    test = _cell(nb, "test_rnn_forward")
    test.metadata["nbgrader"]["grade_id"] = "test_rnn_forward_mine"
    return nb


def _ch06_callback_abuse():
    """numerical_gradient gets the check's function f as a call-back: ask it (and the
    grader) for more than f."""
    return function_body('''
        import harness, wire
        print("f is", type(f).__name__, getattr(f, "_grader_target", None))
        chan = harness._state["channel"]
        got = []
        for target in ("rnn_backward", "numerical_gradient", "callback-0", "callback-2"):
            wire.send(chan, {"op": "callback", "target": target, "args": wire.encode([theta]), "kwargs": wire.encode({})})
            got.append(str(wire.recv(chan))[:60])
        print("ASKED:", got)
        return np.zeros_like(theta)
    ''', name="numerical_gradient", chapter=CH06)


ATTACKS = {
    # name: (chapter, notebook, honest score of what the notebook really does)
    "import-reference": (CH04, IMPORT_REFERENCE, 0),
    "frame-and-gc": (CH04, FRAME_GC, 0),
    "patch-numpy-builtins-checks": (CH04, PATCH_EVERYTHING, 0),
    "ipython-hooks-transformers": (CH04, IPYTHON_HOOKS, 0),
    "forged-outputs": (CH04, FORGED_OUTPUTS, 0),
    "write-gradebook-checks-classmates": (CH04, WRITE_FILES, 0),
    "read-classmates": (CH04, READ_CLASSMATES, 0),
    "daemons": (CH04, DAEMONS, 0),
    "kill-helpers": (CH04, KILL_HELPERS, 0),
    "garbage-to-helpers": (CH04, GARBAGE_TO_HELPERS, 0),
    "reach-scheduler": (CH04, REACH_SCHEDULER, 0),
    "fake-harness": (CH04, FAKE_HARNESS, 0),
    "forged-callbacks": (CH04, FORGED_CALLBACKS, 0),
    "resource-exhaustion": (CH04, RESOURCES, 0),
    "html-script-injection": (CH04, _injected_markdown(INJECTION), 0),
    "edited-metadata": (CH04, _edited_metadata(), 0),
    "ch06-callback-abuse": (CH06, _ch06_callback_abuse(), 0),
}
HONEST = {CH04: 8.0, CH06: sum(exercises(CH06).values())}
WRONG = {CH04: ("rnn_cell_forward", "waa_transposed"), CH06: ("rnn_backward", "loop_forwards")}


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def _protected(course_dir) -> list[pathlib.Path]:
    """Files no learner code may change: the reference, the checks, the harness, and the
    course directory's nbgrader sources, releases and config (released before the run;
    the Python environment's site-packages listing is checked separately)."""
    course_files = [p for folder in ("source", "release") for p in (course_dir / folder).rglob("*") if p.is_file()]
    return (sorted((ROOT / "solutions").glob("*.py")) + sorted((ROOT / "autograde").rglob("*.py"))
            + sorted(course_files) + [course_dir / "nbgrader_config.py"])


def _site_listing() -> dict[str, list[str]]:
    """What is in the Python environment's package folders (the grader's and its
    sandboxes' interpreter; a learner who adds a sitecustomize.py or a .pth there runs
    in every later kernel)."""
    import sysconfig

    folders = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], sysconfig.get_paths()["stdlib"]}
    return {f: sorted(os.listdir(f)) for f in sorted(folders)}


def _cmd(pid: int) -> str:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, released):
    c, _ = released
    subs = tmp_path_factory.mktemp("attacks")
    out = tmp_path_factory.mktemp("attacks-out")
    course_dir = tmp_path_factory.mktemp("attack-course") / "course"
    for ch in (CH04, CH06):
        honest = synthetic.submission(ch, "reference")
        first = next(cell for cell in honest.cells if cell.metadata.get("nbgrader", {}).get("solution"))
        first.source += f"\n# {HONEST_MARKER}"
        write(subs, "honest", ch, honest)
        exercise, mistake = WRONG[ch]
        write(subs, "wrong", ch, synthetic.submission(ch, {exercise: mistake}))
    for name, (ch, nb, _) in ATTACKS.items():
        write(subs, name, ch, nb)
    from autograde.nbgrader_glue.coursedir import Course

    Course(course_dir).release([CH04, CH06])  # so that its sources and releases exist to be guarded
    before = {"files": _digest(_protected(course_dir)), "site": _site_listing()}
    started = time.monotonic()
    proc, coordinator, started_pids = watch([sys.executable, "-m", "autograde", "--course", course_dir, "-q", "grade", subs,
                                "--out", out, *TIMEOUTS])
    after = {"files": _digest(_protected(course_dir)), "site": _site_listing()}
    leftovers = [f"{pid}: {_cmd(pid)}" for pid in alive(started_pids)]
    leftovers += [f"{pid}: {_cmd(pid)}" for pid in marked(f"autograde-run-{coordinator}-")]
    leftovers += [f"{pid}: {_cmd(pid)}" for pid in marked("sleep\x004242") + marked("sleep\x004243")]
    temporary = [str(p) for p in pathlib.Path(tempfile.gettempdir()).glob(f"autograde-run-{coordinator}-*")]
    return {"proc": proc, "rows": rows_of(out), "out": out, "course": course_dir, "subs": subs,
            "before": before, "after": after, "leftovers": leftovers, "temporary": temporary,
            "seconds": time.monotonic() - started}


def test_the_run_completes(attacked):
    proc, rows = attacked["proc"], attacked["rows"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = {(name, ch.assignment) for name, (ch, _, _) in ATTACKS.items()}
    expected |= {("honest", "ch04"), ("honest", "ch06"), ("wrong", "ch04"), ("wrong", "ch06")}
    assert set(rows) == expected


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_attack_gets_an_unearned_point(attacked, name):
    ch, _, honest_score = ATTACKS[name]
    row = attacked["rows"][(name, ch.assignment)]
    assert float(row["score"]) == honest_score, row
    assert float(row["max_score"]) == sum(exercises(ch).values()), row
    assert all(float(row[f"{ch.assignment}:{ex}"] or 0) == 0 for ex in exercises(ch)), row


@pytest.mark.parametrize("ch", [CH04, CH06], ids=["ch04", "ch06"])
def test_classmates_keep_exactly_their_grades(attacked, ch):
    rows = attacked["rows"]
    honest, wrong = rows[("honest", ch.assignment)], rows[("wrong", ch.assignment)]
    assert honest["status"] == "graded" and float(honest["score"]) == HONEST[ch], honest
    exercise, _ = WRONG[ch]
    assert wrong["status"] == "graded", wrong
    for name, pts in exercises(ch).items():
        assert float(wrong[f"{ch.assignment}:{name}"]) == (0 if name == exercise else pts), (name, wrong)
        assert float(honest[f"{ch.assignment}:{name}"]) == pts


def test_nothing_outside_the_sandbox_changed(attacked):
    before = attacked["before"]
    # something was guarded: the reference, the checks, the course's releases, the packages
    assert any(p.endswith(f"release/ch04/{CH04.path.name}") for p in before["files"])
    assert any(p.endswith("solutions/ch04.py") for p in before["files"])
    assert any("numpy" in names for names in before["site"].values())
    assert attacked["after"]["files"] == before["files"]
    assert attacked["after"]["site"] == before["site"]  # no sitecustomize.py or anything else
    # the classmates' read-only copies are what they submitted
    for student in ("honest", "wrong"):
        for ch in (CH04, CH06):
            original = (attacked["subs"] / student / ch.path.name).read_bytes()
            copy = attacked["course"] / "submitted" / student / ch.assignment / ch.path.name
            assert copy.read_bytes() == original
            assert copy.stat().st_mode & 0o222 == 0  # copied read-only at intake


def test_no_process_outlives_the_run(attacked):
    assert attacked["leftovers"] == []
    assert attacked["temporary"] == []


def _page(attacked, student, ch=CH04) -> str:
    return (attacked["out"] / "feedback" / student / f"{ch.notebook}.html").read_text()


def test_attacks_ran_and_were_blocked(attacked):
    """Each attack did run (its own output says what it found), and found nothing."""
    text = {name: page_text(_page(attacked, name, ch)) for name, (ch, _, _) in ATTACKS.items()
            if (attacked["out"] / "feedback" / name / f"{ch.notebook}.html").exists()}
    assert "BLOCKED import solutions: ModuleNotFoundError" in text["import-reference"]
    assert "BLOCKED reading the reference: no file found" in text["import-reference"]
    assert "GRADER FUNCTIONS FOUND: 0" in text["frame-and-gc"]
    assert "WRITTEN OUTSIDE /tmp: []" in text["write-gradebook-checks-classmates"]
    assert "CLASSMATE NOTEBOOKS FOUND: 0" in text["read-classmates"]
    assert "FOREIGN OPEN PORTS: [] REACHABLE HOSTS: []" in text["reach-scheduler"]
    assert re.search(r"processes I can see: \[1, 2(, 3)?\]", text["kill-helpers"])  # bwrap and the kernel only
    assert re.search(r"CALLBACK ANSWERS: .*'rnn_cell_forward', \"\{'ok': False", text["forged-callbacks"])
    assert "FORK LIMIT after" in text["resource-exhaustion"] and "DISK: OSError" in text["resource-exhaustion"]


def test_classmates_work_is_not_in_any_attackers_output(attacked):
    for name, (ch, _, _) in ATTACKS.items():
        for path in [attacked["out"] / "feedback" / name / f"{ch.notebook}.html",
                     attacked["course"] / "autograded" / name / ch.assignment / ch.path.name]:
            if path.exists():
                assert HONEST_MARKER not in path.read_text(), path


def test_feedback_and_report_are_safe_to_open(attacked):
    out = attacked["out"]
    pages = sorted((out / "feedback").glob("*/*.html")) + [out / "report.html"]
    assert len(pages) > len(ATTACKS)
    secrets = secret_lines()
    for page in pages:
        text = page.read_text()
        markup = re.sub(r"<style\b[^>]*>.*?</style>", "", text, flags=re.S | re.I)  # the pages' own CSS
        assert not re.search(r"<(script|iframe|svg|object|embed|style)\b", markup, re.I), page
        assert not re.search(r"<[^>]*\son\w+\s*=", markup, re.I), page  # event handler attributes
        assert not re.search(r"<[^>]*\s(href|src)\s*=\s*[\"']?\s*javascript:", markup, re.I), page
        csp = text.split("Content-Security-Policy", 1)[1][:200]
        assert "default-src 'none'" in csp and "script-src" not in csp, page
    # nothing of the reference or the hidden checks, beyond what a learner wrote in their own notebook
    for page in pages:
        submitted = attacked["subs"] / page.parent.name / page.name.replace(".html", ".ipynb")
        own = found_in(readable_text(submitted), secrets) if submitted.exists() else set()
        assert not found_in(readable_text(page), secrets) - own, page


def test_learner_text_never_becomes_a_diagnosis_in_the_report(attacked):
    report = page_text((attacked["out"] / "report.html").read_text())
    assert "deserve full marks" not in report.split("Most frequent diagnosed mistakes")[-1].split("Submissions")[0]


def test_journal_and_gradebook_agree(attacked):
    from autograde.nbgrader_glue.coursedir import Course

    journal = [json.loads(line) for line in (attacked["course"] / "autograde-journal.jsonl").read_text().splitlines()]
    assert journal
    with Course(attacked["course"]).gradebook() as gb:
        for entry in journal:
            ch = course.by_assignment(entry["assignment"])
            nb = gb.find_submission_notebook(ch.notebook, ch.assignment, entry["student"])
            assert {g.name: g.auto_score for g in nb.grades} == entry["scores"], entry["student"]


def test_the_sandbox_itself(tmp_path):
    """What a learner's kernel sees of the machine, asked from inside one."""
    import socket

    from jupyter_client import BlockingKernelClient

    from autograde.execution.sandbox import SANDBOX_UID, UID_BASE, UID_COUNT, Limits, SandboxFactory

    service = socket.socket()  # a service of the machine's, on loopback (like a dask scheduler)
    service.bind(("127.0.0.1", 0))
    service.listen()
    probe = textwrap.dedent('''
        import ctypes, json, os, resource, socket
        out = {"repository": sorted(os.listdir(REPO)) if os.path.isdir(REPO) else None, "uid": os.getuid(),
               "uid_map": [l.split() for l in open("/proc/self/uid_map")],
               "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
               "caps": [l.strip() for l in open("/proc/self/status") if l.startswith(("CapEff", "NoNewPrivs"))],
               "as": resource.getrlimit(resource.RLIMIT_AS)[1], "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[1]}
        try:
            import solutions
            out["solutions"] = solutions.__file__
        except ImportError:
            out["solutions"] = None
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1)
            out["net"] = "open"
        except OSError as exc:
            out["net"] = type(exc).__name__
        out["writable"] = []
        for path in ("/usr/evil", "/evil", "/etc/evil", "/tmp/fine"):
            try:
                open(path, "w").close()
                out["writable"].append(path)
            except OSError:
                pass
        out["userns"] = ctypes.CDLL(None).unshare(0x10000000)
        print(json.dumps(out))
    ''').replace("REPO", repr(str(ROOT))).replace("PORT", str(service.getsockname()[1]))
    printed: list = []
    sandbox = SandboxFactory(tmp_path, Limits(memory=2**30, processes=64)).start()
    kc = BlockingKernelClient()
    kc.load_connection_info(sandbox.connection_info)
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(probe, timeout=60, output_hook=lambda m: printed.append(m))
    finally:
        kc.stop_channels()
        sandbox.kill()
        service.close()
    assert reply["content"]["status"] == "ok"
    found = json.loads("".join(m["content"].get("text", "") for m in printed if m["msg_type"] == "stream"))
    # the learner's uid and the one uid its namespace maps: as root, a leased host uid of its
    # own, mapped to itself; otherwise 65534 in user namespaces (bwrap nests two) that map no
    # uid but one, which can only be the grader's own (without capabilities: below)
    ((inside, outside, count),) = found["uid_map"]
    if os.geteuid() == 0:
        assert UID_BASE <= found["uid"] < UID_BASE + UID_COUNT, found["uid"]
        assert (int(inside), int(outside), int(count)) == (found["uid"], found["uid"], 1)
    else:
        assert found["uid"] == SANDBOX_UID
        assert (int(inside), int(count)) == (SANDBOX_UID, 1)
    assert found["caps"] == ["CapEff:\t0000000000000000", "NoNewPrivs:\t1"]
    assert max(found["pids"]) < 10  # its own processes only
    assert found["repository"] in (None, [".venv"])  # at most the Python environment of the repository
    assert found["solutions"] is None and found["net"] == "ConnectionRefusedError"
    assert found["writable"] == ["/tmp/fine"]
    assert found["userns"] == -1  # no user namespace of its own
    assert found["as"] == 2**30 and found["nproc"] == 64



# ---------------------------------------------------------------- issue 15: slow, starve, exhaust
# Each of the red team's submissions answers every exercise with the reference: it must
# keep its full marks (nothing honest is marked down), cost the run a bounded time, and
# leave the classmates' grades exactly as they are.
def _bench_attacks():
    sys.path.insert(0, str(ROOT / "bench"))
    import attacks

    return attacks


@pytest.fixture(scope="module")
def heavy(tmp_path_factory, released):
    attacks = _bench_attacks()
    subs = tmp_path_factory.mktemp("heavy")
    out = tmp_path_factory.mktemp("heavy-out")
    course_dir = tmp_path_factory.mktemp("heavy-course") / "course"
    for ch in (attacks.CH04, attacks.CH07):
        write(subs, "honest", ch, synthetic.submission(ch, "reference"))
    chapters = {}
    for name, build in attacks.ATTACKS.items():
        nb = build()
        ch = attacks.CH07 if name == "huge_stand_in" else attacks.CH04
        chapters[name] = ch
        write(subs, name, ch, nb)
    started = time.monotonic()
    proc = cli("--course", course_dir, "grade", subs, "--out", out, "--cell-timeout", "10",
               "--notebook-timeout", "600", "--mem-limit", "1", "-q", check=False, timeout=1200)
    return {"proc": proc, "rows": rows_of(out) if (out / "grades.csv").exists() else {}, "out": out,
            "chapters": chapters, "seconds": time.monotonic() - started, "course": course_dir}


def test_heavy_attacks_keep_their_marks_and_the_class_goes_on(heavy):
    """Every attack still earns what its answers earn; the honest classmates are graded as usual."""
    assert heavy["proc"].returncode == 0, heavy["proc"].stderr[-3000:]
    rows = heavy["rows"]
    for ch in ("ch04", "ch07"):
        row = rows[("honest", ch)]
        assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]), row
    for name, ch in heavy["chapters"].items():
        row = rows[(name, ch.assignment)]
        assert float(row["score"]) == float(row["max_score"]), (name, row)


def test_heavy_attacks_cost_a_bounded_time(heavy):
    """No attack holds the run near the notebook's 600 s: a cell deaf to its interrupt is
    stopped 10 s after its 10 s timeout, the plan and the pages have budgets of their own."""
    assert heavy["seconds"] < 400, heavy["seconds"]
    deaf = heavy["rows"][("deaf_cell", "ch04")]
    assert deaf["status"] == "timed-out" and "did not stop when interrupted" in deaf["message"], deaf


def test_no_learner_process_can_start_a_child(heavy):
    """The children attack: no process could be started, so the sandbox's memory is one process's."""
    page = _feedback_of(heavy, "children")
    assert "children started: 0" in page and "PermissionError" in page
    assert "sandbox memory: one process per sandbox" in heavy["proc"].stdout


def _feedback_of(heavy, student) -> str:
    pages = list((heavy["out"] / "feedback").rglob("*.html")) + list((heavy["course"] / "feedback").rglob("*.html"))
    found = [p for p in pages if student in p.parts]
    assert found, pages[:5]
    return page_text(found[0].read_text())


SYSCALL_PROBE = textwrap.dedent('''
    import ctypes, errno, json, os, threading
    libc = ctypes.CDLL(None, use_errno=True)
    out = {"calls": {}}
    for name, nr in CALLS:
        ctypes.set_errno(0)
        r = libc.syscall(nr, 0, 0, 0, 0, 0, 0)
        out["calls"][name] = errno.errorcode.get(ctypes.get_errno(), r) if r == -1 else r
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        out["fork"] = "started"
    except OSError as exc:
        out["fork"] = errno.errorcode[exc.errno]
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    out["thread"] = "ran"
    out["seccomp"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")]
    out["proc"] = {name: open(f"/proc/{name}").read() for name in ("meminfo", "loadavg", "uptime", "stat", "cpuinfo")}
    out["proc_bus"] = os.listdir("/proc/bus")
    print(json.dumps(out))
''')
# x86_64 numbers of the calls container runtimes deny by default
DENIED_CALLS = [("ptrace", 101), ("mount", 165), ("umount2", 166), ("bpf", 321), ("perf_event_open", 298),
                ("keyctl", 250), ("add_key", 248), ("request_key", 249), ("userfaultfd", 323), ("kexec_load", 246),
                ("kexec_file_load", 320), ("init_module", 175), ("finit_module", 313), ("delete_module", 176),
                ("reboot", 169), ("swapon", 167), ("swapoff", 168), ("pivot_root", 155), ("unshare", 272),
                ("setns", 308), ("personality", 135), ("acct", 163), ("settimeofday", 164)]


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the probe uses x86_64 system-call numbers")
def test_the_sandbox_filters_system_calls_and_masks_proc(tmp_path):
    """Each call Docker's default profile denies fails with EPERM inside a learner's kernel,
    as does fork (threads still run); /proc says nothing of the host's memory, load or CPUs."""
    from jupyter_client import BlockingKernelClient

    from autograde.execution.sandbox import Limits, SandboxFactory

    printed: list = []
    sandbox = SandboxFactory(tmp_path, Limits(memory=2**30, processes=64)).start()
    kc = BlockingKernelClient()
    kc.load_connection_info(sandbox.connection_info)
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(SYSCALL_PROBE.replace("CALLS", repr(DENIED_CALLS)), timeout=60,
                                       output_hook=lambda m: printed.append(m))
    finally:
        kc.stop_channels()
        sandbox.kill()
    assert reply["content"]["status"] == "ok", reply["content"]
    found = json.loads("".join(m["content"].get("text", "") for m in printed if m["msg_type"] == "stream"))
    assert found["calls"] == {name: "EPERM" for name, _ in DENIED_CALLS}
    assert found["fork"] == "EPERM" and found["thread"] == "ran" and found["seccomp"] == ["2"]
    assert found["proc"] == {name: "" for name in found["proc"]} and found["proc_bus"] == []


def test_grading_stops_at_once_where_no_sandbox_can_start(released, tmp_path, monkeypatch):
    """No sandbox, no grading: one line saying what to enable, in seconds, nothing graded."""
    from autograde.execution import sandbox

    monkeypatch.setattr(sandbox.SandboxFactory, "_namespaces",
                        lambda self, uid: [self.bwrap, "--unshare-user", "--no-such-option"])
    problem = sandbox.preflight()
    assert problem and "cannot start" in problem and "user namespaces" in problem and "README" in problem
    assert "\n" not in problem
