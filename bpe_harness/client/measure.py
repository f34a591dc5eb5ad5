"""Time and memory of one call, measured from outside the processes that run it.

Why from outside: code cannot be trusted to report its own cost, and an rlimit or a timer inside the measured
process can be lifted by it. So the harness samples the worker's whole process tree (tree.py) while a call runs;
the worker only adds what its OS recorded about itself (VmHWM), which it cannot lower without also being sampled.

  * time: wall clock, and the CPU time of the whole tree (the worker, every process it started, at import or during
    the call, alive or already gone). A call is charged the smaller of the two: CPU time for serial code (it barely
    moves when other programs share the machine), wall time when a pool really runs on several cores.
  * memory: the worker's resident memory above its level just before the call (or above the lowest level it fell
    to during the call, if that was lower: memory freed and used again is used), sampled every SAMPLE_PERIOD and as
    the OS recorded it (Linux: VmHWM after a reset through /proc/self/clear_refs; macOS: ru_maxrss); plus all the
    private memory of the tree's other processes (tree.unique_memory), less CHILD_ALLOWANCE each for at most as many
    of them as the worker may use CPUs (what a fork of the worker copies of its pages: a pool of os.cpu_count()
    processes costs what it computes with, not its copies; any process beyond that, and any byte beyond the
    allowance, counts); plus what the tree parked in memory-backed files since the call began (memfd, /dev/shm:
    parked_memory.py), at the same moment. The peak of that sum is the call's peak.
  * a cap for the whole tree (default_tree_cap): when all its processes together hold more, the tree is stopped.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

from bpe_harness.client.tree import unique_memory

SAMPLE_PERIOD = 0.002  # seconds between RSS samples of the worker
TREE_SCAN_PERIOD = 0.025  # seconds between scans of the worker's whole process tree (0.1 s beyond 8 processes)
PARKED_EVERY = 4  # tree scans between two counts of its memory-backed files (they list every open file of the tree)
WAIT_RATIO = 3  # a call with processes whose wall time is this many times its tree's CPU is charged wall time
CHILD_ALLOWANCE = 8 << 20  # private memory a fork of the worker may copy uncharged (a pool's process: ~4.4 MB), for
# at most as many processes as the worker may use CPUs (Sampler._charged)
PROGRESS_PERIOD = 0.5  # seconds between progress callbacks


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def memory_unsupported_reason() -> str | None:
    """Why memory cannot be measured on this system, or None when it can."""
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        return None
    return f"memory limits are measured on Linux and macOS only (this is {sys.platform})"


@dataclass
class Progress:
    """A live reading during a call, for progress lines."""

    elapsed_s: float
    rss_bytes: int  # the worker's resident memory now
    peak_bytes: int  # the call's charged peak so far (worker + the rest of its tree)
    children_bytes: int  # what the other processes of the tree hold privately now
    count: int = 0  # ids produced so far (streaming calls)


@dataclass
class Call:
    """A finished call: its value and what it cost, measured from the harness."""

    what: str
    value: Any
    wall_s: float
    cpu_s: float  # the whole process tree
    peak_sampled: int | None  # worker RSS: bytes above the pre-call level, sampled from the harness
    peak_os: int | None  # the same, as the worker's OS recorded it (None: not available here)
    os_source: str | None
    samples: int = 0
    children_peak: int = 0  # the rest of the tree at the tree's peak: its private memory beyond the allowances, and
    # what it parked in memory-backed files
    processes: int = 1  # the most processes the tree had at once during the call
    tree_peak: int = 0  # worker above its baseline + the rest of the tree (charged part), at the same moment
    allowance: int = CHILD_ALLOWANCE  # what other processes could hold uncharged, each (up to one per CPU allowed)
    profile: dict | None = None  # with train(profile=True): the top functions by cumulative time
    inputs: tuple | None = None  # the arguments it was made with, where the caller drew them fresh (limits.py)
    import_s: float = 0.0  # speed limits: CPU its fresh worker spent importing beyond what an import may take
    machine_busy: bool = False  # the machine had no idle CPU during the call (busy_machine.LoadWatch)

    @property
    def had_children(self) -> bool:
        return self.processes > 1

    @property
    def waited(self) -> bool:
        """It started processes and its tree's CPU is far below its wall time: it waited on work whose CPU the
        kernel does not report (children reaped by the kernel itself, with SIGCHLD ignored, leave no figure)."""
        return self.had_children and self.cpu_s * WAIT_RATIO < self.wall_s

    @property
    def charged_wall(self) -> bool:
        """Its charge is its wall time (see `seconds`): what a busy machine stretches."""
        return self.cpu_s <= 0 or self.waited or self.wall_s < self.cpu_s

    @property
    def seconds(self) -> float:
        """Time charged against a speed limit: the tree's CPU time, or its wall time when that is less (a pool that
        really ran on several cores), or when the call `waited`."""
        if self.cpu_s <= 0 or self.waited:
            return self.wall_s + self.import_s
        return min(self.wall_s, self.cpu_s) + self.import_s

    @property
    def peak_bytes(self) -> int:
        """The call's peak: the worker's (the larger of sampled and OS-recorded) or, when other processes held
        memory too, the worker's and theirs at the same moment, whichever is larger."""
        return max(self.peak_sampled or 0, self.peak_os or 0, self.tree_peak)

    def describe_memory(self) -> str:
        os_part = f"{mb(self.peak_os)} by {self.os_source}" if self.peak_os is not None else "no OS figure here"
        kids = (
            f"; {self.processes - 1} other process(es) of the tree: {mb(self.children_peak)} of their private "
            f"memory charged (beyond {mb(self.allowance)} each, what a fork of the worker copies, for as many of them "
            "as os.cpu_count(); memory-backed files such as /dev/shm and memfd count too)"
            if self.had_children
            else ""
        )
        return f"worker sampled {mb(self.peak_sampled or 0)} in {self.samples} samples, {os_part}{kids}"


