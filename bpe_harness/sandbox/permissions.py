"""File permissions as a sandbox uid meets them: what it can reach and read, what it could write, what hides the
interpreter from it.

Why this exists: where no namespace holds (Gradescope's Docker), permissions are the whole boundary between a worker
and the judge's files; and where one does, a folder the sandbox uid cannot enter decides what must be bound in.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import sys
from pathlib import Path

from bpe_harness.sandbox.namespaces import PR_SET_DUMPABLE, libc, on_linux


def hidden_ancestors(paths: list[str], gid: int | None = None) -> dict[str, set[str]]:
    """{dir other users (but those of group `gid`) cannot enter: {its child directories on the way to `paths`}}."""
    hidden: dict[str, set[str]] = {}
    for path in paths:
        p = Path(path).resolve()
        for parent in reversed(p.parents):
            try:
                info = parent.stat()
            except OSError:
                break
            if not (info.st_mode & stat.S_IXOTH or (info.st_mode & stat.S_IXGRP and info.st_gid == gid)):
                child = p.relative_to(parent).parts[0] if p != parent else None
                if child:
                    hidden.setdefault(str(parent), set()).add(child)
                break
    return hidden


def interpreter_paths() -> list[str]:
    """What the worker's Python must be able to read: the interpreter, its standard library, the venv."""
    paths = {os.path.realpath(sys.executable), sys.prefix, sys.base_prefix, sys.exec_prefix}
    paths |= {p for p in sys.path if p and os.path.isdir(p)}
    return sorted(paths)


@functools.cache
def close_world_writable(tops: tuple[str, ...]) -> tuple[str, ...]:
    """Take other users' write permission off every file and folder below `tops` (links not followed); the ones
    changed. A sandbox uid runs the interpreter from here: a file anyone may write (uv makes the venv's `.lock`
    0666) would outlive the judge, and carry one submission's data to the next. Once per process."""
    changed = []
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in [*dirnames, *filenames]:
                path = os.path.join(dirpath, name)
                with contextlib.suppress(OSError):
                    mode = os.lstat(path).st_mode
                    if mode & stat.S_IWOTH and not stat.S_ISLNK(mode):
                        os.chmod(path, stat.S_IMODE(mode) & ~stat.S_IWOTH)
                        changed.append(path)
    return tuple(changed)


def reachable(path: str, uid: int, gid: int | None) -> bool:
    """Whether `uid` (in group `gid`) may pass through every folder on the way to `path` (bwrap, started as that uid,
    cannot bind a path it cannot reach: a cache under root's private pytest folder, say)."""
    for folder in [*reversed(Path(path).parents), Path(path)]:
        try:
            info = folder.stat()
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode):
            continue
        bit = stat.S_IXUSR if info.st_uid == uid else stat.S_IXGRP if info.st_gid == gid else stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def others_can_read(path: str | os.PathLike[str]) -> bool:
    """Whether a user other than the owner can reach and read `path` (a sandbox uid must read the kit, the cache)."""
    path = Path(path).resolve()
    try:
        for folder in reversed(path.parents):
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IROTH) and (not path.is_dir() or bool(mode & stat.S_IXOTH))


def keep_out_of_reach() -> None:
    """Make this process undumpable (Linux): code running as the same user cannot read its memory or its
    environment through /proc (where a grader keeps the hidden seed), nor attach a debugger to it."""
    if on_linux():
        with contextlib.suppress(OSError, AttributeError):
            libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def own_folder(path: Path) -> bool:
    """A real folder (not a link to one) of this user's."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def make_private(paths: tuple[str, ...]) -> list[str]:
    """Take every permission of other users off `paths` (chmod o-rwx); the ones changed."""
    changed = []
    for path in paths:
        mode = os.stat(path).st_mode
        if mode & 0o007:
            os.chmod(path, stat.S_IMODE(mode) & ~0o007)
            changed.append(path)
    return changed
