"""A Jupyter kernel manager whose kernel is a sandbox (``autograde.execution.sandbox``).

nbclient drives it like any other kernel; starting it adopts a sandbox that was started
ahead of time, interrupting it sends an ``interrupt_request`` message (no signal has to
reach into the sandbox), and every way of stopping it kills the whole sandbox.
"""
from __future__ import annotations

import asyncio
import signal

import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerBase

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


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager for one sandbox (set ``sandbox`` before starting it)."""

    sandbox: Sandbox | None = None

    @property
    def kernel_spec(self):
        return SPEC

    async def _async_pre_start_kernel(self, **kw):
        self.load_connection_info(self.sandbox.connection_info)
        self.connection_file = str(self.sandbox.sockdir / "kernel.json")
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)  # for every socket made from here on
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or __import__("uuid").uuid4().hex
            self.provisioner = SandboxProvisioner(kernel_id=self.kernel_id, kernel_spec=SPEC, parent=self)
        return await super()._async_pre_start_kernel(**kw)
