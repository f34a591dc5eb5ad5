"""What a sandbox's uids leave behind, found and removed: their processes, their files in the shared temporary
folders, their POSIX message queues and System V IPC objects.

Why this exists: in the uid tiers everything a worker's uid owns is the worker's, wherever it went; all of it must go
before the block of uids is handed to the next judge, or the next submission finds it. In an allowlisted view the
PID and IPC namespaces take most of it away; this catches the rest, and everything in the root tier.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import stat
import tempfile
from collections.abc import Collection
from pathlib import Path

from bpe_harness.client.tree import Reading, kill_until_none_left, process_uids, read, running_pids
from bpe_harness.sandbox.namespaces import CLONE_NEWNS, MS_PRIVATE, MS_REC, drop_to, libc, on_linux, works_in_child

TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")  # where any uid can leave files behind
MQUEUE = "/dev/mqueue"  # where the POSIX message queue file system is usually mounted
IPC_ID = {"shm": "shmid", "msg": "msqid", "sem": "semid"}  # the id column of /proc/sysvipc/<kind>


# --- processes -----------------------------------------------------------------------------------------------------


def processes(uids: Collection[int]) -> list[Reading]:
    """Live processes running as one of `uids` (real or effective). Zombies are not live: already dead, they hold
    nothing and cannot be killed, only reaped by their parent."""
    found = []
    for pid in running_pids():
        ids = process_uids(pid)
        if ids is not None and (ids[0] in uids or ids[1] in uids):
            r = read(pid)
            if r is not None and r.state != "Z":
                found.append(r)
    return found


def descends(process: Reading, ancestors: set[int]) -> bool:
    """Whether one of `ancestors` is above `process` (through bwrap's processes, which are not the sandbox uid's)."""
    at, hops = read(process.ppid), 0
    while at is not None and hops < 16:
        if at.pid in ancestors:
            return True
        at, hops = (read(at.ppid) if at.ppid > 0 else None), hops + 1
    return False


def kill_orphans(uids: Collection[int], parents: set[int]) -> int:
    """Kill the processes of `uids` whose parent is neither one of theirs nor in `parents` (the process that started
    the workers): daemons and orphaned grandchildren, which no process tree reaches any more and which would keep
    the worker's pipes open. How many were killed."""
    procs = processes(uids)
    ours = {p.pid for p in procs} | set(parents)
    orphans = [p for p in procs if p.ppid not in ours and not descends(p, set(parents))]
    return kill_until_none_left(lambda: orphans, rounds=1)


def kill_leftovers(uids: Collection[int]) -> int:
    """Kill every process of `uids` (a grandchild left running, a fork bomb), until none is left; how many."""
    return kill_until_none_left(lambda: processes(uids), pause=0.05, settle=1.0)


# --- files in the shared temporary folders ---------------------------------------------------------------------


def sweep_temp(uids: Collection[int]) -> list[str]:
    """Remove what `uids` left in the shared temporary folders (a later judge must not find it), and their POSIX
    message queues. A symbolic link is removed itself, never followed (one to a folder too)."""
    removed = []
    for top in TEMP_DIRS:
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.count(os.sep) - top.count(os.sep) >= 3:
                dirnames[:] = []
            for name in [*dirnames, *filenames]:
                path = os.path.join(dirpath, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if info.st_uid in uids:
                    removed.append(path)
                    if name in dirnames:
                        dirnames.remove(name)
                    if stat.S_ISDIR(info.st_mode):
                        shutil.rmtree(path, ignore_errors=True)
                    else:  # a file, or a link (to a folder too: os.walk lists those among the folders)
                        with contextlib.suppress(OSError):
                            os.unlink(path)
    removed += sweep_message_queues(uids)
    return removed


# --- POSIX message queues --------------------------------------------------------------------------------------


def _mounted_mqueue() -> str | None:
    """Where this mount namespace shows the POSIX message queues, if anywhere."""
    with contextlib.suppress(OSError):
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 2 and fields[2] == "mqueue":
                    return fields[1]
    return None


def _unlink_owned(folder: str, uids: Collection[int]) -> list[str]:
    removed = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            if os.lstat(path).st_uid in uids:
                os.unlink(path)
                removed.append(f"mqueue:/{name}")
    return removed


def sweep_message_queues(uids: Collection[int]) -> list[str]:
    """Remove the POSIX message queues (mq_open) of `uids`: like System V IPC they outlive every process. Listed
    where the mqueue file system is mounted, else through a private mount of it in a forked child (root with
    CAP_SYS_ADMIN); elsewhere they cannot be listed (the workers' RLIMIT_MSGQUEUE of 0 keeps them from making any)."""
    if not on_linux():
        return []
    mounted = _mounted_mqueue()
    if mounted is not None:
        return _unlink_owned(mounted, uids)
    if os.geteuid() != 0:
        return []
    folder = tempfile.mkdtemp(prefix="cs336-mqueue-")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            c = libc()
            if c.unshare(CLONE_NEWNS) == 0 and c.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0:
                if c.mount(b"mqueue", folder.encode(), b"mqueue", 0, None) == 0:
                    os.write(write_end, "\n".join(_unlink_owned(folder, uids)).encode())
                    code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        text = f.read().decode()
    os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        os.rmdir(folder)
    return text.split("\n") if text else []


# --- System V IPC ----------------------------------------------------------------------------------------------


def _remove_ipc(uid: int, gid: int, objects: list[tuple[str, int]]) -> None:
    """In a forked child: become `uid` and remove its System V IPC `objects` ((kind, id) pairs)."""
    c, ipc_rmid = libc(), 0
    drop_to(uid, gid)
    for kind, ident in objects:
        if kind == "sem":
            c.semctl(ident, 0, ipc_rmid)
        else:
            (c.shmctl if kind == "shm" else c.msgctl)(ident, ipc_rmid, None)


def sweep_ipc(uids: Collection[int], gid: int) -> int:
    """Remove the System V shared memory, message queues and semaphores `uids` left: they outlive every process (the
    root tier has no IPC namespace to take them away). Removed as their owner (a forked child switches to that uid:
    root without CAP_SYS_ADMIN may not remove another uid's objects). How many were found."""
    if not on_linux():
        return 0
    found: dict[int, list[tuple[str, int]]] = {}
    for kind, column in IPC_ID.items():
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        header = lines[0].split() if lines else []
        for line in lines[1:]:
            row = dict(zip(header, line.split(), strict=False))
            if int(row.get("uid", -1)) in uids:
                found.setdefault(int(row["uid"]), []).append((kind, int(row[column])))
    for uid, objects in found.items():
        works_in_child(functools.partial(_remove_ipc, uid, gid, objects))
    return sum(map(len, found.values()))
