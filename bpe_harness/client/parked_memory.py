"""Memory held in files rather than by processes: memfd and /dev/shm files a worker's tree has open or owns, and
everything in the tmpfs /tmp and /dev/shm of its own allowlisted view. Such a file costs RAM but appears in no
process's resident size, so the tree's memory figure (tree.py) adds it, each file once."""

from __future__ import annotations

import contextlib
import os
import stat
import sys

LINUX = sys.platform.startswith("linux")


SHARED_MEMORY_DIRS = ("/dev/shm",)  # tmpfs a worker can write to: a file there is memory, held by no process


def parked_memory(pids, uids: frozenset[int] | None) -> int:
    """Bytes held in memory-backed files: memfd and /dev/shm files open in one of `pids` (mapped or not), every
    regular file under /dev/shm owned by one of `uids`, and every file in the processes' own /tmp and /dev/shm where
    they live in a view of their own (tmpfs: memory, held by no process); each file once, by its allocated size."""
    files: dict[tuple[int, int], int] = {}
    for pid in pids if LINUX else ():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith(("/memfd:", *(d + "/" for d in SHARED_MEMORY_DIRS))):
                    st = os.stat(f"/proc/{pid}/fd/{fd}")
                    files[(st.st_dev, st.st_ino)] = st.st_blocks * 512
            except OSError:
                continue
    for top in SHARED_MEMORY_DIRS if uids else ():
        _add_files(files, top, lambda st: st.st_uid in uids)
    for top in _private_tmpfs(pids):  # the worker's own /tmp and /dev/shm in a view: all of it is its memory
        _add_files(files, top, lambda st: True)
    return sum(files.values())


PRIVATE_TMPFS_DIRS = ("tmp", "dev/shm")  # in an allowlisted view (view.py) these are size-limited tmpfs of its own


def _add_files(files: dict[tuple[int, int], int], top: str, charged) -> None:
    """Add every regular file below `top` for which `charged(stat)` holds, by its allocated size, links not followed."""
    for dirpath, _dirnames, filenames in os.walk(top):
        for name in filenames:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISREG(st.st_mode) and charged(st):
                    files[(st.st_dev, st.st_ino)] = st.st_blocks * 512


def _private_tmpfs(pids) -> list[str]:
    """The temporary folders the processes `pids` see in mount namespaces of their own that are not this machine's
    (another device at the same path), seen through /proc/PID/root: one process per namespace is enough."""
    if not LINUX:
        return []
    try:
        ours = os.readlink("/proc/self/ns/mnt")
    except OSError:
        return []
    namespaces: dict[str, int] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            namespaces.setdefault(os.readlink(f"/proc/{pid}/ns/mnt"), pid)
    namespaces.pop(ours, None)
    tops = []
    for pid in namespaces.values():
        for rel in PRIVATE_TMPFS_DIRS:
            top = f"/proc/{pid}/root/{rel}"
            with contextlib.suppress(OSError):
                if os.stat(top).st_dev != os.stat("/" + rel).st_dev:
                    tops.append(top)
    return tops
