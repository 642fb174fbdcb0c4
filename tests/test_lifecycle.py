"""No process outlives grading and no temporary folder is left: after a normal run (see
test_security), after an error, after Ctrl-C and after ``kill -9`` of the coordinator.
A worker that dies costs no notebook more than its own points, and the local cluster
talks to nobody without its certificate."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from autograde import course
from autograde.authoring import synthetic
from helpers import alive, descendants, exercises, parents, rows_of, write

pytestmark = pytest.mark.slow

CH04 = course.by_assignment("ch04")
FULL = sum(exercises(CH04).values())
SLOW_CELL = "import time\ntime.sleep(4)"  # every notebook takes a while: the run is caught mid-way


def run_folders(pid: int) -> list[pathlib.Path]:
    return list(pathlib.Path(tempfile.gettempdir()).glob(f"autograde-run-{pid}-*"))


def a_class(folder: pathlib.Path, n: int = 6, slow: bool = True):
    for i in range(n):
        nb = synthetic.submission(CH04, "reference" if i % 2 == 0 else "untouched")
        if slow:
            cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax")
            cell.source += "\n" + SLOW_CELL
        write(folder, f"s{i}", CH04, nb)
    # a learner-started daemon, which must die with its sandbox
    nb = synthetic.submission(CH04, "untouched")
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax")
    cell.source += "\nimport subprocess\nsubprocess.Popen(['sleep', '4245'], start_new_session=True)\n" + SLOW_CELL
    write(folder, "daemon", CH04, nb)


def _interruptible():
    # as from a terminal: a test run started in the background (`make test &`, nohup)
    # hands its children SIGINT ignored, and Python then never raises KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(course_dir, subs, out, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograde", "--course", str(course_dir), "-q", "grade", str(subs),
                             "--out", str(out), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interruptible)


def wait_for_sandboxes(proc: subprocess.Popen, timeout: float = 120) -> set[int]:
    """The coordinator's descendants once its workers run learners' kernels."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs = descendants(proc.pid)
        cmds = []
        for pid in procs:
            try:
                cmds.append(pathlib.Path(f"/proc/{pid}/cmdline").read_bytes())
            except OSError:
                pass
        # a learner's kernel (the learner's daemon, sleep 4245, never starts: the sandbox's
        # filter denies fork); not the preflight's bwrap, whose arguments name the harness too
        if any(c.split(b"\0")[0].rsplit(b"/", 1)[-1].startswith(b"python") and b"harness.py" in c for c in cmds):
            return procs
        time.sleep(0.2)
    raise AssertionError("no sandbox started")


