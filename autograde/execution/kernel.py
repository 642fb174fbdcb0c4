"""A Jupyter kernel manager whose kernel is a sandbox (``autograde.execution.sandbox``).

nbclient drives it like any other kernel; starting it adopts a sandbox that was started
ahead of time, interrupting it sends an ``interrupt_request`` message (no signal has to
reach into the sandbox), and every way of stopping it kills the whole sandbox.
"""
from __future__ import annotations

import asyncio
import signal
import time
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerBase
from traitlets import DottedObjectName, Type

from autograde.execution.sandbox import Sandbox

MAX_MESSAGE = 32 * 2**20  # bytes of one message from the kernel; a larger one drops the connection

SPEC = KernelSpec(argv=["(sandboxed)"], display_name="Python 3 (sandboxed)", language="python",
                  interrupt_mode="message")


class SandboxProvisioner(KernelProvisionerBase):
    """The provisioner of a kernel that runs in a sandbox started beforehand."""

    sandbox: Sandbox | None = None

    @property
    def has_process(self) -> bool:
        return self.sandbox is not None

    async def pre_launch(self, **kwargs):
        kwargs["cmd"] = list(SPEC.argv)
        return kwargs

    async def launch_kernel(self, cmd, **kwargs):
        self.sandbox = self.parent.sandbox
        return self.parent.get_connection_info()  # loaded from the sandbox before the start

    async def poll(self):
        return None if self.sandbox is not None and self.sandbox.alive() else -signal.SIGKILL

    async def wait(self):
        while await self.poll() is None:
            await asyncio.sleep(0.005)
        return -signal.SIGKILL

    async def send_signal(self, signum: int) -> None:
        if self.sandbox is not None and signum in (signal.SIGKILL, signal.SIGTERM):
            self.sandbox.kill()

    async def kill(self, restart: bool = False) -> None:
        if self.sandbox is not None:
            self.sandbox.kill()

    async def terminate(self, restart: bool = False) -> None:
        await self.kill()

    async def cleanup(self, restart: bool = False) -> None:
        await self.kill()

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return 0.0


class SandboxKernelClient(AsyncKernelClient):
    """jupyter_client's wait_for_ready ends by waiting for 0.2 s of silence on IOPub,
    which for a fresh kernel is idle time; this one drains IOPub without waiting."""

    async def wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else 60)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:  # IOPub is connected once the kernel's status messages arrive
                    await self.iopub_channel.get_msg(timeout=0.5)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(msg)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.005)
            except Empty:
                break


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager for one sandbox (set ``sandbox`` before starting it)."""

    client_class = DottedObjectName("autograde.execution.kernel.SandboxKernelClient")
    client_factory = Type(SandboxKernelClient, klass=AsyncKernelClient)
    sandbox: Sandbox | None = None

    @property
    def kernel_spec(self):
        return SPEC

    async def _async_pre_start_kernel(self, **kw):
        self.load_connection_info(self.sandbox.connection_info)
        self.connection_file = str(self.sandbox.sockdir / "kernel.json")
        # for every socket made from here on: no message larger than MAX_MESSAGE, and no send
        # that waits more than 2 s for a kernel that stopped reading (or is gone)
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        self.context.setsockopt(zmq.SNDTIMEO, 2000)
        self.context.setsockopt(zmq.LINGER, 0)
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or __import__("uuid").uuid4().hex
            self.provisioner = SandboxProvisioner(kernel_id=self.kernel_id, kernel_spec=SPEC, parent=self)
        return await super()._async_pre_start_kernel(**kw)
