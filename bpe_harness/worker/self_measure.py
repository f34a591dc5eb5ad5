"""What the worker measures of itself during a call: the OS's own peak-memory record (reset before, read after),
the calibration workload the limits are scaled by, and an optional profile of the call. Standard library only; the
whole tree's time and memory are measured from outside (bpe_harness/client/measure.py)."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def _proc_status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class OsPeak:
    """The worker's own OS record of its peak memory: reset before a call, read after."""

    def __init__(self) -> None:
        self.source: str | None = None
        self.rss_before = 0
        self.maxrss_before = 0  # macOS only: ru_maxrss before the call

    def before(self) -> None:
        import resource

        if sys.platform.startswith("linux"):
            self.rss_before = _proc_status_kb("VmRSS") * 1024
            try:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")  # resets VmHWM to the current RSS
                self.source = "VmHWM"
            except OSError:
                self.source = None
        elif sys.platform == "darwin":
            # ru_maxrss (bytes on macOS) cannot be reset: the call's figure is how far it raised the lifetime peak
            # (the harness samples the resident size from outside as well)
            self.maxrss_before = self.rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.source = "ru_maxrss"

    def after(self) -> dict:
        """{"os_peak": bytes above the pre-call RSS or None, "os_source"}. (Children's CPU is read from outside.)"""
        import resource

        peak = None
        if self.source == "VmHWM":
            peak = max(0, _proc_status_kb("VmHWM") * 1024 - self.rss_before)
        elif self.source == "ru_maxrss":
            now = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            # a lifetime peak that predates the call says nothing about the call: no OS figure, rather than 0
            peak = max(0, now - self.rss_before) if now > self.maxrss_before else None
        return {"os_peak": peak, "os_source": self.source}


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


def profile_call(fn: Callable[..., Any], *args: Any, top: int = TOP_FUNCTIONS, **kwargs: Any) -> tuple[Any, dict]:
    """(fn(*args, **kwargs), profile), run in the worker: the `top` functions by cumulative time, each {"function",
    "ncalls", "tottime", "cumtime"} (seconds), plus "total_s" (wall time under the profiler). Plain data."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    started = time.perf_counter()
    result = profiler.runcall(fn, *args, **kwargs)
    total = time.perf_counter() - started
    # {(file, line, name): (primitive calls, calls, tottime, cumtime, callers)}; typeshed does not declare `stats`
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda kv: kv[1][3], reverse=True)[:top]
    return result, {
        "total_s": round(total, 4),
        "note": "cProfile sees this process only; time spent in child processes shows as waiting on them",
        "top": [
            {
                "function": _where(key),
                "ncalls": f"{nc}/{cc}" if nc != cc else str(nc),
                "tottime": round(tt, 4),
                "cumtime": round(ct, 4),
            }
            for key, (cc, nc, tt, ct, _) in rows
        ],
    }
