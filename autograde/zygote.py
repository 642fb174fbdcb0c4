"""Fresh kernels without the start-up cost: a pre-warmed process that forks them.

Starting an IPython kernel costs about a second here, almost all of it importing
(ipykernel, IPython, zmq, tornado, numpy, matplotlib). The zygote is a small server
process that does those imports once, never runs any learner code, and then forks one
child per notebook; the child turns itself into an ordinary IPython kernel on the
connection file it is given. Every learner still gets a fresh process of their own
(copy-on-write pages of an interpreter that never ran anybody's code), so nothing is
shared between learners, but the kernel is ready in a few tens of milliseconds.

:class:`ForkKernelManager` is a jupyter_client kernel manager that asks the zygote for
its kernel, so nbclient, nbconvert and nbgrader's ``Execute`` preprocessor run
notebooks on forked kernels exactly as they would on spawned ones.

The child also applies the per-kernel limits: an address-space limit (a memory bomb
ends in MemoryError or a dead kernel, not a dead machine) and a cap on the output a
single cell may print (a flood of output never reaches the grader).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type

WARM_MODULES = [
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.iostream",
    "IPython", "IPython.core.interactiveshell", "jupyter_client.session", "zmq", "tornado.ioloop",
    "numpy", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
    "matplotlib.patches", "nbformat", "ipykernel.debugger",
]


# ---------------------------------------------------------------- the zygote process
def _install_output_cap(app, max_bytes: int) -> None:
    """Stop a cell's stream output after ``max_bytes`` and say so once."""
    state = {"n": 0, "noted": False}

    def reset(*_):
        state["n"], state["noted"] = 0, False

    app.shell.events.register("pre_run_cell", reset)
    for stream in (sys.stdout, sys.stderr):
        write = stream.write

        def capped(text, _write=write):
            if state["n"] >= max_bytes:
                if not state["noted"]:
                    state["noted"] = True
                    _write(f"\n[output truncated by the grader after {max_bytes} bytes]\n")
                return len(text)
            state["n"] += len(text)
            return _write(text)

        stream.write = capped


def _child(req: dict) -> None:
    """Become the kernel for one notebook. Never returns."""
    try:
        os.setsid()  # own process group: signals and kills reach only this kernel and its children
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        if req.get("cwd"):
            os.chdir(req["cwd"])
        mem = req.get("mem_limit")
        if mem:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", req["connection_file"], "--HistoryManager.hist_file=:memory:",
                        "--IPKernelApp.quiet=True"])
        if "matplotlib_inline.backend_inline" in sys.modules:
            # imported by the zygote before there was a shell: hook the inline backend up
            # now, as importing it inside a kernel would have done
            sys.modules["matplotlib_inline.backend_inline"]._enable_matplotlib_integration()
            if not req.get("figures", True):
                # figures are drawn but not rasterized: plt.show() displays "<Figure ...>"
                # instead of a PNG. Rendering is most of a figure's cost and no grade
                # depends on the picture.
                from IPython.core.pylabtools import select_figure_formats

                select_figure_formats(app.shell, set())
        if req.get("max_output_bytes"):
            _install_output_cap(app, int(req["max_output_bytes"]))
        app.start()
    finally:
        os._exit(0)


def _warm() -> None:
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    import gc
    import importlib

    for name in WARM_MODULES + [m for m in os.environ.get("AUTOGRADE_WARM", "").split(",") if m]:
        try:
            importlib.import_module(name)
        except Exception:  # a module that is not installed is just not warmed
            pass
    gc.collect()
    gc.freeze()  # the children's garbage collector leaves the zygote's objects (and their pages) alone
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically


def serve() -> None:
    """The zygote's loop for the worker that started it: one JSON request per line on
    stdin, one JSON reply per line on stdout."""
    _warm()
    out = sys.stdout
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(req)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


def serve_socket(path: str) -> None:
    """A zygote shared by the workers of one machine, on a Unix socket: the grader starts
    it first thing, so its imports overlap with starting the workers. Each connection
    is one worker; the protocol is the same JSON lines."""
    import selectors
    import socket

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)  # at once: workers connect and wait for "ready" while the imports run
    server.listen(64)
    _warm()
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    buffers: dict = {}
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if sock is server:
                conn, _ = server.accept()
                conn.sendall((json.dumps({"ready": os.getpid()}) + "\n").encode())
                buffers[conn] = b""
                sel.register(conn, selectors.EVENT_READ)
                continue
            data = sock.recv(65536)
            if not data:
                sel.unregister(sock)
                sock.close()
                buffers.pop(sock, None)
                continue
            buffers[sock] += data
            while b"\n" in buffers[sock]:
                line, buffers[sock] = buffers[sock].split(b"\n", 1)
                req = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    server.close()
                    for other in list(buffers):
                        other.close()
                    _child(req)
                sock.sendall((json.dumps({"pid": pid}) + "\n").encode())


