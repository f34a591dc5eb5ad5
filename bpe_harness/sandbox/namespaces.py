"""The kernel calls the sandbox makes through libc (Linux): unshare, mount, prctl, and a forked child to try them in.

Why this exists: the tiers are probed by trying a namespace in a throwaway child, and the worker is confined by the
same calls between fork and exec; both need the same constants and the same way to enter an unprivileged user
namespace. Nothing here changes this process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
PR_SET_DUMPABLE = 4
MS_RDONLY, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 1, 4096, 8192, 0x4000, 1 << 18


def on_linux() -> bool:
    return sys.platform.startswith("linux")


def libc() -> Any:
    """The C library, with errno kept (ctypes.get_errno after a failed call)."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def check(result: int, what: str) -> None:
    """Raise OSError naming `what` when a libc call returned non-zero."""
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"sandbox: {what} failed: {os.strerror(errno)}")


def works_in_child(action: Callable[[], object]) -> bool:
    """Run `action()` in a forked child; True when it returned without raising. Nothing changes here."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            action()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def try_namespaces() -> None:
    """Root with CAP_SYS_ADMIN: new mount and network namespaces, mounts made private (raises where refused)."""
    c = libc()
    if c.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0 or c.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None):
        raise OSError(ctypes.get_errno(), "unshare")


def enter_user_namespace(c: Any, flags: int) -> None:
    """Unprivileged: a user namespace in which this process is still itself (same uid and gid, no other groups),
    owning new mount, network and IPC namespaces."""
    uid, gid = os.getuid(), os.getgid()
    c.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # an undumpable process cannot write its own maps (exec resets it anyway)
    if c.unshare(CLONE_NEWUSER | flags) != 0:
        raise OSError(ctypes.get_errno(), "sandbox: unshare(CLONE_NEWUSER) refused")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def try_user_namespaces() -> None:
    """Unprivileged: a user namespace with mount, network and IPC namespaces, and a tmpfs mounted in it."""
    c = libc()
    enter_user_namespace(c, CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC)
    if c.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount")
    if c.mount(b"tmpfs", tempfile.gettempdir().encode(), b"tmpfs", MS_RDONLY, b"size=4k") != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs")


def drop_to(uid: int, gid: int) -> None:
    """Become `uid` in group `gid` with no other groups (in a child, before exec)."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
