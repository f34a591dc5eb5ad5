"""Where the trainer spends its time: cProfile around one call, summarized as plain data (never pickle).

`profile_call` is meant to run inside the worker, next to the code it measures; its result is JSON-safe and crosses
the process boundary as text. Until the worker has an operation for it, `train --profile` loads the implementation
through `bpe_harness.experiments.profiled`, an adapter module the worker imports like any --impl.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from typing import Any

TOP = 25


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":  # a builtin
        return name
    parts = filename.replace(os.sep, "/").split("/")
    return f"{'/'.join(parts[-2:])}:{line}({name})"


def profile_call(fn, *args, top: int = TOP, **kwargs) -> tuple[Any, dict]:
    """(fn(*args, **kwargs), profile): the `top` functions by cumulative time, each {"function", "ncalls",
    "tottime", "cumtime"} (seconds), plus "total_s" (wall time of the call under the profiler)."""
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


PROFILED_IMPL = "bpe_harness.experiments.profiled"


class ProfileEnv:
    """A Client `sandbox` that only tells the worker's `profiled` adapter what to wrap and where to write."""

    def __init__(self, impl: str, out_path):
        if os.path.isfile(impl):  # a path given relative to here must survive the worker's own cwd
            impl = os.path.abspath(impl)
        self.impl, self.out_path = impl, os.fspath(out_path)

    def popen_kwargs(self, options: dict) -> dict:
        env = dict(options.get("env") or os.environ)
        env.update(CS336_PROFILE_IMPL=self.impl, CS336_PROFILE_OUT=self.out_path)
        return {**options, "env": env}
