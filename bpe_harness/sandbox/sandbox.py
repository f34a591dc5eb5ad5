"""The Sandbox of one grading run: how each worker is started (its uid, environment, folders, view and limits), what
the run enforces (describe), how it is handed to a child pytest (environment), and the sweep when it ends.

Why this exists: the Client starts every worker through `popen_kwargs` and `wrap`, and knows nothing of tiers; the
judge builds one Sandbox, passes it on through CS336_SANDBOX_* variables, and cleans up after it once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpe_harness import protocol, settings
from bpe_harness.client.measure import default_tree_cap
from bpe_harness.client.tree import Reading
from bpe_harness.sandbox import confine, sweep
from bpe_harness.sandbox.namespaces import libc, on_linux
from bpe_harness.sandbox.permissions import (
    close_world_writable,
    hidden_ancestors,
    interpreter_paths,
    make_private,
    reachable,
)
from bpe_harness.sandbox.probe import SandboxRefused, Tier, probe_tier
from bpe_harness.sandbox.uids import UIDS_PER_SANDBOX, block, reserve_uid_block
from bpe_harness.sandbox.view import View, interpreter_roots

KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "SYSTEMROOT", "TZ")
WORKER_ENV = (protocol.WORKER_SYS_PATH,)  # the only CS336_* variables a worker sees (never a seed or a staff path)
DEFAULT_MEMORY_MB = 2048  # address space per process: the reference trains 8 MB in ~200 MB resident (~0.6 GB mapped)
DEFAULT_NPROC = 512  # tasks (processes and threads) of one worker's uid: a pool for 96 CPUs fits, a fork bomb stops
DEFAULT_FSIZE_MB = 64  # largest file the worker may write
KIT_PUBLIC = ("bpe_harness", "leaderboard", "tests", "cs336_basics", "conftest.py", "pyproject.toml")  # in the view


def _number(setting: settings.Setting, environ: Mapping[str, str] | None, default: int | None = None) -> int | None:
    """A whole-number setting, or `default` when unset; anything else raises ValueError naming the variable."""
    value = setting.read(environ)
    if value is None:
        return default
    if not isinstance(value, int):
        raise ValueError(f"{setting.name}={setting.raw(environ)!r} is not an integer")
    return value


def _quota_cpus() -> int | None:
    """The container's CPU quota, rounded up, where one is visible (cgroup v2, then v1)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota not in ("max", "-1"):
            return max(1, -(-int(quota) // int(period)))
    with contextlib.suppress(OSError, ValueError, IndexError):
        quota = open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read().strip()
        period = open("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read().strip()
        if quota not in ("max", "-1"):
            return max(1, -(-int(quota) // int(period)))
    return None


def allowed_cpus(environ: Mapping[str, str] | None = None) -> int:
    """The CPUs a worker may use: this process's affinity, within the container's CPU quota where one is visible;
    CS336_SANDBOX_CPUS overrides (staff: rehearse a many-core host)."""
    forced = _number(settings.SANDBOX_CPUS, environ)
    if forced is not None:
        return max(1, forced)
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _quota_cpus()
    return max(1, count if quota is None else min(count, quota))


@dataclass
class Sandbox:
    """Limits for the worker processes of one grading run. See the package docstring."""

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

    def __post_init__(self) -> None:
        self.tier = tier = self.tier or probe_tier()
        if tier.refused or (hasattr(os, "geteuid") and os.geteuid() == 0 and not tier.switches_uid):
            raise SandboxRefused(tier.refused or "refusing to run the submission as root: no sandbox uid")
        self.is_root = tier.switches_uid
        self._block_lock: int | None = None  # held while this sandbox owns its block (see reserve_uid_block)
        if self.uid is None and tier.switches_uid:
            self.uid, self._block_lock = reserve_uid_block()
        if not tier.switches_uid:
            self.uid = None
        self.gid = self.uid  # the block's group: opens the judge's scratch to its own workers only
        self.cpus = self.cpus or allowed_cpus()
        self.tree_memory = (self.tree_memory_mb << 20) if self.tree_memory_mb else default_tree_cap()
        self.notes = list(tier.notes)
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="cs336-worker-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.open_to_workers(self.workdir)
        self._next = 0
        self.last_uid: int | None = None
        self._last_home, self._kit_root = "", ""
        self.hidden = hidden_ancestors(interpreter_paths(), self.gid) if tier.namespaces and self.is_root else {}
        if self.scratch is not None and tier.namespaces:  # other judges' folders: an empty tmpfs in between
            self.scratch = Path(self.scratch).resolve()
            self.hidden.setdefault(str(self.scratch.parent), set()).add(self.scratch.name)
        # bind mounts wait here while a tmpfs covers their parent: outside every folder that may be covered
        # (the machine's temporary folder, not TMPDIR: a judge's test process has its own inside its covered scratch)
        machine_temp = "/tmp" if os.path.isdir("/tmp") else None
        self.holders = Path(tempfile.mkdtemp(prefix="cs336-mounts-", dir=machine_temp)) if self.hidden else None
        self.hide = tuple(str(Path(p).resolve()) for p in self.hide if Path(p).exists())
        if self.hide and tier.name == "root":
            for path in make_private(self.hide):
                self.notes.append(f"made {path} private to its owner (chmod o-rwx): a sandbox uid could read it")
        elif self.hide and tier.name == "user" and not tier.user_namespaces:
            self.notes.append(
                f"cannot hide {', '.join(self.hide)} from the submission: it runs as your user "
                "(grade untrusted code as root: Gradescope, CI)"
            )
        self.libc: Any = libc() if on_linux() else None  # loaded here: find_library must not run in the child

    @property
    def active_tier(self) -> Tier:
        """The tier this sandbox runs in (probed when none was given)."""
        assert self.tier is not None
        return self.tier

    @property
    def uids(self) -> range:
        """Every uid of the sandbox's block (empty without one)."""
        return range(0) if self.uid is None else block(self.uid)

    def protect_interpreter(self) -> None:
        """Where the workers run the judge's own interpreter as another uid, with no read-only view of it: no file
        of it may be writable by them (close_world_writable; a walk of ~1-2 s, once per process, by the process
        that owns the sandbox)."""
        if self.active_tier.switches_uid and not self.active_tier.view:
            for path in close_world_writable(tuple(sorted({sys.prefix, sys.base_prefix}))):
                self.notes.append(f"made {path} writable by its owner only: a sandbox uid could write into it")

    def open_to_workers(self, folder: Path) -> None:
        """A folder only this user and (in the uid tiers) the sandbox's own workers may pass through."""
        if self.gid is not None:
            os.chown(folder, -1, self.gid)
            os.chmod(folder, 0o710)
        else:
            os.chmod(folder, 0o700)

    # --- what the Client calls ---------------------------------------------------------------------------------

    def _worker_environment(self, env: Mapping[str, str], home: Path, uid: int | None) -> dict[str, str]:
        """The scrubbed environment of a worker: what Python needs, its own folders, its CPU and process counts."""
        clean = {k: env[k] for k in (*KEEP_ENV, *WORKER_ENV) if k in env}
        clean["PYTHONPATH"] = os.pathsep.join(p for p in (self._kit_root, clean.get("PYTHONPATH")) if p)
        threads = str(self.cpus)
        clean.update(
            {
                "HOME": str(home),
                "TMPDIR": str(home),
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONNOUSERSITE": "1",
                protocol.WORKER_CPUS: threads,
                protocol.WORKER_NPROC: str(self.nproc if uid is not None else ""),
                "PYTHON_CPU_COUNT": threads,
                "OMP_NUM_THREADS": threads,
                "OPENBLAS_NUM_THREADS": threads,
                "RAYON_NUM_THREADS": threads,
                **self.extra_env,
            }
        )
        return clean

    def popen_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        """The worker's Popen keyword arguments with the sandbox applied (see the package docstring)."""
        options = dict(options)
        uid = None if self.uid is None else self.uid + self._next % UIDS_PER_SANDBOX
        self.last_uid = uid
        self._next += 1
        assert self.workdir is not None
        home = self.workdir / (str(uid) if uid is not None else f"w{self._next}")
        home.mkdir(mode=0o700, exist_ok=True)
        if uid is not None:
            assert self.gid is not None
            os.chown(home, uid, self.gid)
        self._last_home, self._kit_root = str(home), str(options.get("cwd") or os.getcwd())
        options.update(
            env=self._worker_environment(options.get("env") or os.environ, home, uid),
            cwd=str(home),
            start_new_session=True,
            preexec_fn=functools.partial(confine.in_child, self, uid),
            close_fds=True,
        )
        if self.holders is not None:
            for i, _ in enumerate(confine.hidden_pairs(self.hidden)):
                (self.holders / str(i)).mkdir(exist_ok=True)
        return options

    def _view_readable(self, visible: Iterable[str]) -> list[str]:
        """What the worker may read in its view: the interpreter, the kit's public parts, its implementation's
        folders and inputs, the cache, and the harness's temporary folder where that is private (a judge's)."""
        kit = Path(self._kit_root)
        cache = settings.cache_dir()
        with contextlib.suppress(OSError):
            cache.mkdir(parents=True, exist_ok=True)
        readable = [*interpreter_roots(), *(str(kit / name) for name in KIT_PUBLIC), *visible, *self.readable]
        readable.append(str(cache))
        temp = tempfile.gettempdir()
        if not os.stat(temp).st_mode & stat.S_IWOTH:  # a private temporary folder (a judge's): its inputs are there
            readable.append(temp)
        resolved = [os.path.realpath(p) for p in readable if p and os.path.exists(p)]
        if self.active_tier.name == "root" and self.last_uid is not None:  # bwrap runs as the worker's uid: it binds
            resolved = [p for p in resolved if reachable(p, self.last_uid, self.gid)]  # only what that uid reaches
        return resolved

    def wrap(self, command: list[str], visible: Iterable[str] = ()) -> tuple[list[str], list[int]]:
        """The worker's command as the last popen_kwargs() prepared it, in its allowlisted view where the tier has
        one (view.py; `visible`: the implementation's own folders), and the fds to pass (close them here after the
        start). Unchanged elsewhere."""
        if not self.active_tier.view:
            return command, []
        resolved = self._view_readable(visible)
        covered = [p for p in self.hide if any(p == r or p.startswith(r + os.sep) for r in resolved)]
        full = self.active_tier.name == "full"
        view = View(
            readable=resolved,
            writable=[self._last_home],
            home=self._last_home,
            covered=covered,
            network=not self.block_network,
            user_namespace=not full,
            drop_to=(self.last_uid, self.gid) if full and self.last_uid is not None and self.gid is not None else None,
            die_with_parent=threading.current_thread() is threading.main_thread(),
        )
        wrapped, fd = view.command(command)
        return wrapped, [fd]

    def environment(self) -> dict[str, str]:
        """The CS336_SANDBOX_* variables that hand this sandbox to a child process (a judge's pytest), where
        sandbox_from_environment builds it again: the same workdir, tier, hidden paths, scratch and uid block."""
        env = {
            settings.SANDBOX.name: "1",
            settings.SANDBOX_DIR.name: str(self.workdir),
            settings.SANDBOX_TIER.name: self.active_tier.name,
            settings.SANDBOX_VIEW.name: "1" if self.active_tier.view else "0",
            settings.SANDBOX_HIDE.name: os.pathsep.join(self.hide),
        }
        if self.scratch is not None:
            env[settings.SANDBOX_SCRATCH.name] = str(self.scratch)
        if self.readable:
            env[settings.SANDBOX_READABLE.name] = os.pathsep.join(self.readable)
        if self.uid is not None:
            env[settings.SANDBOX_UID.name] = str(self.uid)
        return env

    def _isolation(self) -> str:
        tier = self.active_tier
        if tier.view:
            who = "runs as the current user" if self.uid is None else "own uid per worker"
            return (
                f"{who}, in an allowlisted view (the interpreter, the kit's public files, its inputs and its own "
                "scratch; nothing else of this machine), own PID and IPC namespaces, "
                + ("no network" if self.block_network else "network allowed")
            )
        if tier.user_namespaces:
            return "runs as the current user, in namespaces of its own: no network, secret paths covered"
        return {
            "full": "own uid per worker, no network, secret paths covered, private scratch",
            "root": "own uid per worker, private scratch, secret paths private to their owner; network not blocked",
            "user": "runs as the current user: limits only; it can read what you can, and reach the network",
        }[tier.name]

    def describe(self) -> dict[str, Any]:
        """What this sandbox enforces here (for reports and results.json)."""
        uid_tier = self.uid is not None
        return {
            "tier": self.active_tier.label,
            "isolation": self._isolation(),
            "accounting": (
                "every process of the worker's uid (the whole tree, orphans included)"
                if uid_tier
                else "the worker's session, its descendants and orphans re-parented to the harness"
            ),
            "user": f"uids {self.uid}..{self.uid + UIDS_PER_SANDBOX - 1}" if self.uid is not None else "same user",
            "memory_mb_per_process": self.memory_mb,
            "tree_memory_mb": self.tree_memory >> 20,
            "max_file_mb": self.fsize_mb,
            "processes": self.nproc if uid_tier else "not limited (shared user)",
            "cpus": self.cpus,
            "notes": list(self.notes),
        }

    # --- what is left when the workers are done (sweep.py) -------------------------------------------------------

    def processes(self, uids: Collection[int] | None = None) -> list[Reading]:
        """Live processes running as one of `uids` (default: the sandbox's whole block; empty without a block)."""
        if self.uid is None:
            return []
        return sweep.processes(self.uids if uids is None else set(uids))

    def kill_orphans(self, parents: set[int]) -> int:
        """Kill the sandbox's processes no worker's tree reaches any more (sweep.kill_orphans); how many."""
        return sweep.kill_orphans(self.uids, parents) if self.uid is not None else 0

    def kill_leftovers(self, uids: Collection[int] | None = None) -> int:
        """Kill every process of the sandbox's uids (a grandchild left running, a fork bomb); how many were found."""
        if self.uid is None:
            return 0
        return sweep.kill_leftovers(self.uids if uids is None else set(uids))

    def sweep_temp(self) -> list[str]:
        """Remove what the sandbox's uids left in the shared temporary folders and their message queues."""
        return sweep.sweep_temp(self.uids) if self.uid is not None else []

    def sweep_ipc(self) -> int:
        """Remove the System V IPC objects the sandbox's uids left; how many were found."""
        return sweep.sweep_ipc(self.uids, self.uid) if self.uid is not None else 0

    def cleanup(self) -> None:
        self.kill_leftovers()
        self.sweep_temp()
        self.sweep_ipc()
        if self._block_lock is not None:
            os.close(self._block_lock)
            self._block_lock = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.holders is not None:
            shutil.rmtree(self.holders, ignore_errors=True)


def sandbox_from_environment(environ: Mapping[str, str] | None = None) -> Sandbox | None:
    """A Sandbox when CS336_SANDBOX=1, configured from CS336_SANDBOX_* variables (default: os.environ); else None."""
    if not settings.sandbox_requested(environ):
        return None
    tier = probe_tier(settings.SANDBOX_TIER.raw(environ) or None)
    if settings.SANDBOX_VIEW.raw(environ) == "1" and not tier.view:
        why = "; ".join(tier.notes)
        raise SandboxRefused(f"the judge's allowlisted view does not hold in its test process ({why})")
    hide, readable = settings.SANDBOX_HIDE.read(environ), settings.SANDBOX_READABLE.read(environ)
    workdir, scratch = settings.SANDBOX_DIR.read(environ), settings.SANDBOX_SCRATCH.read(environ)
    return Sandbox(
        workdir=workdir if isinstance(workdir, Path) else None,
        uid=_number(settings.SANDBOX_UID, environ),
        memory_mb=_number(settings.SANDBOX_MEMORY_MB, environ, DEFAULT_MEMORY_MB) or 0,
        nproc=_number(settings.SANDBOX_NPROC, environ, DEFAULT_NPROC) or 0,
        fsize_mb=_number(settings.SANDBOX_FSIZE_MB, environ, DEFAULT_FSIZE_MB) or 0,
        tree_memory_mb=_number(settings.SANDBOX_TREE_MEMORY_MB, environ),
        cpus=_number(settings.SANDBOX_CPUS, environ),
        hide=hide if isinstance(hide, tuple) else (),
        scratch=scratch if isinstance(scratch, Path) else None,
        readable=readable if isinstance(readable, tuple) else (),
        tier=tier,
    )
