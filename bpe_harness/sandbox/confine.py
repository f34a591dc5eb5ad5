"""The worker's confinement, applied in the forked child between fork and exec: namespaces, covered paths, rlimits,
then the drop to the sandbox uid.

Why this exists: limits set before Python starts hold for everything the worker will ever run, and a failure here
fails the start (Popen raises), so the worker never runs less confined than its tier says.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bpe_harness.sandbox.namespaces import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    MS_BIND,
    MS_MOVE,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    check,
    drop_to,
    enter_user_namespace,
)

if TYPE_CHECKING:
    from bpe_harness.sandbox.sandbox import Sandbox


def hidden_pairs(hidden: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(folder, child) for each child revealed in a folder that hides it, in a fixed order (its holder's number)."""
    return [(d, c) for d in sorted(hidden) for c in sorted(hidden[d])]


def in_child(box: Sandbox, uid: int | None) -> None:
    """Runs in the forked child before exec: namespaces, limits, then drop to the sandbox user. Any failure
    raises, so Popen fails and the worker never runs less confined than its tier says."""
    try:
        confine(box, uid)
    except BaseException as e:
        os.write(2, f"sandbox: the worker could not be confined: {e!r}\n".encode())
        raise


def _enter_namespaces(box: Sandbox) -> None:
    """The kit's own mount, IPC (and network) namespaces, the interpreter revealed, secret paths covered."""
    assert box.tier is not None
    flags = CLONE_NEWNS | CLONE_NEWIPC | (CLONE_NEWNET if box.block_network else 0)
    if box.tier.user_namespaces:
        enter_user_namespace(box.libc, flags)
    else:
        check(box.libc.unshare(flags), "unshare")
    check(box.libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
    if box.hidden:
        _reveal_interpreter(box)
    for path in box.hide:
        if os.path.isdir(path):
            check(box.libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_RDONLY, b"mode=000,size=4k"), f"cover {path}")
        else:  # a file (a git worktree's .git is one): an empty one in its place
            check(box.libc.mount(b"/dev/null", path.encode(), None, MS_BIND, None), f"cover {path}")


def confine(box: Sandbox, uid: int | None) -> None:
    import resource  # POSIX only, like the child it runs in

    assert box.tier is not None
    os.umask(0o077)
    if box.tier.namespaces:
        _enter_namespaces(box)
    limits = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, box.fsize_mb << 20),
        (resource.RLIMIT_AS, box.memory_mb << 20),
        (resource.RLIMIT_MSGQUEUE, 0),  # no POSIX message queue: it would outlive the worker
    ]
    if uid is not None:
        limits.append((resource.RLIMIT_NPROC, box.nproc))
    for which, value in limits:
        resource.setrlimit(which, (value, value))
    if uid is not None and not (box.tier.view and box.tier.name == "full"):  # full view: setpriv, inside
        assert box.gid is not None
        drop_to(uid, box.gid)


def _reveal_interpreter(box: Sandbox) -> None:
    """Replace each directory hiding the interpreter by a tmpfs holding only the needed children (bind mounts)."""
    assert box.holders is not None
    pairs = hidden_pairs(box.hidden)
    for i, (parent, child) in enumerate(pairs):
        holder = str(box.holders / str(i)).encode()
        check(box.libc.mount(os.path.join(parent, child).encode(), holder, None, MS_BIND | MS_REC, None), "bind")
    for parent in sorted(box.hidden):
        check(box.libc.mount(b"tmpfs", parent.encode(), b"tmpfs", 0, b"mode=755,size=64k"), "tmpfs")
    for i, (parent, child) in enumerate(pairs):
        target = os.path.join(parent, child)
        os.mkdir(target, 0o755)
        check(box.libc.mount(str(box.holders / str(i)).encode(), target.encode(), None, MS_MOVE, None), "move")
