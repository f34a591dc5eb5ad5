"""Operating-system limits for the worker processes that run untrusted (student) code, in the strongest tier this
machine permits.

Why this exists: the per-call time limits of the Client stop a hang, but only the OS can stop a memory bomb, a fork
bomb, a file flood, a network call, a read of the staff's files or a write into the grading kit. And machines differ:
the kit is graded as root with every capability (CI), as root without CAP_SYS_ADMIN (Gradescope's Docker: no
namespaces), and as an ordinary user (a student's or a TA's laptop, Linux or macOS). `probe_tier()` tries what holds
here, once, and the sandbox uses the strongest tier that works; a failed probe falls back with a note, never fails.

  tier  where                        isolation                                                  accounting (tree.py)
  full  root with CAP_SYS_ADMIN      a uid per worker in an allowlisted view (view.py: bwrap as   every process of the
                                     root, the uid taken inside): only the interpreter, the     worker's uid, and of
                                     kit's public files, its inputs and scratch; own PID, IPC   its PID namespace
                                     and net namespaces. Without bwrap: secret paths covered
                                     by an empty tmpfs (mount namespace), no network
  root  root without CAP_SYS_ADMIN   a uid per worker; the same view where the kernel lets a    every process of the
                                     sandbox uid make a user namespace (bwrap as that uid);     worker's uid
                                     else (Gradescope's Docker) permissions only: secret paths
                                     made private (chmod o-rwx, said in the notes), network open
  user  not root, or not Linux       the code runs as you; where unprivileged user namespaces   the worker's session,
                                     are allowed (most Linux), the same view (or, without       descendants, orphans
                                     bwrap, no network and secret paths covered); elsewhere
                                     limits only: it can read your files

A root judge never runs the submission as root: where no sandbox uid can run the interpreter (a Python under /root
0700 and no namespaces to bind it in), the Sandbox refuses (SandboxRefused) with the fix, and grading says so.

Every tier: a scrubbed environment (no secrets, no CS336_* but the worker's own), HOME/TMPDIR/cwd in a private
directory, umask 077, rlimits set before Python starts (address space, file size, no core dumps; in the uid tiers the
process count of the worker's uid), its own session, and the CPU count the worker may use (os.cpu_count() inside
reports it, so a pool sized by it fits). The worker's whole tree is bounded in memory by the Client (tree_memory).
In the uid tiers the workers of one sandbox share a group of their own, so a private scratch folder can be opened to
them and to no other judge's workers; whatever their uids leave in /tmp, /var/tmp or /dev/shm (links removed, never
followed), their POSIX message queues and System V objects go in cleanup(); in a view, its IPC namespace takes them.

`sandbox_from_environment(os.environ)` builds one from CS336_SANDBOX=1 (and CS336_SANDBOX_UID, _DIR, _MEMORY_MB,
_TREE_MEMORY_MB, _NPROC, _FSIZE_MB, _CPUS, _HIDE, _SCRATCH, _READABLE, _TIER): the graders set these for their child
pytest, whose plugin passes it to every Client. CS336_SANDBOX_TIER=root|user caps the tier, CS336_SANDBOX_USERNS=0
turns off user namespaces (user and root tiers), CS336_SANDBOX_VIEW=0 the allowlisted view (staff: rehearse a weaker
machine).
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
PR_SET_DUMPABLE = 4
MS_RDONLY, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 1, 4096, 8192, 0x4000, 1 << 18

KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "SYSTEMROOT", "TZ")
WORKER_ENV = ("CS336_WORKER_SYS_PATH",)  # the only CS336_* variables a worker sees (never a seed or a staff path)
DEFAULT_MEMORY_MB = 2048  # address space per process: the reference trains 8 MB in ~200 MB resident (~0.6 GB mapped)
DEFAULT_NPROC = 512  # tasks (processes and threads) of one worker's uid: a pool for 96 CPUs fits, a fork bomb stops
DEFAULT_FSIZE_MB = 64  # largest file the worker may write
SANDBOX_UID_BASE = 61000
UID_RANGE = range(SANDBOX_UID_BASE, 65000)  # every sandbox uid, in blocks
UIDS_PER_SANDBOX = 32  # uids in one sandbox's block, used round-robin by its workers


TIERS = ("full", "root", "user")  # strongest first
KIT_PUBLIC = ("bpe_harness", "leaderboard", "tests", "cs336_basics", "conftest.py", "pyproject.toml")  # in the view
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")  # where any uid can leave files behind


def _on_linux() -> bool:
    return sys.platform.startswith("linux")


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _hidden_ancestors(paths: list[str], gid: int | None = None) -> dict[str, set[str]]:
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


def allowed_cpus(environ=None) -> int:
    """The CPUs a worker may use: this process's affinity, within the container's CPU quota where one is visible;
    CS336_SANDBOX_CPUS overrides (staff: rehearse a many-core host)."""
    environ = os.environ if environ is None else environ
    if environ.get("CS336_SANDBOX_CPUS"):
        return max(1, int(environ["CS336_SANDBOX_CPUS"]))
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for path, parse in (
        ("/sys/fs/cgroup/cpu.max", lambda t: t.split()),
        (
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
            lambda t: [t.strip(), open("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read().strip()],
        ),
    ):
        with contextlib.suppress(OSError, ValueError, IndexError):
            quota, period = parse(open(path).read())
            if quota not in ("max", "-1"):
                count = min(count, max(1, -(-int(quota) // int(period))))
    return max(1, count)


@dataclass(frozen=True)
class Tier:
    name: str  # one of TIERS
    notes: tuple[str, ...] = ()  # why a stronger tier did not hold, what was forced
    user_namespaces: bool = False  # user tier: namespaces of an unprivileged user namespace (Linux, where allowed)
    refused: str | None = None  # root, but no sandbox uid can run the worker: why no sandbox is built (never as root)
    view: bool = False  # the worker sees an allowlisted view (view.py, bubblewrap), in PID/IPC/net namespaces

    @property
    def switches_uid(self) -> bool:
        return self.name in ("full", "root")

    @property
    def namespaces(self) -> bool:
        """The kit's own mount/net namespaces with secret paths covered (where no allowlisted view holds)."""
        return not self.view and (self.name == "full" or self.user_namespaces)

    @property
    def label(self) -> str:
        return self.name + (" (user namespaces)" if self.user_namespaces else "")


