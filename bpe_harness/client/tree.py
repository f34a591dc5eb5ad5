"""The worker's process tree: which processes belong to it, the CPU and memory they cost together, how to end them.

Why this exists: student code controls a process tree, not a process. It can fork a helper at import and hand it the
work, hold memory in a child, or double-fork and `setsid()` to leave its session. Everything it starts must be
charged to it and ended with it, on every machine the kit runs on, without privileges and without cgroups.

Who is in the tree (checked from outside, at every scan):
  * descendants of the worker (parent chain), and members of the worker's session;
  * with a sandbox uid (grading as root): every process of that uid, wherever it went;
  * on Linux the harness makes itself a child subreaper (prctl, no privilege needed), so an orphan that escaped both
    is re-parented to the harness instead of init, and is found there: a harness child seen in the tree before, or
    of the sandbox uid;
  * in an allowlisted view (view.py) the harness starts bwrap, and the worker runs below it in a PID namespace of its
    own: bwrap's processes are launchers (never members, never charged), the worker is found by its NSpid
    (host_pid), and an orphan goes to the namespace's init instead of the harness: it is a member there, and ended.

What they cost: CPU is the sum over live members of their own time plus the time of the children they reaped
(the kernel's cutime/cstime), plus a ledger of members that vanished where no live member could have reaped them
(their last reading; exact, from wait4's rusage, when the harness reaped them as subreaper). Memory is read per
member: resident memory for the process the call runs in (measure.py), private memory for the others
(Private_Clean + Private_Dirty + Swap of /proc/PID/smaps_rollup: what no other process shares, readable by root or
the same uid), and memory parked outside every process's resident memory (`parked`): memfd and /dev/shm files open
in a member, and with sandbox uids every /dev/shm file they own, each file counted once.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import psutil

from bpe_harness.client.parked_memory import parked_memory

LINUX = sys.platform.startswith("linux")
PR_SET_CHILD_SUBREAPER = 36
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_subreaper: bool | None = None


def become_subreaper() -> bool:
    """Make this process the child subreaper of everything it starts (Linux): orphans come back to it, not to init.
    Harmless to repeat; False where the kernel has no such thing."""
    global _subreaper
    if _subreaper is None:
        _subreaper = False
        if LINUX:
            with contextlib.suppress(OSError, AttributeError):
                libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
                _subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return _subreaper


@dataclass
class Reading:
    """One process at one scan."""

    pid: int
    state: str  # "Z": a zombie (dead, not yet reaped), which still shows its final CPU times
    start: int  # start time (clock ticks since boot on Linux): with pid, the process's identity
    ppid: int
    session: int
    own_cpu: float  # seconds, user + system
    reaped_cpu: float  # seconds of the children it waited for (and theirs)
    rss: int  # bytes


def _read_linux(pid: int) -> Reading | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2 :].split()
    own, reaped = (int(rest[11]) + int(rest[12])) / _TICK, (int(rest[13]) + int(rest[14])) / _TICK
    return Reading(pid, rest[0].decode(), int(rest[19]), int(rest[1]), int(rest[3]), own, reaped, int(rest[21]) * _PAGE)


def _read_psutil(pid: int) -> Reading | None:
    try:
        p = psutil.Process(pid)
        with p.oneshot():
            t = p.cpu_times()
            session = os.getsid(pid) if hasattr(os, "getsid") else -1
            state = "Z" if p.status() == psutil.STATUS_ZOMBIE else "R"
            return Reading(
                pid,
                state,
                int(p.create_time() * 1000),
                p.ppid(),
                session,
                t.user + t.system,
                getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0),
                p.memory_info().rss,
            )
    except (psutil.Error, OSError):
        return None


read = _read_linux if LINUX else _read_psutil


def process_uids(pid: int) -> tuple[int, int] | None:
    """The process's (real, effective) uid (from /proc status on Linux: the owner of /proc/PID lies for
    non-dumpable processes); None when it is gone."""
    if LINUX:
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"Uid:"):
                        fields = line.split()
                        return int(fields[1]), int(fields[2])
        except OSError:
            return None
        return None
    try:
        ids = psutil.Process(pid).uids()
    except (psutil.Error, OSError):
        return None
    return ids.real, ids.effective


def real_uid(pid: int) -> int | None:
    """The process's real uid (see process_uids)."""
    ids = process_uids(pid)
    return None if ids is None else ids[0]


def unique_memory(pid: int, fallback: int) -> int:
    """Private (unshared) memory of a process, swap included: what it holds that no other process shares. `fallback`
    where it cannot be read (a process of another uid, for a root without CAP_SYS_PTRACE)."""
    if LINUX:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                total = 0
                for line in f:
                    if line.startswith((b"Private_Clean:", b"Private_Dirty:", b"Swap:")):
                        total += int(line.split()[1]) * 1024
                return total
        except (OSError, ValueError):
            pass
    try:
        return psutil.Process(pid).memory_full_info().uss
    except (psutil.Error, OSError, NotImplementedError):
        return fallback


