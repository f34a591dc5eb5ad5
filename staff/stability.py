"""Are the limit tests stable? Run tests/test_limits.py many times for the reference and each bad variant.

    uv run python -m staff.stability --runs 20 [--load]

Each round runs the graded limit tests once per implementation, each in its own child pytest (as a student would),
in an interleaved order: every limit test for the good implementations, and for each bad variant the one test it
must fail (--every-test: all of them, for the report; what is checked is the same). With --load, a busy-loop process
runs the whole time, pinned to the last CPU where the OS allows, to show that other work on the machine does not flip
an outcome. Prints, per implementation and test, how often it passed, and the spread of the measured values relative
to their limits (from CS336_LIMITS_LOG). Exits 1 unless every good implementation passed every test in every round
and every bad variant failed its own limit test in every round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from staff.bad import LIMIT_TESTS
from staff.tests.runpytest import run_suite

GOOD = ["reference"]
BAD = {variant: test for variant, (test, _words, _bug) in LIMIT_TESTS.items()}  # variant -> the limit test it must fail
TESTS = "tests/test_limits.py"


def start_load() -> subprocess.Popen:
    """A process that keeps one CPU busy, on the last CPU if the OS lets us choose."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        try:
            os.sched_setaffinity(busy.pid, {os.cpu_count() - 1})
        except OSError:
            pass
    return busy


def run_once(impl: str, log: Path, workdir: Path, only: str | None = None) -> dict[str, str]:
    """test name -> status, for one child pytest run of the limit tests with `impl` (`only`: that test alone)."""
    os.environ["CS336_LIMITS_LOG"] = str(log)
    _, outcomes = run_suite(workdir, TESTS, "--impl", impl, *(["-k", only] if only else []), timeout=1800)
    return {o.test.rsplit("::", 1)[-1]: o.status for o in outcomes}


def spread(log: Path) -> dict[str, list[float]]:
    """what -> measured/limit ratios (speed: seconds/allowed; memory: peak/budget; timeouts count as > 1)."""
    ratios: dict[str, list[float]] = defaultdict(list)
    if not log.exists():
        return ratios
    for line in log.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["kind"] == "speed":
            ratios[r["what"]].append(r["seconds"] / r["allowed"] if "seconds" in r else float("inf"))
        elif r["kind"] == "memory":
            ratios[r["what"]].append(r["peak"] / r["budget"] if "peak" in r else float("inf"))
        elif r["kind"] == "calibration":
            ratios["calibration (s)"].append(r["seconds"])
    return ratios


def report(counts, ratios, runs: int, good: list[str], bad: dict[str, str]) -> bool:
    ok = True
    for impl in [*good, *bad]:
        own = bad.get(impl)
        print(f"\n{impl}" + (f"  (must fail {own})" if own else "  (must pass everything)"))
        for test, statuses in sorted(counts[impl].items()):
            passed = statuses.count("passed")
            verdict = ""
            if own is None and passed != runs:
                verdict, ok = "  <-- NOT STABLE", False
            if own == test and passed != 0:
                verdict, ok = "  <-- NOT CAUGHT EVERY TIME", False
            print(f"  {test:50s} passed {passed}/{len(statuses)}{verdict}")
        for what, values in sorted(ratios[impl].items()):
            finite = [v for v in values if v != float("inf")]
            timeouts = len(values) - len(finite)
            span = f"{min(finite):.3f} .. {max(finite):.3f}" if finite else "-"
            label = "seconds" if what.startswith("calibration") else "of the limit"
            print(f"    {what[:80]:80s} {span} {label}" + (f", {timeouts} stopped at the timeout" if timeouts else ""))
        if own and own not in counts[impl]:
            print(f"  {own}: never ran  <-- ERROR")
            ok = False
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load", action="store_true", help="keep one CPU busy with another process meanwhile")
    parser.add_argument("--good", action="append", help="implementation that must pass everything (default: reference)")
    parser.add_argument("--bad", action="append", choices=sorted(BAD), help="bad variants to run (default: all)")
    parser.add_argument(
        "--every-test",
        action="store_true",
        help="bad variants run every limit test, not only the one they must fail (what is checked is the same; "
        "the report also shows how the others went)",
    )
    args = parser.parse_args(argv)
    good = args.good or GOOD
    bad = {b: BAD[b] for b in (args.bad or BAD)}
    counts: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    busy = start_load() if args.load else None
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            logs = {impl: Path(tmp) / f"{impl}.log" for impl in [*good, *bad]}
            for round_ in range(1, args.runs + 1):
                for impl in [*good, *bad]:
                    workdir = Path(tmp) / f"{impl}-{round_}"
                    workdir.mkdir()
                    only = None if args.every_test else bad.get(impl)
                    for test, status in run_once(impl, logs[impl], workdir, only).items():
                        counts[impl][test].append(status)
                elapsed = time.monotonic() - started
                print(f"round {round_}/{args.runs} done, {elapsed:.0f} s", flush=True)
            ratios = {impl: spread(log) for impl, log in logs.items()}
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    print(f"\n{args.runs} rounds{' under load' if args.load else ''} in {time.monotonic() - started:.0f} s")
    ok = report(counts, ratios, args.runs, good, bad)
    print("\nSTABLE" if ok else "\nNOT STABLE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
