"""Time and memory of one call, measured from outside the process that runs it.

Why from outside: code cannot be trusted to report its own cost, and an rlimit or a timer inside the measured
process can be lifted by it. So the harness samples the worker with psutil while a call runs, and the worker only
adds what its OS recorded (which the code under test cannot forge without also being wrong about its own memory).

  * time: wall clock, and the CPU time of the worker and every process it started (live ones from psutil, finished
    ones from the OS's children accounting). A serial call is charged its CPU time, which barely moves when other
    programs share the machine; a call that started any child process (a pool) is charged its wall time, since the
    CPU of grandchildren, or of children on systems that do not report them, cannot be counted reliably.
  * memory: the worker's peak resident memory above its level just before the call, sampled every SAMPLE_PERIOD,
    and the OS high-water mark (Linux: VmHWM after a reset through /proc/self/clear_refs; macOS: ru_maxrss); the
    larger counts. Child processes are reported (their unique memory), not charged.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

SAMPLE_PERIOD = 0.002  # seconds between RSS samples of the worker
CHILD_SCAN_PERIOD = 0.025  # seconds between scans for the worker's child processes
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
    peak_bytes: int  # its peak above the pre-call level so far
    children_bytes: int  # unique memory of its child processes now
    count: int = 0  # ids produced so far (streaming calls)


@dataclass
class Call:
    """A finished call: its value and what it cost, measured from the harness."""

    what: str
    value: Any
    wall_s: float
    cpu_s: float  # worker + its child processes
    peak_sampled: int | None  # worker RSS: bytes above the pre-call level, sampled from the harness
    peak_os: int | None  # the same, as the worker's OS recorded it (None: not available here)
    os_source: str | None
    samples: int = 0
    children_peak: int = 0  # unique memory of the worker's child processes, for information only
    had_children: bool = False  # the call started at least one process
    profile: dict | None = None  # with train(profile=True): the top functions by cumulative time

    @property
    def seconds(self) -> float:
        """Time charged against a speed limit: CPU time for a serial call, wall time once it started a process."""
        if self.had_children or self.cpu_s <= 0:
            return self.wall_s
        return min(self.wall_s, self.cpu_s)

    @property
    def peak_bytes(self) -> int:
        """The larger of the sampled and the OS-recorded peak (above the pre-call level)."""
        return max(self.peak_sampled or 0, self.peak_os or 0)

    def describe_memory(self) -> str:
        os_part = f"{mb(self.peak_os)} by {self.os_source}" if self.peak_os is not None else "no OS figure here"
        kids = f"; child processes, not charged: {mb(self.children_peak)}" if self.children_peak else ""
        return f"sampled {mb(self.peak_sampled or 0)} in {self.samples} samples, {os_part}{kids}"


# --- worker side ------------------------------------------------------------------------------------------------


def _proc_status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class OsPeak:
    """The worker's own OS record of its peak memory and its children's CPU: reset before a call, read after."""

    def __init__(self):
        self.source: str | None = None
        self.rss_before = 0

    def before(self) -> None:
        import resource

        self.children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        if sys.platform.startswith("linux"):
            self.rss_before = _proc_status_kb("VmRSS") * 1024
            try:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")  # resets VmHWM to the current RSS
                self.source = "VmHWM"
            except OSError:
                self.source = None
        elif sys.platform == "darwin":
            self.rss_before = psutil.Process().memory_info().rss
            # ru_maxrss (bytes on macOS) cannot be reset; meaningful only if no earlier peak was higher
            self.maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.source = "ru_maxrss"

    def after(self) -> dict:
        """{"os_peak": bytes above the pre-call RSS or None, "os_source", "children_cpu": CPU s of reaped children}."""
        import resource

        peak = None
        if self.source == "VmHWM":
            peak = max(0, _proc_status_kb("VmHWM") * 1024 - self.rss_before)
        elif self.source == "ru_maxrss":
            now = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            # a lifetime peak that predates the call says nothing about the call: no OS figure, rather than 0
            peak = max(0, now - self.rss_before) if now > self.maxrss_before else None
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        reaped = (kids.ru_utime + kids.ru_stime) - (self.children_before.ru_utime + self.children_before.ru_stime)
        return {"os_peak": peak, "os_source": self.source, "children_cpu": reaped}


def calibration_workload(rounds: int = 6) -> int:
    """A fixed pure-Python workload (dict counting over int pairs, list rebuilding, max with a key): the kind of work
    BPE code does. Ints only, so its speed does not depend on the per-process string hash seed."""
    words = [tuple((i * 7919 + j * 104729) % 61 for j in range(2 + i % 7)) for i in range(6000)]
    checksum = 0
    for _ in range(rounds):
        for _ in range(4):
            counts: dict[tuple[int, int], int] = {}
            for word in words:
                for pair in itertools.pairwise(word):
                    counts[pair] = counts.get(pair, 0) + 1
            best = max(counts, key=lambda p: (counts[p], p))
            merged = []
            for word in words:
                out, i = [], 0
                while i < len(word):
                    if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                        out.append(best[0])
                        i += 2
                    else:
                        out.append(word[i])
                        i += 1
                merged.append(tuple(out))
            checksum = (checksum * 31 + len(counts) + best[0] * 61 + best[1]) % 1_000_003
        checksum += sum(map(len, merged))
    return checksum


TOP_FUNCTIONS = 25


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":  # a builtin
        return name
    parts = filename.replace(os.sep, "/").split("/")
    return f"{'/'.join(parts[-2:])}:{line}({name})"


def profile_call(fn, *args, top: int = TOP_FUNCTIONS, **kwargs) -> tuple[Any, dict]:
    """(fn(*args, **kwargs), profile), run in the worker: the `top` functions by cumulative time, each {"function",
    "ncalls", "tottime", "cumtime"} (seconds), plus "total_s" (wall time under the profiler). Plain data."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    started = time.perf_counter()
    result = profiler.runcall(fn, *args, **kwargs)
    total = time.perf_counter() - started
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (primitive calls, calls, tottime, cumtime, callers)}
    rows = sorted(stats.items(), key=lambda kv: kv[1][3], reverse=True)[:top]
    return result, {
        "total_s": round(total, 4),
        "note": "cProfile sees this process only; time spent in child processes shows as waiting on them",
        "top": [{"function": _where(key), "ncalls": f"{nc}/{cc}" if nc != cc else str(nc),
                 "tottime": round(tt, 4), "cumtime": round(ct, 4)} for key, (cc, nc, tt, ct, _) in rows],
    }