# ---------------------------------------------------------------- the client side
class Zygote:
    """A running zygote process (one per grading worker)."""

    _lock = threading.Lock()
    _instance: "Zygote | None" = None

    def __init__(self):
        shared = os.environ.get("AUTOGRADE_ZYGOTE")
        if shared:
            import socket

            deadline = time.monotonic() + 60
            while not os.path.exists(shared) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.proc = None
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.connect(shared)
            self._rfile = self._sock.makefile("r")
            self._wfile = self._sock.makefile("w")
            self.ready = False
            return
        env = dict(os.environ)
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's import-time warning
        self.proc = subprocess.Popen([sys.executable, "-m", "autograde.zygote"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        self._rfile, self._wfile = self.proc.stdout, self.proc.stdin
        self.ready = False  # its imports run while the caller does other things

    def alive(self) -> bool:
        return self.proc.poll() is None if self.proc is not None else self._sock.fileno() >= 0

    @staticmethod
    def start_shared(path: str) -> subprocess.Popen:
        """Start a zygote that the workers of this machine share (see serve_socket)."""
        env = dict(os.environ)
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        return subprocess.Popen([sys.executable, "-m", "autograde.zygote", "--socket", path], env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def _wait_ready(self) -> None:
        if not self.ready:
            hello = json.loads(self._rfile.readline() or "{}")
            if "ready" not in hello:
                raise RuntimeError("the kernel zygote did not start")
            self.ready = True

    @classmethod
    def get(cls) -> "Zygote":
        """This process's zygote, started if need be (not waiting for it to be ready)."""
        with cls._lock:
            if cls._instance is None or not cls._instance.alive():
                cls._instance = Zygote()
            return cls._instance

    def spawn(self, connection_file: str, cwd: str | None, mem_limit: int | None, max_output_bytes: int | None,
              figures: bool = True) -> int:
        with self._lock:
            self._wait_ready()
            self._wfile.write(json.dumps({"connection_file": connection_file, "cwd": cwd, "mem_limit": mem_limit,
                                          "max_output_bytes": max_output_bytes, "figures": figures}) + "\n")
            self._wfile.flush()
            return json.loads(self._rfile.readline())["pid"]

    def close(self) -> None:
        if self.proc is None:
            self._sock.close()
        elif self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


class ForkedProcess:
    """The parts of subprocess.Popen that jupyter_client uses, for a kernel forked by
    the zygote (which reaps it, so the exit status is not known: a dead kernel is -1)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                with open(f"/proc/{self.pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
                if state in ("Z", "X"):
                    self.returncode = -1
            except (FileNotFoundError, ProcessLookupError, IndexError):
                self.returncode = -1
        return self.returncode

    def wait(self, timeout=None):
        import time

        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    async def launch_kernel(self, cmd, **kwargs):
        km = self.parent
        pid = Zygote.get().spawn(km.connection_file, kwargs.get("cwd"), getattr(km, "mem_limit", None),
                                 getattr(km, "max_output_bytes", None), getattr(km, "figures", True))
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid
        self.cwd = kwargs.get("cwd")
        await self._until_listening(km)
        return self.connection_info

    async def wait(self):
        """LocalProvisioner polls every 100 ms; a killed fork is gone in a few."""
        import asyncio

        while self.process is not None and self.process.poll() is None:
            await asyncio.sleep(0.003)
        ret = self.process.returncode if self.process is not None else 0
        self.process = None
        return ret

    async def _until_listening(self, km, timeout: float = 30.0) -> None:
        """Return once the kernel accepts connections on all its ports. A client that
        connects earlier is refused and ZMQ retries only every 100 ms or more, which
        would cost more than starting the kernel did."""
        import asyncio
        import socket

        if km.transport != "tcp":
            return
        ports = [km.shell_port, km.iopub_port, km.stdin_port, km.control_port, km.hb_port]
        deadline = time.monotonic() + timeout
        while ports and time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection((km.ip, ports[0]), timeout=0.05).close()
                ports.pop(0)
            except OSError:
                await asyncio.sleep(0.002)


class ForkKernelClient(AsyncKernelClient):
    """jupyter_client's wait_for_ready ends by waiting for 0.2 s of silence on IOPub;
    for a fresh kernel that is pure idle time. This one drains IOPub without waiting."""

    async def wait_for_ready(self, timeout=None):
        abs_timeout = time.time() + (timeout if timeout is not None else 60)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:  # IOPub is connected once the kernel's status messages arrive
                        await self.iopub_channel.get_msg(timeout=0.02)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > abs_timeout:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.005)
            except Empty:
                break


class ForkKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels are forked from the zygote."""

    client_class = DottedObjectName("autograde.zygote.ForkKernelClient")
    client_factory = Type(ForkKernelClient, klass=AsyncKernelClient)
    mem_limit: int | None = None
    max_output_bytes: int | None = None
    figures: bool = True

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or __import__("uuid").uuid4().hex
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


def limited_manager(mem_limit: int | None, max_output_bytes: int | None, figures: bool = True) -> type:
    """A ForkKernelManager class with these per-kernel limits."""
    return type("LimitedForkKernelManager", (ForkKernelManager,),
                {"mem_limit": mem_limit, "max_output_bytes": max_output_bytes, "figures": figures})


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--socket":
        serve_socket(sys.argv[2])
    else:
        serve()
