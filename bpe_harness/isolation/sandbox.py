"""Operating-system limits for a worker process that runs untrusted (student) code during grading.

Why this exists: the per-call time limits of the Client stop a hang, but only the OS can stop a memory bomb, a fork
bomb, a file flood, a network call or a write into the grading kit. `Sandbox.popen_kwargs` adjusts the worker's
subprocess.Popen arguments (the Client calls it for every worker it starts):

* a scrubbed environment (PATH, locale, PYTHONPATH and the CS336_* variables the worker needs; HOME and TMPDIR point
  into a private temporary directory, which is also the working directory);
* resource limits set in the child before it runs Python: address space (memory), file size, no core dumps, and the
  process count when the worker runs as its own user;
* its own process group and session, so the grader can kill everything it started;
* Linux as root: a new network namespace (no network at all), a private mount namespace in which directories that
  hide the interpreter from other users (e.g. /root, 0700) are replaced by an empty tmpfs showing only what Python
  needs, then the switch to an unprivileged uid/gid: each worker gets its own uid from the sandbox's block of
  UIDS_PER_SANDBOX (so `reap(pid)` can kill exactly what one worker left behind, orphans included, and the process
  limit is per worker), and the kit's files (owned by root, read-only to others) and the grader's private result
  directory are out of its reach;
* elsewhere (not root, macOS): limits and environment only; the README's per-platform table says what holds where.

`sandbox_from_environment(os.environ)` builds one from CS336_SANDBOX=1 (and CS336_SANDBOX_UID, _DIR, _MEMORY_MB,
_NPROC, _FSIZE_MB): the graders set these for their child pytest, whose plugin passes it to every Client.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 4096, 8192, 0x4000, 1 << 18

KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "SYSTEMROOT", "TZ")
DEFAULT_MEMORY_MB = 2048  # address space per process: the reference trains 8 MB in ~200 MB resident (~0.6 GB mapped)
DEFAULT_NPROC = 64  # processes of the sandbox user (a multiprocessing pool fits, a fork bomb does not)
DEFAULT_FSIZE_MB = 64  # largest file the worker may write
SANDBOX_UID_BASE = 61000
UIDS_PER_SANDBOX = 32  # uids in one sandbox's block, used round-robin by its workers


def _on_linux() -> bool:
    return sys.platform.startswith("linux")


def _hidden_ancestors(paths: list[str]) -> dict[str, set[str]]:
    """{dir other users cannot enter: {its child directories on the way to one of `paths`}}."""
    hidden: dict[str, set[str]] = {}
    for path in paths:
        p = Path(path).resolve()
        for parent in reversed(p.parents):
            try:
                mode = parent.stat().st_mode
            except OSError:
                break
            if not mode & stat.S_IXOTH:
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


@dataclass
class Sandbox:
    """Limits for the worker processes of one grading run. See the module docstring."""

    workdir: Path | None = None  # private working directory (created if None)
    uid: int | None = None  # first uid of the block; None: chosen from the pid when root; never when not root
    memory_mb: int = DEFAULT_MEMORY_MB
    nproc: int = DEFAULT_NPROC
    fsize_mb: int = DEFAULT_FSIZE_MB
    block_network: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        if self.uid is None and self.is_root:
            self.uid = SANDBOX_UID_BASE + UIDS_PER_SANDBOX * (os.getpid() % 100)
        if not self.is_root:
            self.uid = None
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="cs336-worker-"))
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o711)
        self._next = 0
        self._holders = self.workdir.parent / f".{self.workdir.name}-mounts"
        self._hidden = _hidden_ancestors(interpreter_paths()) if self.uid is not None and _on_linux() else {}
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if _on_linux() else None

    # --- what the Client calls ---------------------------------------------------------------------------------

    def popen_kwargs(self, options: dict) -> dict:
        """The worker's Popen keyword arguments with the sandbox applied (see the module docstring)."""
        options = dict(options)
        uid = None if self.uid is None else self.uid + self._next % UIDS_PER_SANDBOX
        self._next += 1
        home = self.workdir / (str(uid) if uid is not None else f"w{self._next}")
        home.mkdir(mode=0o700, exist_ok=True)
        if uid is not None:
            os.chown(home, uid, uid)
        env = dict(options.get("env") or os.environ)
        kit_root = str(options.get("cwd") or os.getcwd())
        clean = {k: env[k] for k in KEEP_ENV if k in env}
        clean.update({k: v for k, v in env.items() if k.startswith("CS336_")})
        clean["PYTHONPATH"] = os.pathsep.join(p for p in (kit_root, clean.get("PYTHONPATH")) if p)
        clean.update(HOME=str(home), TMPDIR=str(home), PYTHONDONTWRITEBYTECODE="1",
                     PYTHONNOUSERSITE="1", **self.extra_env)
        options.update(env=clean, cwd=str(home), start_new_session=True,
                       preexec_fn=functools.partial(self._in_child, uid), close_fds=True)
        if self._hidden:
            self._holders.mkdir(exist_ok=True)
            for i, _ in enumerate(self._hidden_pairs()):
                (self._holders / str(i)).mkdir(exist_ok=True)
        return options

    def describe(self) -> dict:
        """What this sandbox enforces here (for reports)."""
        return {
            "user": f"uids {self.uid}..{self.uid + UIDS_PER_SANDBOX - 1}" if self.uid is not None
            else "same user (not root)",
            "network": "blocked (new network namespace)" if self.block_network and self.is_root and _on_linux()
            else "not blocked",
            "memory_mb": self.memory_mb, "max_file_mb": self.fsize_mb,
            "processes": self.nproc if self.uid is not None else "not limited (shared user)",
        }

    def processes(self, uids=None) -> list:
        """Live processes running as one of `uids` (default: the sandbox's whole block; empty without a block)."""
        import psutil

        if self.uid is None:
            return []
        uids = set(uids) if uids is not None else set(range(self.uid, self.uid + UIDS_PER_SANDBOX))
        found = []
        for p in psutil.process_iter(["uids"]):
            ids = p.info.get("uids")
            if ids is not None and (ids.real in uids or ids.effective in uids):
                found.append(p)
        return found

    def reap(self, pid: int) -> int:
        """Kill everything running as the uid of worker `pid`, the worker included: its children, a fork bomb,
        orphaned grandchildren that hold its pipes open. Call it before waiting on the worker (a zombie still
        shows its uid). Returns how many processes were killed; 0 when there is no dedicated uid."""
        import psutil

        if self.uid is None:
            return 0
        try:
            uid = psutil.Process(pid).uids().real
        except (psutil.Error, OSError):
            return 0
        if not self.uid <= uid < self.uid + UIDS_PER_SANDBOX:
            return 0
        return self.kill_leftovers({uid})

    def kill_orphans(self, parents: set[int]) -> int:
        """Kill the sandbox's processes whose parent is neither one of its own nor in `parents` (the process that
        started the workers): daemons and orphaned grandchildren, which no process tree reaches any more and which
        would keep the worker's pipes open. How many were killed."""
        import psutil

        procs = self.processes()
        ours = {p.pid for p in procs} | set(parents)
        orphans = []
        for p in procs:
            try:
                if p.ppid() not in ours and p.status() != psutil.STATUS_ZOMBIE:
                    orphans.append(p)
            except (psutil.Error, OSError):
                continue
        for p in orphans:
            with contextlib.suppress(psutil.Error, OSError):
                p.send_signal(signal.SIGKILL)
        return len(orphans)

    def kill_leftovers(self, uids=None) -> int:
        """Kill every process of the sandbox's uids (a grandchild left running, a fork bomb); how many were found."""
        import psutil

        leftovers = self.processes(uids)
        for _ in range(20):  # a fork bomb may fork while we kill: repeat until none is left
            for p in leftovers:
                try:
                    p.send_signal(signal.SIGKILL)
                except (psutil.Error, OSError):
                    pass
            psutil.wait_procs(leftovers, timeout=1)
            again = self.processes(uids)
            if not again:
                break
            leftovers = again
            time.sleep(0.05)
        return len(leftovers)

    def cleanup(self) -> None:
        self.kill_leftovers()
        shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(self._holders, ignore_errors=True)

    # --- in the child, between fork and exec -------------------------------------------------------------------

    def _hidden_pairs(self) -> list[tuple[str, str]]:
        return [(d, c) for d in sorted(self._hidden) for c in sorted(self._hidden[d])]

    def _in_child(self, uid: int | None) -> None:
        """Runs in the forked child before exec: namespaces, limits, then drop to the sandbox user. Any failure
        raises, so Popen fails and the worker never runs unconfined."""
        import resource

        if self.is_root and _on_linux():
            flags = CLONE_NEWNS | (CLONE_NEWNET if self.block_network else 0)
            self._check(self._libc.unshare(flags), "unshare")
            if self._hidden:
                self._check(self._libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
                self._reveal_interpreter()
        limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, self.fsize_mb << 20),
                  (resource.RLIMIT_AS, self.memory_mb << 20)]
        if uid is not None:
            limits.append((resource.RLIMIT_NPROC, self.nproc))
        for which, value in limits:
            resource.setrlimit(which, (value, value))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    def _reveal_interpreter(self) -> None:
        """Replace each directory hiding the interpreter by a tmpfs holding only the needed children (bind mounts)."""
        pairs = self._hidden_pairs()
        for i, (parent, child) in enumerate(pairs):
            holder = str(self._holders / str(i)).encode()
            self._check(self._libc.mount(os.path.join(parent, child).encode(), holder, None, MS_BIND | MS_REC, None),
                        "bind")
        for parent in sorted(self._hidden):
            self._check(self._libc.mount(b"tmpfs", parent.encode(), b"tmpfs", 0, b"mode=755,size=64k"), "tmpfs")
        for i, (parent, child) in enumerate(pairs):
            target = os.path.join(parent, child)
            os.mkdir(target, 0o755)
            self._check(self._libc.mount(str(self._holders / str(i)).encode(), target.encode(), None, MS_MOVE, None),
                        "move")

    @staticmethod
    def _check(result: int, what: str) -> None:
        if result != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"sandbox: {what} failed: {os.strerror(errno)}")


def sandbox_from_environment(environ=None) -> Sandbox | None:
    """A Sandbox when CS336_SANDBOX=1, configured from CS336_SANDBOX_* variables (default: os.environ); else None."""
    environ = os.environ if environ is None else environ
    if environ.get("CS336_SANDBOX", "") not in ("1", "true", "yes"):
        return None

    def number(name: str, default: int) -> int:
        value = environ.get(name)
        try:
            return int(value) if value else default
        except ValueError:
            raise ValueError(f"{name}={value!r} is not an integer") from None

    uid = environ.get("CS336_SANDBOX_UID")
    return Sandbox(
        workdir=Path(environ["CS336_SANDBOX_DIR"]) if environ.get("CS336_SANDBOX_DIR") else None,
        uid=int(uid) if uid else None,
        memory_mb=number("CS336_SANDBOX_MEMORY_MB", DEFAULT_MEMORY_MB),
        nproc=number("CS336_SANDBOX_NPROC", DEFAULT_NPROC),
        fsize_mb=number("CS336_SANDBOX_FSIZE_MB", DEFAULT_FSIZE_MB),
    )