def _works_in_child(action) -> bool:
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


def _remove_ipc(uid: int, gid: int, objects: list[tuple[str, int]]) -> None:
    """In a forked child: become `uid` and remove its System V IPC `objects` ((kind, id) pairs)."""
    libc, ipc_rmid = _libc(), 0
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    for kind, ident in objects:
        if kind == "sem":
            libc.semctl(ident, 0, ipc_rmid)
        else:
            (libc.shmctl if kind == "shm" else libc.msgctl)(ident, ipc_rmid, None)


MQUEUE = "/dev/mqueue"  # where the POSIX message queue file system is usually mounted


def _mounted_mqueue() -> str | None:
    """Where this mount namespace shows the POSIX message queues, if anywhere."""
    with contextlib.suppress(OSError):
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 2 and fields[2] == "mqueue":
                    return fields[1]
    return None


def _unlink_owned(folder: str, uids) -> list[str]:
    removed = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            if os.lstat(path).st_uid in uids:
                os.unlink(path)
                removed.append(f"mqueue:/{name}")
    return removed


def sweep_message_queues(uids) -> list[str]:
    """Remove the POSIX message queues (mq_open) of `uids`: like System V IPC they outlive every process. Listed
    where the mqueue file system is mounted, else through a private mount of it in a forked child (root with
    CAP_SYS_ADMIN); elsewhere they cannot be listed (the workers' RLIMIT_MSGQUEUE of 0 keeps them from making any)."""
    if not _on_linux():
        return []
    mounted = _mounted_mqueue()
    if mounted is not None:
        return _unlink_owned(mounted, uids)
    if os.geteuid() != 0:
        return []
    folder = tempfile.mkdtemp(prefix="cs336-mqueue-")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read)
            libc = _libc()
            if libc.unshare(CLONE_NEWNS) == 0 and libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0:
                if libc.mount(b"mqueue", folder.encode(), b"mqueue", 0, None) == 0:
                    os.write(write, "\n".join(_unlink_owned(folder, uids)).encode())
                    code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        text = f.read().decode()
    os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        os.rmdir(folder)
    return text.split("\n") if text else []


def _try_namespaces() -> None:
    libc = _libc()
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0 or libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None):
        raise OSError(ctypes.get_errno(), "unshare")