# --- harness side -----------------------------------------------------------------------------------------------


def _unique_memory(proc) -> int:
    """Memory only this process holds (so a forked pool child is not charged for pages it shares)."""
    try:
        return proc.memory_full_info().uss
    except (psutil.AccessDenied, NotImplementedError):
        try:
            return proc.memory_info().rss
        except (psutil.Error, OSError):
            return 0
    except (psutil.Error, OSError):
        return 0


def cpu_seconds(proc: psutil.Process, kids: dict) -> float:
    """CPU seconds of the worker and its live descendants (`kids`: pid -> Process)."""
    total = 0.0
    with contextlib.suppress(psutil.Error, OSError):
        t = proc.cpu_times()
        total = t.user + t.system
    for child in list(kids.values()):
        with contextlib.suppress(psutil.Error, OSError):
            c = child.cpu_times()
            total += c.user + c.system
    return total


class Sampler:
    """Peak worker RSS, sampled every SAMPLE_PERIOD seconds during a call; its child processes (seen, their CPU,
    their peak unique memory); and a progress callback every PROGRESS_PERIOD seconds.

    One thread per worker, started once and idle between calls (a thread per call costs more than a short call)."""

    def __init__(self, proc: psutil.Process):
        self.proc = proc
        self.active, self.idle, self.finishing = threading.Event(), threading.Event(), threading.Event()
        self.closed = False
        self.idle.set()
        self.thread: threading.Thread | None = None
        self.on_progress: Callable[[Progress], None] | None = None
        self.kids: dict[int, psutil.Process] = {}
        self.spawned = False  # any call measured here started a process

    def begin(self, on_progress: Callable[[Progress], None] | None = None) -> None:
        """Start measuring a call: the baseline is the worker's RSS now."""
        # A worker is idle between calls: whatever it runs during a call is the call's, so the children's baseline
        # is zero (and their first scan happens in the sampling thread, not here).
        self.kids, self.ever_had_kids = {}, False
        self.kid_memory = self.kid_peak = self.kid_baseline = 0
        try:
            self.baseline = self.proc.memory_info().rss
        except (psutil.Error, OSError):
            self.baseline = 0
        self.peak, self.rss, self.samples, self.count = self.baseline, self.baseline, 0, 0
        self.on_progress, self.started = on_progress, time.perf_counter()
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        self.idle.clear()
        self.finishing.clear()
        self.active.set()

    def scan_children(self) -> None:
        try:
            current = {c.pid: c for c in self.proc.children(recursive=True)}
        except (psutil.Error, OSError):
            return
        self.kids = {pid: self.kids.get(pid, c) for pid, c in current.items()}
        self.ever_had_kids = self.ever_had_kids or bool(current)
        self.spawned = self.spawned or self.ever_had_kids
        self.kid_memory = sum(_unique_memory(c) for c in self.kids.values())
        self.kid_peak = max(self.kid_peak, self.kid_memory)

    def _run(self) -> None:
        while self.active.wait() and not self.closed:
            next_scan = next_progress = time.perf_counter()
            while not self.finishing.is_set():
                self.sample()
                now = time.perf_counter()
                if now >= next_scan:
                    self.scan_children()
                    next_scan = now + CHILD_SCAN_PERIOD
                if self.on_progress is not None and now >= next_progress:
                    next_progress = now + PROGRESS_PERIOD
                    with contextlib.suppress(Exception):
                        self.on_progress(self.progress())
                self.finishing.wait(SAMPLE_PERIOD)
            self.active.clear()
            self.idle.set()

    def progress(self) -> Progress:
        return Progress(time.perf_counter() - self.started, self.rss, max(0, self.peak - self.baseline),
                        self.kid_memory, self.count)

    def sample(self) -> None:
        try:
            self.rss = self.proc.memory_info().rss
        except (psutil.Error, OSError):
            return
        self.samples += 1
        self.peak = max(self.peak, self.rss)

    def finish(self) -> tuple[int, int]:
        """(worker peak above baseline, children's peak unique memory above theirs)."""
        self.finishing.set()
        self.idle.wait(1.0)
        self.sample()
        return max(0, self.peak - self.baseline), max(0, self.kid_peak - self.kid_baseline)

    def close(self) -> None:
        self.closed = True
        self.finishing.set()
        self.active.set()  # wakes the thread so it can end
