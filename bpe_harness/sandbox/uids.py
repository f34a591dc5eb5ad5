"""The sandbox's uids and the judges' shared parent folder: which block of uids one sandbox owns, and where every
judge of this user keeps its scratch.

Why this exists: two judges on one machine must never share a uid (one's sweep would kill the other's workers) nor
see each other's folders; a lock file per block and one parent folder per user keep them apart.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from bpe_harness.client.tree import process_uids, running_pids
from bpe_harness.sandbox.permissions import own_folder

SANDBOX_UID_BASE = 61000
UID_RANGE = range(SANDBOX_UID_BASE, 65000)  # every sandbox uid, in blocks
UIDS_PER_SANDBOX = 32  # uids in one sandbox's block, used round-robin by its workers
PROBE_UID = SANDBOX_UID_BASE + UIDS_PER_SANDBOX * 127  # the uid the tier probe tries the interpreter as


def block(first: int) -> range:
    """The uids of the block that starts at `first`."""
    return range(first, first + UIDS_PER_SANDBOX)


def _locks_folder() -> Path:
    folder = Path("/run/cs336-uid-blocks")  # root's: no other user can plant anything there
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700)
    if not own_folder(folder):
        folder = Path(tempfile.gettempdir()) / "cs336-uid-blocks"
        with contextlib.suppress(OSError):
            folder.mkdir(mode=0o700)
    if not own_folder(folder):
        raise RuntimeError(f"{folder} is not this user's folder: remove it and grade again")
    return folder


def reserve_uid_block() -> tuple[int, int]:
    """(first uid, lock) of a block of UIDS_PER_SANDBOX uids that no live process uses and no other sandbox holds,
    in this process or any other: each block has a lock file (flock, released when `lock` is closed or the holder
    dies), so two judges never share a block, and one's sweep never kills the other's workers."""
    import fcntl  # POSIX only: the uid tiers exist on Linux alone, and this module must import everywhere

    folder = _locks_folder()
    used = {uid for pid in running_pids() for uid in process_uids(pid) or ()}  # real and effective, from /proc status
    blocks = len(UID_RANGE) // UIDS_PER_SANDBOX
    first = (os.getpid() * 7919 + time.monotonic_ns()) % blocks
    for k in range(blocks):
        base = UID_RANGE.start + ((first + k) % blocks) * UIDS_PER_SANDBOX
        if used & set(block(base)):
            continue
        lock = os.open(folder / str(base), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            continue
        return base, lock
    raise RuntimeError("no free block of sandbox uids")


_JUDGES_BASE: Path | None = None


def judges_base() -> Path:
    """Where every judge of this user makes its scratch folder: one parent, so a worker in namespaces can be shown
    its own judge's folder and none of the others (Sandbox.scratch). Other users may pass through, not list. When
    the usual place is not this user's folder (someone planted a file or a link there), a fresh private one is used
    for this process instead: never someone else's, never a crash."""
    global _JUDGES_BASE
    if _JUDGES_BASE is not None and own_folder(_JUDGES_BASE):
        return _JUDGES_BASE
    base = Path(tempfile.gettempdir()) / f"cs336-judges-{os.getuid()}"
    with contextlib.suppress(OSError):
        base.mkdir(mode=0o711)
    if not own_folder(base):
        base = Path(tempfile.mkdtemp(prefix=f"cs336-judges-{os.getuid()}-"))
    os.chmod(base, 0o711)
    _JUDGES_BASE = base
    return base