def _enter_user_namespace(libc, flags: int) -> None:
    """Unprivileged: a user namespace in which this process is still itself (same uid and gid, no other groups),
    owning new mount, network and IPC namespaces."""
    uid, gid = os.getuid(), os.getgid()
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # an undumpable process cannot write its own maps (exec resets it anyway)
    if libc.unshare(CLONE_NEWUSER | flags) != 0:
        raise OSError(ctypes.get_errno(), "sandbox: unshare(CLONE_NEWUSER) refused")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _try_user_namespaces() -> None:
    libc = _libc()
    _enter_user_namespace(libc, CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC)
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount")
    if libc.mount(b"tmpfs", tempfile.gettempdir().encode(), b"tmpfs", MS_RDONLY, b"size=4k") != 0:
        raise OSError(ctypes.get_errno(), "mount tmpfs")


def _python_runs_as(uid: int) -> str | None:
    """None when `uid` can start this Python with the kit's packages; else why not."""
    import subprocess

    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    try:
        proc = subprocess.run(
            [sys.executable, "-c", "import psutil, regex"],
            preexec_fn=drop,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    except (OSError, subprocess.SubprocessError) as e:
        return f"uid {uid} cannot be used ({e})"
    if proc.returncode == 0:
        return None
    hidden = sorted(_hidden_ancestors(interpreter_paths()))
    where = f" ({', '.join(hidden)} cannot be entered by other users)" if hidden else ""
    return (
        f"uid {uid} cannot run {sys.executable}{where}: install Python and the kit's environment where other "
        f"users can read them (e.g. /opt, as the Gradescope setup.sh does); {proc.stderr.strip()[-200:]}"
    )


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


def _reachable(path: str, uid: int, gid: int | None) -> bool:
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


def others_can_read(path) -> bool:
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
    if _on_linux():
        with contextlib.suppress(OSError, AttributeError):
            _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


_PROBED: dict[str, Tier] = {}


def _drop_to(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _view_holds(notes: list[str], privileged: bool, uid: int | None = None) -> bool:
    """Whether the worker's Python starts in an allowlisted view here (view.py): as root with bwrap dropping to
    `uid` inside (privileged), or as `uid` (or this user) in a user namespace. Why not goes into `notes`."""
    from bpe_harness.sandbox import view

    if os.environ.get("CS336_SANDBOX_VIEW") == "0":
        notes.append("allowlisted view turned off (CS336_SANDBOX_VIEW=0)")
        return False
    missing = view.have_tools(as_root=privileged)
    if missing is None:  # nothing writable needed: the probe must not depend on where this process's TMPDIR is
        probe = view.View(
            readable=view.interpreter_roots(),
            writable=[],
            home="/",
            user_namespace=not privileged,
            drop_to=(uid, uid) if privileged and uid is not None else None,
        )
        preexec = None if privileged or uid is None else functools.partial(_drop_to, uid, uid)
        missing = view.probe(probe, sys.executable, preexec)
    if missing is not None:
        notes.append(
            f"no allowlisted view ({missing}): the worker sees the machine's files as far as its tier hides them"
        )
    return missing is None


def probe_tier(cap: str | None = None) -> Tier:
    """The strongest tier that works on this machine, at most `cap` (a tier name; default $CS336_SANDBOX_TIER).
    Probed once per process."""
    cap = cap if cap is not None else os.environ.get("CS336_SANDBOX_TIER") or "full"
    if cap not in TIERS:
        raise ValueError(f"CS336_SANDBOX_TIER={cap!r}: expected one of {', '.join(TIERS)}")
    if cap in _PROBED:
        return _PROBED[cap]
    notes = [] if cap == "full" else [f"capped at '{cap}' by CS336_SANDBOX_TIER"]
    if not _on_linux():
        tier = Tier("user", (*notes, f"{sys.platform}: no uid switch or namespaces here; limits and process group"))
    elif os.geteuid() != 0:
        userns = os.environ.get("CS336_SANDBOX_USERNS") != "0" and _works_in_child(_try_user_namespaces)
        why = "" if userns else "; user namespaces refused here, so no network or mount isolation"
        view = userns and _view_holds(notes, privileged=False)
        tier = Tier("user", (*notes, f"not root: the worker runs as you{why}"), user_namespaces=userns, view=view)
    else:
        probe_uid = SANDBOX_UID_BASE + UIDS_PER_SANDBOX * 127
        ns = cap == "full" and _works_in_child(_try_namespaces)
        if cap == "full" and not ns:
            notes.append("namespaces refused here (no CAP_SYS_ADMIN, as in Docker): no network or mount isolation")
        problem = None if ns else _python_runs_as(probe_uid)
        if ns:
            view = _view_holds(notes, privileged=True, uid=probe_uid)
            tier = Tier("full", tuple(notes), view=view)
        elif cap in ("full", "root") and problem is None:
            userns = os.environ.get("CS336_SANDBOX_USERNS") != "0"
            view = userns and _view_holds(notes, privileged=False, uid=probe_uid)
            if view and cap == "full":  # the view holds all the same, in a user namespace of the sandbox uid
                notes[-1] = "no CAP_SYS_ADMIN (as in Docker): the view is built in a user namespace of the sandbox uid"
            tier = Tier("root", tuple(notes), view=view)
        else:
            why = problem or f"CS336_SANDBOX_TIER={cap} leaves no sandbox uid"
            tier = Tier("user", (*notes, why), refused=f"refusing to run the submission as root: {why}")
    _PROBED[cap] = tier
    return tier


class SandboxRefused(RuntimeError):
    """Running as root, and no sandbox uid can run the worker: the submission would run as root. Never done; the
    message says why and how to fix it."""

    def __init__(self, why: str):
        super().__init__(
            f"{why}. Student code never runs as root: install Python and the kit's environment where other users can "
            "read them (e.g. /opt: uv venv with UV_PYTHON_INSTALL_DIR=/opt/..., as the Gradescope setup.sh does; or "
            "chmod o+rx the folders on the way to the interpreter), or grade as an unprivileged user."
        )


@dataclass
class Sandbox:
    """Limits for the worker processes of one grading run. See the module docstring."""

    workdir: Path | None = None  # private working directory (created if None)
    uid: int | None = None  # first uid of the block; None: a free block is reserved (uid tiers)
    memory_mb: int = DEFAULT_MEMORY_MB
    nproc: int = DEFAULT_NPROC
    fsize_mb: int = DEFAULT_FSIZE_MB
    tree_memory_mb: int | None = None  # the whole tree's cap (default: measure.default_tree_cap())
    cpus: int | None = None  # what os.cpu_count() says in the worker (default: allowed_cpus())
    hide: tuple[str, ...] = ()  # secret paths the worker must not read (staff files of the checkout)
    tier: Tier | None = None  # default: probe_tier()
    scratch: Path | None = None  # the judge's own folder among all judges' (judges_base()): the others are hidden
    block_network: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    readable: tuple[str, ...] = ()  # with an allowlisted view: more folders the worker may read (its inputs)

    def __post_init__(self):
        from bpe_harness.client.measure import default_tree_cap

        self.tier = self.tier or probe_tier()
        if self.tier.refused or (hasattr(os, "geteuid") and os.geteuid() == 0 and not self.tier.switches_uid):
            raise SandboxRefused(self.tier.refused or "refusing to run the submission as root: no sandbox uid")
        self.is_root = self.tier.switches_uid
        self._block_lock: int | None = None  # held while this sandbox owns its block (see reserve_uid_block)
        if self.uid is None and self.tier.switches_uid:
            self.uid, self._block_lock = reserve_uid_block()
        if not self.tier.switches_uid:
            self.uid = None
        self.gid = self.uid  # the block's group: opens the judge's scratch to its own workers only
        self.cpus = self.cpus or allowed_cpus()
        self.tree_memory = (self.tree_memory_mb << 20) if self.tree_memory_mb else default_tree_cap()
        self.notes = list(self.tier.notes)
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="cs336-worker-"))
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.open_to_workers(self.workdir)
        self._next = 0
        self.last_uid: int | None = None
        self._hidden = _hidden_ancestors(interpreter_paths(), self.gid) if self.tier.namespaces and self.is_root else {}
        if self.scratch is not None and self.tier.namespaces:  # other judges' folders: an empty tmpfs in between
            self.scratch = Path(self.scratch).resolve()
            self._hidden.setdefault(str(self.scratch.parent), set()).add(self.scratch.name)
        # bind mounts wait here while a tmpfs covers their parent: outside every folder that may be covered
        # (the machine's temporary folder, not TMPDIR: a judge's test process has its own inside its covered scratch)
        machine_temp = "/tmp" if os.path.isdir("/tmp") else None
        self._holders = Path(tempfile.mkdtemp(prefix="cs336-mounts-", dir=machine_temp)) if self._hidden else None
        self.hide = tuple(str(Path(p).resolve()) for p in self.hide if Path(p).exists())
        if self.hide and self.tier.name == "root":
            self._make_private(self.hide)
        elif self.hide and self.tier.name == "user" and not self.tier.user_namespaces:
            self.notes.append(
                f"cannot hide {', '.join(self.hide)} from the submission: it runs as your user "
                "(grade untrusted code as root: Gradescope, CI)"
            )
        self._libc = _libc() if _on_linux() else None

    def protect_interpreter(self) -> None:
        """Where the workers run the judge's own interpreter as another uid, with no read-only view of it: no file
        of it may be writable by them (close_world_writable; a walk of ~1-2 s, once per process, by the process
        that owns the sandbox)."""
        if self.tier.switches_uid and not self.tier.view:
            for path in close_world_writable(tuple(sorted({sys.prefix, sys.base_prefix}))):
                self.notes.append(f"made {path} writable by its owner only: a sandbox uid could write into it")

    def open_to_workers(self, folder: Path) -> None:
        """A folder only this user and (in the uid tiers) the sandbox's own workers may pass through."""
        if self.gid is not None:
            os.chown(folder, -1, self.gid)
            os.chmod(folder, 0o710)
        else:
            os.chmod(folder, 0o700)

    def _make_private(self, paths: tuple[str, ...]) -> None:
        for path in paths:
            mode = os.stat(path).st_mode
            if mode & 0o007:
                os.chmod(path, stat.S_IMODE(mode) & ~0o007)
                self.notes.append(f"made {path} private to its owner (chmod o-rwx): a sandbox uid could read it")

    # --- what the Client calls ---------------------------------------------------------------------------------

    def popen_kwargs(self, options: dict) -> dict:
        """The worker's Popen keyword arguments with the sandbox applied (see the module docstring)."""
        options = dict(options)
        uid = None if self.uid is None else self.uid + self._next % UIDS_PER_SANDBOX
        self.last_uid = uid
        self._next += 1
        home = self.workdir / (str(uid) if uid is not None else f"w{self._next}")
        home.mkdir(mode=0o700, exist_ok=True)
        if uid is not None:
            os.chown(home, uid, self.gid)
        env = dict(options.get("env") or os.environ)
        kit_root = str(options.get("cwd") or os.getcwd())
        clean = {k: env[k] for k in (*KEEP_ENV, *WORKER_ENV) if k in env}
        self._last_home, self._kit_root = str(home), kit_root
        clean["PYTHONPATH"] = os.pathsep.join(p for p in (kit_root, clean.get("PYTHONPATH")) if p)
        threads = str(self.cpus)
        clean.update(
            HOME=str(home),
            TMPDIR=str(home),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONNOUSERSITE="1",
            CS336_WORKER_CPUS=threads,
            CS336_WORKER_NPROC=str(self.nproc if uid is not None else ""),
            PYTHON_CPU_COUNT=threads,
            OMP_NUM_THREADS=threads,
            OPENBLAS_NUM_THREADS=threads,
            RAYON_NUM_THREADS=threads,
            **self.extra_env,
        )
        options.update(
            env=clean,
            cwd=str(home),
            start_new_session=True,
            preexec_fn=functools.partial(self._in_child, uid),
            close_fds=True,
        )
        if self._hidden:
            for i, _ in enumerate(self._hidden_pairs()):
                (self._holders / str(i)).mkdir(exist_ok=True)
        return options

    def wrap(self, command: list[str], visible=()) -> tuple[list[str], list[int]]:
        """The worker's command as the last popen_kwargs() prepared it, in its allowlisted view where the tier has
        one (view.py; `visible`: the implementation's own folders), and the fds to pass (close them here after the
        start). Unchanged elsewhere."""
        if not self.tier.view:
            return command, []
        from bpe_harness.sandbox.view import View, interpreter_roots
        from bpe_harness.settings import cache_dir

        kit = Path(self._kit_root)
        cache = cache_dir()
        with contextlib.suppress(OSError):
            cache.mkdir(parents=True, exist_ok=True)
        readable = [*interpreter_roots(), *(str(kit / name) for name in KIT_PUBLIC), *visible, *self.readable]
        readable.append(str(cache))
        temp = tempfile.gettempdir()
        if not os.stat(temp).st_mode & stat.S_IWOTH:  # a private temporary folder (a judge's): its inputs are there
            readable.append(temp)
        resolved = [os.path.realpath(p) for p in readable if p and os.path.exists(p)]
        if self.tier.name == "root" and self.last_uid is not None:  # bwrap runs as the worker's uid: it binds only
            resolved = [p for p in resolved if _reachable(p, self.last_uid, self.gid)]  # what that uid may reach
        covered = [p for p in self.hide if any(p == r or p.startswith(r + os.sep) for r in resolved)]
        view = View(
            readable=resolved,
            writable=[self._last_home],
            home=self._last_home,
            covered=covered,
            network=not self.block_network,
            user_namespace=self.tier.name != "full",
            drop_to=(self.last_uid, self.gid) if self.tier.name == "full" else None,
            die_with_parent=threading.current_thread() is threading.main_thread(),
        )
        wrapped, fd = view.command(command)
        return wrapped, [fd]

    def environment(self) -> dict[str, str]:
        """The CS336_SANDBOX_* variables that hand this sandbox to a child process (a judge's pytest), where
        sandbox_from_environment builds it again: the same workdir, tier, hidden paths, scratch and uid block."""
        env = {
            "CS336_SANDBOX": "1",
            "CS336_SANDBOX_DIR": str(self.workdir),
            "CS336_SANDBOX_TIER": self.tier.name,
            "CS336_SANDBOX_VIEW": "1" if self.tier.view else "0",
            "CS336_SANDBOX_HIDE": os.pathsep.join(self.hide),
        }
        if self.scratch is not None:
            env["CS336_SANDBOX_SCRATCH"] = str(self.scratch)
        if self.readable:
            env["CS336_SANDBOX_READABLE"] = os.pathsep.join(self.readable)
        if self.uid is not None:
            env["CS336_SANDBOX_UID"] = str(self.uid)
        return env

    def describe(self) -> dict:
        """What this sandbox enforces here (for reports and results.json)."""
        uid_tier = self.uid is not None
        isolation = {
            "full": "own uid per worker, no network, secret paths covered, private scratch",
            "root": "own uid per worker, private scratch, secret paths private to their owner; network not blocked",
            "user": "runs as the current user: limits only; it can read what you can, and reach the network",
        }[self.tier.name]
        if self.tier.user_namespaces:
            isolation = "runs as the current user, in namespaces of its own: no network, secret paths covered"
        if self.tier.view:
            who = "runs as the current user" if self.uid is None else "own uid per worker"
            isolation = (
                f"{who}, in an allowlisted view (the interpreter, the kit's public files, its inputs and its own "
                "scratch; nothing else of this machine), own PID and IPC namespaces, "
                + ("no network" if self.block_network else "network allowed")
            )
        return {
            "tier": self.tier.label,
            "isolation": isolation,
            "accounting": (
                "every process of the worker's uid (the whole tree, orphans included)"
                if uid_tier
                else "the worker's session, its descendants and orphans re-parented to the harness"
            ),
            "user": f"uids {self.uid}..{self.uid + UIDS_PER_SANDBOX - 1}" if uid_tier else "same user",
            "memory_mb_per_process": self.memory_mb,
            "tree_memory_mb": self.tree_memory >> 20,
            "max_file_mb": self.fsize_mb,
            "processes": self.nproc if uid_tier else "not limited (shared user)",
            "cpus": self.cpus,
            "notes": list(self.notes),
        }

    def processes(self, uids=None) -> list:
        """Live processes running as one of `uids` (default: the sandbox's whole block; empty without a block).
        Zombies are not live: already dead, they hold nothing and cannot be killed, only reaped by their parent."""
        import psutil

        if self.uid is None:
            return []
        uids = set(uids) if uids is not None else set(range(self.uid, self.uid + UIDS_PER_SANDBOX))
        found = []
        for p in psutil.process_iter(["uids", "status"]):
            ids = p.info.get("uids")
            if ids is not None and (ids.real in uids or ids.effective in uids) and p.info["status"] != "zombie":
                found.append(p)
        return found

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
                if p.ppid() not in ours and p.status() != psutil.STATUS_ZOMBIE and not _descends(p, set(parents)):
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

    def sweep_temp(self) -> list[str]:
        """Remove what the sandbox's uids left in the shared temporary folders (a later judge must not find it), and
        their POSIX message queues. A symbolic link is removed itself, never followed (one to a folder too)."""
        if self.uid is None:
            return []
        uids = range(self.uid, self.uid + UIDS_PER_SANDBOX)
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

    def sweep_ipc(self) -> int:
        """Remove the System V shared memory, message queues and semaphores the sandbox's uids left: they outlive
        every process (the root tier has no IPC namespace to take them away). Removed as their owner (a forked child
        switches to that uid: root without CAP_SYS_ADMIN may not remove another uid's objects). How many were found."""
        if self.uid is None or not _on_linux():
            return 0
        uids = range(self.uid, self.uid + UIDS_PER_SANDBOX)
        found: dict[int, list[tuple[str, int]]] = {}
        for kind in ("shm", "msg", "sem"):
            try:
                lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
            except OSError:
                continue
            header = lines[0].split() if lines else []
            for line in lines[1:]:
                row = dict(zip(header, line.split(), strict=False))
                if int(row.get("uid", -1)) in uids:
                    found.setdefault(int(row["uid"]), []).append(
                        (kind, int(row[{"shm": "shmid", "msg": "msqid", "sem": "semid"}[kind]]))
                    )
        for uid, objects in found.items():
            _works_in_child(functools.partial(_remove_ipc, uid, self.gid, objects))
        return sum(map(len, found.values()))

    def cleanup(self) -> None:
        self.kill_leftovers()
        self.sweep_temp()
        self.sweep_ipc()
        if self._block_lock is not None:
            os.close(self._block_lock)
            self._block_lock = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self._holders is not None:
            shutil.rmtree(self._holders, ignore_errors=True)

    # --- in the child, between fork and exec -------------------------------------------------------------------

    def _hidden_pairs(self) -> list[tuple[str, str]]:
        return [(d, c) for d in sorted(self._hidden) for c in sorted(self._hidden[d])]

    def _in_child(self, uid: int | None) -> None:
        """Runs in the forked child before exec: namespaces, limits, then drop to the sandbox user. Any failure
        raises, so Popen fails and the worker never runs less confined than its tier says."""
        try:
            self._confine(uid)
        except BaseException as e:
            os.write(2, f"sandbox: the worker could not be confined: {e!r}\n".encode())
            raise

    def _confine(self, uid: int | None) -> None:
        import resource

        os.umask(0o077)
        if self.tier.namespaces:
            flags = CLONE_NEWNS | CLONE_NEWIPC | (CLONE_NEWNET if self.block_network else 0)
            if self.tier.user_namespaces:
                _enter_user_namespace(self._libc, flags)
            else:
                self._check(self._libc.unshare(flags), "unshare")
            self._check(self._libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
            if self._hidden:
                self._reveal_interpreter()
            for path in self.hide:
                if os.path.isdir(path):
                    self._check(
                        self._libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_RDONLY, b"mode=000,size=4k"),
                        f"cover {path}",
                    )
                else:  # a file (a git worktree's .git is one): an empty one in its place
                    self._check(self._libc.mount(b"/dev/null", path.encode(), None, MS_BIND, None), f"cover {path}")
        limits = [
            (resource.RLIMIT_CORE, 0),
            (resource.RLIMIT_FSIZE, self.fsize_mb << 20),
            (resource.RLIMIT_AS, self.memory_mb << 20),
            (resource.RLIMIT_MSGQUEUE, 0),  # no POSIX message queue: it would outlive the worker
        ]
        if uid is not None:
            limits.append((resource.RLIMIT_NPROC, self.nproc))
        for which, value in limits:
            resource.setrlimit(which, (value, value))
        if uid is not None and not (self.tier.view and self.tier.name == "full"):  # full view: setpriv, inside
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(uid)

    def _reveal_interpreter(self) -> None:
        """Replace each directory hiding the interpreter by a tmpfs holding only the needed children (bind mounts)."""
        pairs = self._hidden_pairs()
        for i, (parent, child) in enumerate(pairs):
            holder = str(self._holders / str(i)).encode()
            self._check(
                self._libc.mount(os.path.join(parent, child).encode(), holder, None, MS_BIND | MS_REC, None), "bind"
            )
        for parent in sorted(self._hidden):
            self._check(self._libc.mount(b"tmpfs", parent.encode(), b"tmpfs", 0, b"mode=755,size=64k"), "tmpfs")
        for i, (parent, child) in enumerate(pairs):
            target = os.path.join(parent, child)
            os.mkdir(target, 0o755)
            self._check(
                self._libc.mount(str(self._holders / str(i)).encode(), target.encode(), None, MS_MOVE, None), "move"
            )

    @staticmethod
    def _check(result: int, what: str) -> None:
        if result != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"sandbox: {what} failed: {os.strerror(errno)}")


