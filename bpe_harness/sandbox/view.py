"""The worker's view of the machine where namespaces exist: a root built from an allowlist, with bubblewrap.

Why this exists: hiding a list of secret paths leaves everything else readable, and every attack found one more
path (another judge's folder, the TA's batch folder named on a command line, a clone of the staff checkout). Here it
is turned around: the worker's root is an empty tmpfs holding only what it needs, bound in at the same paths:

  read-only   /usr (and /bin, /lib*, /sbin as the host has them), /etc/ld.so.cache and /etc/localtime; the
              interpreter's prefixes (the base install and the venv); the kit's public parts (bpe_harness,
              leaderboard, tests, cs336_basics, conftest.py, pyproject.toml) and the implementation's own folders;
              the cache of generated inputs; the harness's temporary folder when it is private (a judge's own)
  read-write  the worker's home (HOME, TMPDIR, its cwd); /tmp and /dev/shm are size-limited tmpfs of its own
  covered     secret paths inside those (the staged kit's staff/ and tests/snapshots): an empty tmpfs or file
  namespaces  its own PID namespace (its /proc shows its own tree only: no other command line), IPC (System V
              objects and POSIX queues go with it), UTS and network (no network, unless asked); a minimal /dev

Nothing else of the host exists in it: not /tmp, /home, /root, other checkouts, the kit's own checkout or another
judge's folder. bwrap's options (every path above) go through a pipe (--args), so the namespace's init shows
none of them in /proc/1/cmdline (only the worker's own command).

Why bubblewrap rather than the kit's own unshare code: a PID namespace needs an init (unshare(CLONE_NEWPID) moves
only the children, and /proc must be mounted from inside), and a root built from nothing needs pivot_root and every
bind in order; bwrap (Flatpak's sandbox, small, audited) does exactly that, both as root (the full tier: the sandbox
uid is taken inside, by setpriv, after the view is built) and unprivileged in a user namespace (the user tier, and
the root tier where the kernel lets a sandbox uid make one), with --die-with-parent so nothing outlives the harness
(only when started from the main thread: the kernel's parent-death signal follows the thread that started it, so a
worker started by a thread that ends would die with it; elsewhere the closed channel ends the worker).

Process tree: bwrap (outside, the process the harness started) -> bwrap as the namespace's init (pid 1) -> the
worker (pid 2). Pids the worker reports are the namespace's; tree.host_pid() finds the host's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

BWRAP_PATHS = ("/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap")
SETPRIV_PATHS = ("/usr/bin/setpriv", "/bin/setpriv")
SYSTEM = ("/usr",)
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # merged /usr: links; else folders
ETC = ("/etc/ld.so.cache", "/etc/localtime")
TMP_BYTES = 256 << 20  # the worker's own /tmp and /dev/shm, each (memory: a tmpfs is RAM)


def bwrap() -> str | None:
    """bubblewrap's path, where installed (Debian/Ubuntu package `bubblewrap`)."""
    return next((p for p in BWRAP_PATHS if os.access(p, os.X_OK)), None)


def setpriv() -> str | None:
    return next((p for p in SETPRIV_PATHS if os.access(p, os.X_OK)), None)


def interpreter_roots() -> list[str]:
    """The folders the worker's Python needs (the base install, the venv), as real paths; /usr is bound anyway."""
    roots = set()
    for prefix in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix):
        roots.add(os.path.realpath(prefix))
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    roots |= {os.path.dirname(os.path.abspath(sys.executable))}  # the venv's bin/ (links to the base)
    return sorted(r for r in roots if not _under(r, SYSTEM) and r != "/")


def _under(path: str, tops: Iterable[str]) -> bool:
    return any(path == top or path.startswith(top.rstrip("/") + "/") for top in tops)