def _ns_pids(pid: int) -> list[int]:
    """The process's pid in each PID namespace it is in, outermost first (Linux: NSpid in /proc/PID/status)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"NSpid:"):
                    return [int(x) for x in line.split()[1:]]
    except (OSError, ValueError):
        pass
    return []


def running_pids() -> list[int]:
    """Every process of this machine (of this PID namespace)."""
    if LINUX:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    return psutil.pids()


def _children(pid: int) -> list[int] | None:
    """Direct children of a process, from /proc/PID/task/*/children (None where the kernel has no such file)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                found += map(int, f.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{task}"):
                continue  # the thread ended
            return None
        except OSError:
            continue
    return found


_HAS_CHILDREN_FILE = LINUX and os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


class Tree:
    """The processes of one worker (rooted at `root`, the process the harness started), scanned from outside.

    `uids`: the sandbox uids whose every process belongs to this tree (grading as root), or None. `exclude_memory`:
    pids whose memory is not the call's (the idle zygote, whose private pages grow when its child copies them)."""

    def __init__(self, root: int, uids: frozenset[int] | None = None, cpus: int | None = None):
        self.root, self.uids = root, uids
        self.cpus = cpus or _cpus()  # how many CPUs the worker may use: os.cpu_count() in it
        self.top = root  # the process the harness started: the worker, or bwrap around it (view.py)
        self.launchers: set[int] = set()  # bwrap's own processes around the worker: not members, never charged
        self.harness = os.getpid()
        self.session = os.getsid(root) if hasattr(os, "getsid") else -1
        if hasattr(os, "getsid") and self.session == os.getsid(0):
            self.session = -1  # the worker shares the harness's session: membership by session says nothing
        self.known: dict[tuple[int, int], Reading] = {}  # live members at the last scan
        self.seen: set[int] = set()  # pids ever seen in the tree (an orphan of ours re-parented to the harness)
        self.lost_cpu = 0.0  # members that vanished where no live member reaped them
        self.most = 0  # the most members seen at once

    # --- membership ----------------------------------------------------------------------------------------------

    def scan(self) -> dict[tuple[int, int], Reading]:
        """Read every member now; update the ledger of vanished ones and reap those the harness adopted."""
        readings = {r.pid: r for r in map(read, self._candidates()) if r is not None}
        members = {}
        for pid, r in readings.items():
            if self._belongs(r, readings):
                members[(pid, r.start)] = r
        adopted = [
            r for r in members.values() if (r.ppid == self.harness or r.ppid in self.launchers) and r.pid != self.root
        ]
        live_pids = {key[0] for key in members}
        for key, last in self.known.items():
            if key not in members and last.ppid not in live_pids:
                self.lost_cpu += last.own_cpu + last.reaped_cpu  # nobody in the tree will report it
        self.known = dict(members)
        self.seen |= live_pids
        self.most = max(self.most, len(members))
        for r in adopted:
            self._reap_adopted(r)  # its time moves from its reading to the ledger
        return self.known

    def _candidates(self) -> list[int]:
        """The processes that may belong: the worker's descendants and the harness's children (where orphans come
        back to, with the harness as subreaper), found from the root down; every process where that cannot be done
        (no /proc/PID/task/*/children, not a subreaper, or a uid to find wherever it went without one)."""
        if not (_HAS_CHILDREN_FILE and _subreaper):
            return running_pids()
        found, todo = set(), [self.top, self.root, *(_children(self.harness) or [])]
        while todo:
            pid = todo.pop()
            if pid in found:
                continue
            found.add(pid)
            children = _children(pid)
            if children is None:
                return running_pids()
            todo += children
        return list(found)

    def _belongs(self, r: Reading, readings: dict[int, Reading]) -> bool:
        if r.pid == self.root or r.pid == self.harness or r.pid in self.launchers:
            return r.pid == self.root
        if r.ppid in self.launchers:
            return True  # an orphan of the tree, adopted by the PID namespace's init (ended at this scan)
        if r.session == self.session and self.session > 0:
            return True
        if self.uids is not None and real_uid(r.pid) in self.uids:
            return True
        if r.ppid == self.harness:
            return r.pid in self.seen
        pid, hops = r.ppid, 0
        while pid > 1 and hops < 64:  # the parent chain reaches the worker
            if pid == self.root:
                return True
            parent = readings.get(pid)
            if parent is None:
                return False
            pid, hops = parent.ppid, hops + 1
        return False

    # --- in a PID namespace (view.py) ------------------------------------------------------------------------

    def host_pid(self, ns_pid: int, wait: float = 2.0) -> int | None:
        """The host pid of the process below `top` that its PID namespace calls `ns_pid` (from /proc/PID/status
        NSpid); None when there is none."""
        deadline = time.monotonic() + wait
        while True:
            for pid in self._descendants(self.top):
                if _ns_pids(pid)[-1:] == [ns_pid] and len(_ns_pids(pid)) > 1:
                    return pid
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def set_worker(self, pid: int) -> None:
        """The worker runs as `pid` below `top` (bwrap's processes in between): measure it as the root."""
        chain, at = [], pid
        while at not in (self.top, 0, 1) and len(chain) < 16:
            at = read(at).ppid if read(at) is not None else 0
            chain.append(at)
        self.launchers = {p for p in chain if p not in (0, 1)} | {self.top}
        self.root = pid

    def _descendants(self, pid: int) -> list[int]:
        found, todo = [], [pid]
        while todo:
            at = todo.pop()
            found.append(at)
            todo += _children(at) or []
        return found

    def _reap_adopted(self, r: Reading) -> None:
        """An orphan of the tree re-parented to the harness: it is a leftover, so end it, and collect its exact CPU."""
        with contextlib.suppress(OSError):
            os.kill(r.pid, signal.SIGKILL)
        try:
            pid, _status, usage = os.wait4(r.pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            return
        if pid == r.pid:
            self.known.pop((r.pid, r.start), None)
            self.lost_cpu += usage.ru_utime + usage.ru_stime

    # --- what it costs -------------------------------------------------------------------------------------------

    def cpu(self, members: dict[tuple[int, int], Reading] | None = None) -> float:
        """CPU seconds of the whole tree so far (see the module docstring)."""
        members = self.known if members is None else members
        return self.lost_cpu + sum(r.own_cpu + r.reaped_cpu for r in members.values())

    def others(self, members=None, exclude: set[int] = frozenset(), shared: int = 0) -> dict[int, int]:
        """{pid: private memory} of the members other than the root and `exclude`. Where it cannot be read, the
        resident memory beyond `shared` (what a fork of the worker shares with it at most)."""
        members = self.known if members is None else members
        return {
            r.pid: unique_memory(r.pid, max(0, r.rss - shared))
            for r in members.values()
            if r.pid != self.root and r.pid not in exclude
        }

    def parked(self, members=None) -> int:
        """Memory the tree holds in memory-backed files (`parked_memory`)."""
        members = self.known if members is None else members
        return parked_memory([r.pid for r in members.values()], self.uids)

    # --- ending it -----------------------------------------------------------------------------------------------

    def reap(self, wait: float = 1.0) -> None:
        """After the tree was killed: collect what is left of it as it comes back to the harness (subreaper), until
        nothing is left or `wait` seconds have passed (a process being killed may take a moment to die)."""
        deadline = time.monotonic() + wait
        while self.scan() and time.monotonic() < deadline:
            time.sleep(0.01)

    def below(self, pid: int, members=None) -> list[Reading]:
        """The members whose parent chain reaches `pid` (itself included)."""
        members = self.known if members is None else members
        by_pid = {r.pid: r for r in members.values()}
        found = []
        for r in members.values():
            at, hops = r, 0
            while at is not None and hops < 64:
                if at.pid == pid:
                    found.append(r)
                    break
                at, hops = by_pid.get(at.ppid), hops + 1
        return found

    def kill(self, below: int | None = None, rounds: int = 20) -> int:
        """SIGKILL every live member (or those below the process `below`), again until none is left: a fork bomb
        forks while it is being killed. How many distinct processes were killed."""

        def members() -> list[Reading]:
            found = self.scan()
            return list(found.values()) if below is None else self.below(below, found)

        # only the process itself left, which is gone now: nothing of it can fork any more
        return kill_until_none_left(members, rounds, alone={self.root} if below is None else {below, self.root})


def kill_until_none_left(
    find: Callable[[], list[Reading]],
    rounds: int = 20,
    pause: float = 0.01,
    alone: Collection[int] = (),
    settle: float = 0.0,
) -> int:
    """SIGKILL every live process `find()` returns, and look again until it returns none not yet killed: a fork bomb
    forks while it is being killed. Stops early when the processes just killed were all in `alone` (a process
    whose descendants were killed with it); with `settle`, waits up to that many seconds for the killed ones to be
    gone from `find()`. How many distinct processes were killed. The one place the kit kills a group of processes."""
    killed: set[tuple[int, int]] = set()
    deadline: float | None = None
    for _ in range(rounds):
        live = [r for r in find() if r.state not in ("Z", "X")]
        targets = [r for r in live if (r.pid, r.start) not in killed]
        if not targets:
            if not live or settle <= 0:
                break
            deadline = deadline if deadline is not None else time.monotonic() + settle
            if time.monotonic() >= deadline:
                break  # killed, still dying (in the kernel): nothing of it runs any more
            time.sleep(pause)
            continue
        for r in targets:
            with contextlib.suppress(OSError):
                os.kill(r.pid, signal.SIGKILL)
            killed.add((r.pid, r.start))
        if alone and all(r.pid in alone for r in targets):
            break
        time.sleep(pause)
    return len(killed)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def end_adopted_children() -> int:
    """Kill and reap every child of this process: for a grader's harness, whose only children are its workers (all
    closed by now), whatever is left came back to it as subreaper and was never seen in a tree (an orphan started
    by the last call). How many there were."""
    ended = 0
    for pid in (_children(os.getpid()) or []) if LINUX else []:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            ended += 1
    return ended


def kill_process_tree(pid: int) -> int:
    """Kill a process, its process group and every descendant; how many were still alive."""
    try:
        family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        family = []
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    for p in family:
        with contextlib.suppress(psutil.Error, OSError):
            p.kill()
    psutil.wait_procs(family, timeout=3)
    return len(family)
