"""Bounded steps: work done for one submission runs under a time and memory budget.

A :class:`BoundedPool` is a small pool of long-lived worker processes (pebble's
``ProcessPool``, started once per run and reused, so a step costs no process start):
each task has its own timeout, after which its process is killed and replaced, and
every process of the pool runs under an address-space limit. A step over its budget
raises :class:`OverBudget`, which the caller turns into a clear status for that one
submission; the pool goes on serving the others.

:class:`BoundedCaller` is the same for a stand-in: the reference answering a learner's
call runs in such a process, so a learner who asks the trusted side for a huge result
gets an error back, not minutes of the worker's time or gigabytes of its memory.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import resource
import threading


class OverBudget(Exception):
    """A step ran past its time or memory budget and was stopped."""


def _limit_memory(memory: int | None) -> None:
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


class BoundedPool:
    """``workers`` processes under ``memory`` bytes of address space each; ``run`` gives a
    task at most ``seconds``. Processes are started with ``forkserver`` (the coordinator
    and the dask workers have threads, which ``fork`` would copy half-way)."""

    def __init__(self, workers: int = 1, memory: int | None = 2**30, preload: tuple[str, ...] = ()):
        self.workers, self.memory, self.preload = workers, memory, preload
        self._pool = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._pool is None or not self._pool.active:
                import pebble

                ctx = multiprocessing.get_context("forkserver")
                if self.preload:
                    ctx.set_forkserver_preload(list(self.preload))
                self._pool = pebble.ProcessPool(max_workers=self.workers, initializer=_limit_memory,
                                                initargs=(self.memory,), context=ctx)
            return self._pool

    def submit(self, fn, *args, seconds: float):
        """A future of ``fn(*args)`` run in the pool, cancelled after ``seconds``."""
        return self._get().schedule(fn, args=args, timeout=seconds)

    def run(self, fn, *args, seconds: float, what: str = "this step"):
        """``fn(*args)`` in the pool; OverBudget if it takes longer than ``seconds`` or more
        memory than the pool's limit. Exceptions of ``fn`` are raised as they are."""
        future = self.submit(fn, *args, seconds=seconds)
        try:
            return future.result()
        except concurrent.futures.TimeoutError:
            raise OverBudget(f"{what} took longer than {seconds:g} s and was stopped") from None
        except MemoryError:
            raise OverBudget(f"{what} needed more than {(self.memory or 0) / 2**30:g} GiB of memory") from None
        except Exception as exc:
            if type(exc).__name__ == "ProcessExpired":  # killed (out of memory) or crashed
                raise OverBudget(f"{what} was stopped ({exc})") from None
            raise

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.stop()
                self._pool.join(timeout=5)
                self._pool = None


def stop_forkserver() -> None:
    """End this process's forkserver now and wait for it (it would end with this process,
    a moment later: nothing of a run may outlive it). The next pool starts a new one."""
    import contextlib
    import multiprocessing.forkserver as fs

    with contextlib.suppress(Exception):  # a private method of the standard library's, kept since 3.8
        fs._forkserver._stop()


class BoundedCaller:
    """Calls of the reference on behalf of the sandbox (stand-ins), each in a process of a
    one-process pool, under the time left to the exercise and a memory limit."""

    def __init__(self, memory: int | None = 2**30):
        self.pool = BoundedPool(1, memory, preload=("numpy",))
        self._current = None

    def call(self, fn, name: str, args, kwargs, seconds: float):
        """``fn(*args, **kwargs)`` in the pool, or a RuntimeError saying which budget it broke."""
        seconds = max(seconds, 0.01)
        future = self._current = self.pool.submit(_call, fn, args, kwargs, seconds=seconds)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise RuntimeError(f"the grader's {name} was stopped: the exercise's time is over") from None
        except concurrent.futures.TimeoutError:
            raise RuntimeError(f"the grader's {name} took longer than {seconds:g} s and was stopped") from None
        except MemoryError:
            raise RuntimeError(f"the grader's {name} needed more memory than it may use") from None
        except Exception as exc:
            if type(exc).__name__ == "ProcessExpired":
                raise RuntimeError(f"the grader's {name} was stopped ({exc})") from None
            raise
        finally:
            self._current = None

    def cancel(self) -> None:
        """Stop the call in progress, if any (its window has closed)."""
        future = self._current
        if future is not None:
            future.cancel()

    def close(self) -> None:
        self.pool.close()


def _call(fn, args, kwargs):
    return fn(*args, **kwargs)