def _descends(process, ancestors: set[int]) -> bool:
    """Whether one of `ancestors` is above `process` (through bwrap's processes, which are not the sandbox uid's)."""
    import psutil

    with contextlib.suppress(psutil.Error, OSError):
        for parent in process.parents()[:16]:
            if parent.pid in ancestors:
                return True
    return False


def reserve_uid_block() -> tuple[int, int]:
    """(first uid, lock) of a block of UIDS_PER_SANDBOX uids that no live process uses and no other sandbox holds,
    in this process or any other: each block has a lock file (flock, released when `lock` is closed or the holder
    dies), so two judges never share a block, and one's sweep never kills the other's workers."""
    import fcntl

    folder = Path("/run/cs336-uid-blocks")  # root's: no other user can plant anything there
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700)
    if not _own_folder(folder):
        folder = Path(tempfile.gettempdir()) / "cs336-uid-blocks"
        with contextlib.suppress(OSError):
            folder.mkdir(mode=0o700)
    if not _own_folder(folder):
        raise RuntimeError(f"{folder} is not this user's folder: remove it and grade again")
    used = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            used.add(os.stat(f"/proc/{pid}").st_uid)
    blocks = len(UID_RANGE) // UIDS_PER_SANDBOX
    first = (os.getpid() * 7919 + time.monotonic_ns()) % blocks
    for k in range(blocks):
        base = UID_RANGE.start + ((first + k) % blocks) * UIDS_PER_SANDBOX
        if used & set(range(base, base + UIDS_PER_SANDBOX)):
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
    if _JUDGES_BASE is not None and _own_folder(_JUDGES_BASE):
        return _JUDGES_BASE
    base = Path(tempfile.gettempdir()) / f"cs336-judges-{os.getuid()}"
    with contextlib.suppress(OSError):
        base.mkdir(mode=0o711)
    if not _own_folder(base):
        base = Path(tempfile.mkdtemp(prefix=f"cs336-judges-{os.getuid()}-"))
    os.chmod(base, 0o711)
    _JUDGES_BASE = base
    return base