def assert_nothing_left(pids, coordinator: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (alive(pids) or run_folders(coordinator)):
        time.sleep(0.2)
    assert alive(pids) == [], [pathlib.Path(f"/proc/{p}/cmdline").read_bytes()[:80] for p in alive(pids)]
    assert run_folders(coordinator) == []
    assert not [p for p in parents() if b"4245" in _cmdline(p)]


def _cmdline(pid: int) -> bytes:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_kill_9_of_the_coordinator_leaves_nothing(released, tmp_path):
    a_class(tmp_path / "subs")
    proc = start(tmp_path / "course", tmp_path / "subs", tmp_path / "out")
    pids = wait_for_sandboxes(proc)
    os.kill(proc.pid, signal.SIGKILL)  # the coordinator alone; its workers and sandboxes must follow
    proc.wait()
    assert_nothing_left(pids | descendants(proc.pid), proc.pid)


def test_ctrl_c_leaves_nothing(released, tmp_path):
    a_class(tmp_path / "subs")
    proc = start(tmp_path / "course", tmp_path / "subs", tmp_path / "out")
    pids = wait_for_sandboxes(proc)
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert_nothing_left(pids, proc.pid)


def test_an_error_mid_run_leaves_nothing(released, tmp_path):
    """A gradebook that cannot be reached: the run stops with a message, and its cluster
    (started first thing) stops with it."""
    a_class(tmp_path / "subs", n=1, slow=False)
    proc = start(tmp_path / "course", tmp_path / "subs", tmp_path / "out", "--db-url",
                 "postgresql://nobody@127.0.0.1:9/nothing")
    seen: set[int] = set()
    while proc.poll() is None:
        seen |= descendants(proc.pid)
        time.sleep(0.1)
    assert proc.returncode != 0
    assert seen, "the cluster was never started"
    assert_nothing_left(seen, proc.pid)


def test_a_lost_worker_costs_no_unearned_point(released, tmp_path):
    """A grading worker killed mid-run: its notebook is graded again elsewhere or scores 0."""
    a_class(tmp_path / "subs", n=6)
    proc = start(tmp_path / "course", tmp_path / "subs", tmp_path / "out", "--workers", "2")
    pids = wait_for_sandboxes(proc)
    workers = [p for p in pids if b"multiprocessing" in _cmdline(p) and b"resource_tracker" not in _cmdline(p)]
    busy = [w for w in workers if any(b"bwrap" in _cmdline(c) for c in descendants(w))]
    assert busy, "no worker was running a notebook"
    os.kill(busy[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    rows = rows_of(tmp_path / "out")
    assert len(rows) == 7
    for (student, _), row in rows.items():
        honest = FULL if student in ("s0", "s2", "s4") else 0.0
        assert float(row["score"]) in (honest, 0.0), row
        assert float(row["score"]) == honest or row["status"] == "crashed", row


def test_a_worker_keeps_no_descriptor_per_notebook(released, tmp_path):
    """One worker grades 30 notebooks: its open file descriptors stay flat. (Each
    notebook's zmq context used to stay open, 14 descriptors a notebook, until select()
    failed past descriptor 1024 and every later notebook of that worker crashed.)"""
    a_class(tmp_path / "subs", n=30, slow=False)
    proc = start(tmp_path / "course", tmp_path / "subs", tmp_path / "out", "--workers", "1")
    counts = []
    while proc.poll() is None:
        for pid in descendants(proc.pid):
            cmd = _cmdline(pid)
            if b"multiprocessing" in cmd and b"resource_tracker" not in cmd:
                try:
                    counts.append(len(os.listdir(f"/proc/{pid}/fd")))
                except OSError:
                    pass
        time.sleep(0.2)
    assert proc.returncode == 0, proc.stderr.read()[-3000:]
    assert {r["status"] for r in rows_of(tmp_path / "out").values()} == {"graded"}
    assert len(counts) > 20, "the worker was hardly seen"
    # a few sandboxes at a time hold descriptors; a leak of 14 a notebook would pass 400
    assert max(counts) < 150, (max(counts), counts[::10])


def _talk(port: int, tls: bool, wait: float = 5) -> bytes:
    """Connect to the scheduler (plain, or TLS without a client certificate), say
    something, and return what comes back: b"" once it hangs up (or refuses the TLS
    handshake). A peer that neither answers nor hangs up within ``wait`` seconds fails
    the test: silence proves nothing."""
    import socket
    import ssl

    raw = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        sock = raw
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            try:
                sock = ctx.wrap_socket(raw)
            except ssl.SSLError:
                return b""  # the handshake refused: it talks to no one without the run's certificate
        sock.sendall(b"\x00" * 64)
        return sock.recv(64)
    except TimeoutError:
        raise AssertionError(f"port {port} neither answered nor hung up in {wait} s") from None
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return b""  # hung up
    finally:
        raw.close()


def test_talk_fails_on_silence():
    """The probe above cannot pass on a peer that just holds the line."""
    import socket

    with socket.socket() as quiet:
        quiet.bind(("127.0.0.1", 0))
        quiet.listen()
        with pytest.raises(AssertionError, match="neither answered nor hung up"):
            _talk(quiet.getsockname()[1], tls=False, wait=0.5)
        with pytest.raises(AssertionError, match="neither answered nor hung up"):
            _talk(quiet.getsockname()[1], tls=True, wait=0.5)


def test_the_local_cluster_talks_only_to_its_own():
    from autograde.execution.cluster import start_cluster, stop

    client, cluster = start_cluster(1, None)
    try:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        port = int(address.rsplit(":", 1)[1])
        assert _talk(port, tls=False) == b""  # no TLS: nothing
        assert _talk(port, tls=True) == b""  # TLS without the run's certificate: nothing
        assert client.submit(sum, [1, 2]).result() == 3  # and its own client still works
    finally:
        stop(client, cluster)


def test_processes_naming_the_run_folder_are_killed_at_its_end(tmp_path):
    """A sandbox whose worker died abruptly is reparented to init; the run's end (or its
    guard, when the coordinator was killed) kills every process that names the run folder,
    and nothing else."""
    from autograde.execution.guard import kill_left_over

    folder = tmp_path / "autograde-run-1-x"
    folder.mkdir()
    code = "import time; time.sleep(120)"
    ours = subprocess.Popen([sys.executable, "-c", code, str(folder / "sandbox-files" / "empty-file")])
    other = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "autograde-run-1-xy" / "f")])
    try:
        time.sleep(0.3)
        assert kill_left_over(str(folder)) == [ours.pid]
        assert ours.wait(timeout=10) == -9 and other.poll() is None
    finally:
        for p in (ours, other):
            p.kill()
            p.wait()
