"""Beyond one machine: grading through a real dask scheduler and two workers started as
separate processes on loopback, and into a real PostgreSQL gradebook."""
from __future__ import annotations

import glob
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import nbformat
import pytest

import helpers
from autograde import course
from autograde.authoring import synthetic

pytestmark = pytest.mark.slow  # a dask cluster and a PostgreSQL server: `make test` only

CH04 = next(c for c in course.chapters() if c.number == 4)
BIN = pathlib.Path(sys.executable).parent
FULL = 8.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_class(folder: pathlib.Path) -> dict[str, float]:
    expected = {}
    kinds = [("reference", FULL), ("untouched", 0.0), ({"rnn_cell_forward": "waa_transposed"}, FULL - 3),
             ({"softmax": "softmax_overflow"}, FULL - 2)]
    for i in range(8):
        answers, score = kinds[i % 4]
        path = folder / f"learner{i}" / CH04.path.name
        path.parent.mkdir(parents=True)
        nbformat.write(synthetic.submission(CH04, answers), path)
        expected[f"learner{i}"] = score
    return expected


def grade(course_dir, subs, out, *extra):
    rows, _ = helpers.grade(course_dir, subs, out, *extra)
    return {student: r for (student, _), r in rows.items()}


@pytest.fixture
def dask_cluster(tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    for i in range(2):
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny",
                                       "--no-dashboard", "--memory-limit", "0", "--name", f"w{i}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
    from dask.distributed import Client

    deadline = time.monotonic() + 120
    client = None
    while time.monotonic() < deadline:
        try:
            client = client or Client(address, timeout=5)
            if len(client.scheduler_info()["workers"]) == 2:
                break
        except OSError:
            pass
        time.sleep(0.5)
    assert client is not None and len(client.scheduler_info()["workers"]) == 2, "the cluster did not come up"
    client.close()
    yield address, [p.pid for p in procs[1:]]
    for p in procs[::-1]:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_grading_on_an_existing_dask_cluster(dask_cluster, tmp_path):
    address, worker_pids = dask_cluster
    subs = tmp_path / "subs"
    expected = make_class(subs)
    rows = grade(tmp_path / "course", subs, tmp_path / "out", "--scheduler", address)
    assert {s: float(r["score"]) for s, r in rows.items()} == expected
    assert all(r["status"] == "graded" for r in rows.values())
    journal = [json.loads(line) for line in (tmp_path / "course" / "autograde-journal.jsonl").read_text().splitlines()]
    used = {int(e["worker"].rsplit(":", 1)[1]) for e in journal if e.get("worker")}
    assert used <= set(worker_pids) and len(used) == 2, (used, worker_pids)  # both remote workers graded
    assert os.getpid() not in used


# ---------------------------------------------------------------- PostgreSQL
@pytest.fixture
def postgres(tmp_path):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "Debian's postgresql is needed (.ci/run installs it)"
    bindir = pathlib.Path(found[-1]).parent
    data = tmp_path / "pgdata"
    sock = tmp_path / "pgsock"
    data.mkdir()
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as Debian's postgres user
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
        os.chmod(tmp_path, 0o755)
        for parent in tmp_path.parents:
            if parent == pathlib.Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o005)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(as_user + [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(sock / "log"), "-o",
                              f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        import psycopg

        conn = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True)
        conn.cursor().execute("CREATE DATABASE gradebook")
        conn.close()
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook", port
    finally:
        subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)


def test_postgresql_gradebook(postgres, tmp_path):
    url, port = postgres
    subs = tmp_path / "subs"
    expected = make_class(subs)
    rows = grade(tmp_path / "course", subs, tmp_path / "out", "--db-url", url, "--workers", "2")
    assert {s: float(r["score"]) for s, r in rows.items()} == expected
    import psycopg

    conn = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="gradebook")
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM submitted_assignment")
    assert cur.fetchone()[0] == 8
    cur.execute("SELECT s.student_id, sum(coalesce(g.manual_score, g.auto_score)) FROM grade g "
                "JOIN submitted_notebook n ON g.notebook_id = n.id JOIN submitted_assignment s ON n.assignment_id = s.id "
                "GROUP BY s.student_id")
    assert {student: float(score) for student, score in cur.fetchall()} == expected
    conn.close()
    # the URL is kept in the course's config: plain nbgrader uses the same gradebook
    assert url in (tmp_path / "course" / "nbgrader_config.py").read_text()