def _own_folder(path: Path) -> bool:
    """A real folder (not a link to one) of this user's."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def sandbox_from_environment(environ=None) -> Sandbox | None:
    """A Sandbox when CS336_SANDBOX=1, configured from CS336_SANDBOX_* variables (default: os.environ); else None."""
    environ = os.environ if environ is None else environ
    if environ.get("CS336_SANDBOX", "") not in ("1", "true", "yes"):
        return None

    def number(name: str, default: int | None) -> int | None:
        value = environ.get(name)
        try:
            return int(value) if value else default
        except ValueError:
            raise ValueError(f"{name}={value!r} is not an integer") from None

    uid = environ.get("CS336_SANDBOX_UID")
    tier = probe_tier(environ.get("CS336_SANDBOX_TIER") or None)
    if environ.get("CS336_SANDBOX_VIEW") == "1" and not tier.view:
        why = "; ".join(tier.notes)
        raise SandboxRefused(f"the judge's allowlisted view does not hold in its test process ({why})")
    return Sandbox(
        workdir=Path(environ["CS336_SANDBOX_DIR"]) if environ.get("CS336_SANDBOX_DIR") else None,
        uid=int(uid) if uid else None,
        memory_mb=number("CS336_SANDBOX_MEMORY_MB", DEFAULT_MEMORY_MB),
        nproc=number("CS336_SANDBOX_NPROC", DEFAULT_NPROC),
        fsize_mb=number("CS336_SANDBOX_FSIZE_MB", DEFAULT_FSIZE_MB),
        tree_memory_mb=number("CS336_SANDBOX_TREE_MEMORY_MB", None),
        cpus=number("CS336_SANDBOX_CPUS", None),
        hide=tuple(p for p in environ.get("CS336_SANDBOX_HIDE", "").split(os.pathsep) if p),
        scratch=Path(environ["CS336_SANDBOX_SCRATCH"]) if environ.get("CS336_SANDBOX_SCRATCH") else None,
        readable=tuple(p for p in environ.get("CS336_SANDBOX_READABLE", "").split(os.pathsep) if p),
        tier=tier,
    )
