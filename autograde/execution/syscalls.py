"""The sandbox's system-call filter (seccomp, built with libseccomp through pyseccomp and
handed to bubblewrap as a compiled BPF program, ``bwrap --seccomp FD``).

Denied (the call fails with EPERM; nothing else changes for the learner's code):

- what container runtimes deny by default (Docker's default profile): tracing and
  inspecting other processes, mounting, kernel modules and keyrings, BPF and performance
  counters, userfaultfd, kexec, reboot, swap, namespaces (``unshare``, ``setns``),
  ``personality``, the clock, accounting, quotas and the like;
- starting processes: ``fork``, ``vfork``, and ``clone`` without ``CLONE_THREAD`` (threads
  are allowed); ``clone3`` answers ENOSYS, so the C library falls back to ``clone``, whose
  flags the filter can read. A sandbox is then one process, so its address-space limit
  (RLIMIT_AS) bounds the memory of the whole sandbox (``MEMORY_MECHANISM``). Learners can
  therefore not start programs (``!ls``, ``subprocess``): the course needs none.
"""
from __future__ import annotations

import errno
import os
import tempfile

DENIED = (
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
    "finit_module", "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp",
    "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr",
    "move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "perf_event_open", "personality", "pivot_root",
    "process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl", "reboot",
    "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon", "sysfs",
    "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
    "chroot", "syslog", "io_uring_setup", "io_uring_enter", "io_uring_register",
)
"""system calls no learner's code may make (Docker's default profile denies these)"""
PROCESSES = ("fork", "vfork")
CLONE_THREAD = 0x00010000
MEMORY_MECHANISM = "one process per sandbox (seccomp denies fork), bounded by its address-space limit"


def build(deny_processes: bool = True):
    """The filter as a pyseccomp SyscallFilter (allow by default, deny the list)."""
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    for name in DENIED + (PROCESSES if deny_processes else ()):
        try:
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):  # a call this architecture does not have
            continue
    if deny_processes:
        f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    return f


def bpf_file(folder: str, deny_processes: bool = True) -> str:
    """The compiled filter, written once to a file in ``folder``; bwrap reads it from a
    descriptor of its own each time (``open_fd``)."""
    path = os.path.join(folder, f"seccomp-{int(deny_processes)}.bpf")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "wb") as out:
            build(deny_processes).export_bpf(out)
        os.replace(tmp, path)
    return path


def unavailable() -> str | None:
    """Why the filter cannot be built here (pyseccomp or libseccomp2 missing), or None."""
    try:
        build()
    except Exception as exc:  # noqa: BLE001 - ImportError, or the C library not found
        return (f"the sandbox's system-call filter needs libseccomp2 (Debian: apt-get install libseccomp2) "
                f"and pyseccomp ({type(exc).__name__}: {exc})")
    return None