def default_tree_cap() -> int:
    """Bytes the worker's whole tree may hold at once by default: half of this machine's memory, at most 4 GB (the
    grading container's memory limit, where one is set and visible, counts as the machine's)."""
    total = psutil.virtual_memory().total
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            total = min(total, int(open(path).read().strip()))
    return min(4 << 30, total // 2)


def _rss(proc: psutil.Process) -> int | None:
    try:
        return proc.memory_info().rss
    except (psutil.Error, OSError):
        return None


def tree_memory_now(proc: psutil.Process) -> tuple[int, int]:
    """(resident memory of `proc`, private memory of its descendants summed), counted as a call's memory is: for a
    progress line watching processes the harness did not start through a Client (encode_corpus's own pool)."""
    rss = _rss(proc) or 0
    children = 0
    with contextlib.suppress(psutil.Error, OSError):
        for child in proc.children(recursive=True):
            children += unique_memory(child.pid, _rss(child) or 0)
    return rss, children


class Sampler:
    """During a call: the worker's RSS every SAMPLE_PERIOD, its whole tree (tree.Tree) every TREE_SCAN_PERIOD (CPU,
    the others' private memory, the cap), and a progress callback every PROGRESS_PERIOD.

    One thread per worker, started once and idle between calls (a thread per call costs more than a short call).
    `exclude`: pids of the tree whose memory is not the call's (the idle zygote, whose private pages grow when its
    child writes the pages they share). `on_over_cap(total)`: called from the thread when the tree holds more than
    `cap` bytes; it must stop the tree."""

    def __init__(
        self,
        proc: psutil.Process,
        tree,
        exclude: set[int] = frozenset(),
        cap: int | None = None,
        on_over_cap: Callable[[int], None] | None = None,
    ):
        self.proc, self.tree, self.exclude = proc, tree, set(exclude)
        self.cap, self.on_over_cap = cap, on_over_cap
        self.active, self.idle, self.finishing = threading.Event(), threading.Event(), threading.Event()
        self.closed = False
        self.idle.set()
        self.thread: threading.Thread | None = None
        self.on_progress: Callable[[Progress], None] | None = None
        self.over_cap: int | None = None  # the tree's total when it went over the cap
        self.lock = threading.Lock()

    def begin(self, on_progress: Callable[[Progress], None] | None = None) -> None:
        """Start measuring a call: baselines are the worker's RSS, the tree's CPU and the others' memory now."""
        self.baseline = _rss(self.proc) or 0
        # a forked child copies some of the worker's pages (CPython's collector and reference counts write to them):
        # up to CHILD_ALLOWANCE, for as many children as the worker may use CPUs, is not the call's
        self.allowance = CHILD_ALLOWANCE
        with self.lock:
            members = self.tree.scan()
            self.cpu0 = self.tree.cpu(members)
            self.parked0, self.parked_now, self.parked_peak, self.scans = self.tree.parked(members), 0, 0, 0
        self.peak, self.rss, self.samples, self.count = self.baseline, self.baseline, 0, 0
        self.low, self.rise = self.baseline, 0  # lowest RSS so far, and the largest rise above such a low
        self.others_now, self.tree_peak, self.others_at_peak, self.processes = 0, 0, 0, 1
        self.on_progress, self.started = on_progress, time.perf_counter()
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        self.idle.clear()
        self.finishing.clear()
        self.active.set()

    def _charged(self, others: dict[int, int]) -> int:
        """All the private memory of the other processes, less the allowance for as many as the worker has CPUs (the
        most it can credit). Memory they held before the call counts too: a child may fill what it reserved."""
        credits = sorted((min(held, self.allowance) for held in others.values()), reverse=True)
        return sum(others.values()) - sum(credits[: self.tree.cpus])

    def scan_tree(self) -> None:
        with self.lock:
            members = self.tree.scan()
            # the process the call runs in is measured by its resident memory (above), not here
            others = self.tree.others(members, self.exclude | {self.proc.pid}, shared=self.baseline)
            if self.scans % PARKED_EVERY == 0:
                self.parked_now = max(0, self.tree.parked(members) - self.parked0)
            self.scans += 1
        self.processes = max(self.processes, len(members) - len(self.exclude & {pid for pid, _ in members}))
        self.others_now = self._charged(others) + self.parked_now
        self.parked_peak = max(self.parked_peak, self.parked_now)
        combined = max(0, self.rss - self.low) + self.others_now
        if combined > self.tree_peak:
            self.tree_peak, self.others_at_peak = combined, self.others_now
        total = self.rss + sum(others.values()) + self.parked_now
        if self.cap is not None and total > self.cap and self.over_cap is None:
            self.over_cap = total
            if self.on_over_cap is not None:
                self.on_over_cap(total)

    def _run(self) -> None:
        while self.active.wait() and not self.closed:
            next_progress = time.perf_counter()
            next_scan = next_progress + TREE_SCAN_PERIOD  # begin() has just scanned
            while not self.finishing.is_set():
                self.sample()
                now = time.perf_counter()
                if now >= next_scan:
                    with contextlib.suppress(Exception):
                        self.scan_tree()
                    next_scan = now + (TREE_SCAN_PERIOD if self.processes <= 8 else 4 * TREE_SCAN_PERIOD)
                if self.on_progress is not None and now >= next_progress:
                    next_progress = now + PROGRESS_PERIOD
                    with contextlib.suppress(Exception):
                        self.on_progress(self.progress())
                self.finishing.wait(SAMPLE_PERIOD)
            self.active.clear()
            self.idle.set()

    def progress(self) -> Progress:
        return Progress(
            time.perf_counter() - self.started,
            self.rss,
            max(self.peak - self.baseline, self.tree_peak),
            self.others_now,
            self.count,
        )

    def sample(self) -> None:
        rss = _rss(self.proc)
        if rss is None:
            return
        self.rss = rss
        self.samples += 1
        self.peak = max(self.peak, rss)
        self.low = min(self.low, rss)
        self.rise = max(self.rise, rss - self.low)

    def finish(self) -> dict:
        """Stop measuring: {"peak": worker RSS peak above baseline, "tree_peak", "children_peak", "cpu": the tree's
        CPU seconds during the call, "processes": the most processes the tree had at once}."""
        self.finishing.set()
        self.idle.wait(1.0)
        self.sample()
        with contextlib.suppress(Exception):
            self.scan_tree()
        # memory freed at the call's start and used again is still used: the peak counts from the lowest level
        return {
            "peak": max(self.peak - self.baseline, self.rise),
            "tree_peak": self.tree_peak if self.processes > 1 or self.parked_peak else 0,
            "children_peak": self.others_at_peak,
            "cpu": max(0.0, self.tree.cpu() - self.cpu0),
            "processes": self.processes,
            "allowance": self.allowance,
        }

    def close(self) -> None:
        self.closed = True
        self.finishing.set()
        self.active.set()  # wakes the thread so it can end