@dataclass
class View:
    """What one worker sees (see the module docstring)."""

    readable: list[str]
    writable: list[str]
    home: str
    covered: list[str] = field(default_factory=list)
    network: bool = False
    user_namespace: bool = False  # unprivileged: bwrap makes a user namespace (it runs as the worker's uid already)
    drop_to: tuple[int, int] | None = None  # as root: (uid, gid) taken inside, after the view is built (setpriv)
    die_with_parent: bool = True  # bwrap's --die-with-parent: its "parent" is the starting thread (PDEATHSIG)

    def arguments(self) -> list[str]:
        """bwrap's options, in order: namespaces, the system read-only, a fresh /proc, /dev and tmpfs, the
        implementation's own folders, then the secret paths covered."""
        made: set[str] = {"/"}  # folders that exist in the view
        bound: list[str] = []  # folders bound in whole (what is inside them is there already)
        return [
            *self._namespaces(),
            *self._system(made, bound),
            *self._own_folders(made, bound),
            *self._covered(),
            "--chdir",
            self.home,
        ]

    def _namespaces(self) -> list[str]:
        args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if self.die_with_parent:
            args.append("--die-with-parent")
        if not self.network:
            args.append("--unshare-net")
        if self.user_namespace:
            args += ["--unshare-user", "--disable-userns"]
        return args

    @staticmethod
    def _system(made: set[str], bound: list[str]) -> list[str]:
        args: list[str] = []
        for top in SYSTEM:
            if os.path.isdir(top):
                args += ["--ro-bind", top, top]
                bound.append(top)
        for link in SYSTEM_LINKS:
            if os.path.islink(link):
                args += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                args += ["--ro-bind", link, link]
                bound.append(link)
            made.add(link)
        for path in ETC:
            if os.path.exists(path):
                args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/dev/shm"]
        args += ["--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
        made |= {*bound, "/proc", "/dev", "/dev/shm", "/tmp"}
        return args

    def _own_folders(self, made: set[str], bound: list[str]) -> list[str]:
        args: list[str] = []
        binds = [(p, "--ro-bind") for p in _outermost(self.readable)] + [(p, "--bind") for p in self.writable]
        for path, how in sorted(binds, key=lambda b: b[0].count("/")):
            if how == "--ro-bind" and _under(path, bound):
                continue  # inside a folder bound already
            for parent in reversed(Path(path).parents):
                if str(parent) not in made:
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
            args += [how, path, path]
            made.add(path)
            bound.append(path)
        return args

    def _covered(self) -> list[str]:
        args: list[str] = []
        for path in self.covered:
            if os.path.isdir(path):
                args += ["--perms", "0000", "--size", "4096", "--tmpfs", path]
            else:
                args += ["--ro-bind", "/dev/null", path]
        return args

    def command(self, argv: list[str]) -> tuple[list[str], int]:
        """(the command that runs `argv` in this view, the read end of the pipe holding bwrap's arguments: pass it to
        the child and close it here once started)."""
        tool = bwrap()
        if tool is None:
            raise RuntimeError("bubblewrap (bwrap) is not installed")
        inner = list(argv)
        if self.drop_to is not None:
            uid, gid = self.drop_to
            dropper = setpriv()
            if dropper is None:
                raise RuntimeError("setpriv (util-linux) is not installed")
            inner = [dropper, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs", "--", *inner]
        data = b"".join(a.encode() + b"\0" for a in self.arguments())
        read, write = os.pipe()
        try:
            if len(data) > 60000:
                raise RuntimeError("bwrap arguments too long for a pipe")
            os.write(write, data)
        finally:
            os.close(write)
        return [tool, "--args", str(read), "--", *inner], read


def _outermost(paths: Iterable[str]) -> list[str]:
    """The paths that are not inside another one of them (binding the outer one shows the inner one too)."""
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)})
    kept: list[str] = []
    for p in real:
        if not _under(p, kept):
            kept.append(p)
    return kept


def probe(view: View, python: str, preexec_fn: Callable[[], None] | None = None) -> str | None:
    """None when `python` starts in `view` (and imports the kit's packages); else why not."""
    command, fd = view.command([python, "-c", "import psutil, regex"])
    try:
        done = subprocess.run(
            command,
            pass_fds=[fd],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=preexec_fn,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    except (OSError, subprocess.SubprocessError) as e:
        return f"bwrap could not be started ({e})"
    finally:
        os.close(fd)
    if done.returncode == 0:
        return None
    return f"bwrap: {done.stderr.strip()[-300:] or f'exit code {done.returncode}'}"


def have_tools(as_root: bool) -> str | None:
    """None when bwrap (and, as root, setpriv) are here; else what to install."""
    if bwrap() is None:
        return "bubblewrap is not installed (apt-get install bubblewrap): no allowlisted view"
    if as_root and setpriv() is None:
        return "setpriv is not installed (util-linux): no allowlisted view"
    return None
