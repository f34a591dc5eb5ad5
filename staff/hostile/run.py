"""Grade hostile cases with the real judge and check each outcome: score, reason, valid JSON, no process left.

    uv run python -m staff.hostile [NAME ...] [--jobs N]     # table: case, expected, score, seconds, reason
    uv run python -m staff.hostile --json                   # the same as one JSON document (staff.tiers reads it)

Used by staff/tests/test_grader.py; the command prints the measured table (staff/README.md names it, quotes none).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bpe_harness.judge.grade import GradeOptions, grade
from bpe_harness.sandbox import UID_RANGE
from staff.hostile.cases import CASES, FULL, WEAK, Case, materialize, tier_key


@dataclass
class Outcome:
    case: Case
    score: float
    max_score: float
    seconds: float
    reason: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def sandbox_processes() -> list:
    import psutil

    found = []
    for p in psutil.process_iter(["uids", "cmdline"]):
        uids = p.info.get("uids")
        if uids is not None and (uids.real in UID_RANGE or uids.effective in UID_RANGE):
            found.append(p)
    return found


def run_case(case: Case, timeout: float = 540) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        submission = materialize(case, Path(tmp) / case.name)
        out = Path(tmp) / "out" / "results.json"
        start = time.monotonic()
        options = GradeOptions(tests=list(case.tests_in(tier_key())), timeout=timeout, env=dict(case.env))
        results, code = grade(submission, out, options)
        seconds = time.monotonic() - start
        problems = []
        try:
            written = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            written = None
            problems.append(f"results.json missing or invalid: {e}")
        if written is not None and written != json.loads(json.dumps(results)):
            problems.append("results.json differs from what the grader computed")
    failing = [t for t in results["tests"] if t["score"] < t["max_score"] or t["status"] == "failed"]
    reason = (failing[0].get("reason") or failing[0]["output"]).splitlines()[0] if failing else ""
    detail = " ".join((t.get("reason", "") + " " + t["output"]) for t in failing[:3])
    top = results["extra_data"]["max_score"]
    expected = case.expected_in(tier_key())
    if expected == WEAK:  # not a boundary in this tier: only that grading itself held
        return Outcome(case, results["score"], top, seconds, reason, problems)
    want = top if expected == FULL else float(expected)
    if code != 0 and case.name not in ("import_error", "syntax_error", "missing_functions"):
        problems.append(f"grader exit code {code}")
    if results["score"] != want or (expected == FULL and top <= 0):
        problems.append(f"score {results['score']:g}/{top:g}, expected {want:g}")
    if case.reason and want < top and not re.search(case.reason, detail):
        problems.append(f"reason {reason!r} does not match /{case.reason}/")
    return Outcome(case, results["score"], top, seconds, reason, problems)


def leftovers(before: set[int]) -> list:
    """Processes still running that grading started: our new descendants, and anything of a sandbox uid."""
    import psutil

    time.sleep(0.2)
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()]
    return left + sandbox_processes()


def run_cases(cases: list[Case], jobs: int = 3) -> tuple[list[Outcome], list]:
    """(outcomes, processes left behind once every case is graded)."""
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    tier = tier_key()
    longest_first = sorted(cases, key=lambda c: c.tests_in(tier) != ("tests",))  # a whole-suite case: the long pole
    with ThreadPoolExecutor(jobs) as pool:
        done = {o.case.name: o for o in pool.map(run_case, longest_first)}
    outcomes = [done[c.name] for c in cases]
    return outcomes, leftovers(before)


def main(argv=None) -> int:
    import argparse

    from staff.hostile.cases import by_name

    parser = argparse.ArgumentParser(prog="python -m staff.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON document (the table goes to stderr)")
    args = parser.parse_args(argv)
    cases = [by_name(n) for n in args.names] if args.names else CASES
    outcomes, left = run_cases(cases, args.jobs)
    table = sys.stderr if args.json else sys.stdout
    tier = tier_key()
    print(f"sandbox tier: {tier}", file=table)
    print(f"{'case':24} {'expected':>8} {'score':>9} {'time s':>7}  reason", file=table)
    for o in outcomes:
        flag = "" if o.ok else "   <-- " + "; ".join(o.problems)
        expected = expected_label(o.case.expected_in(tier))
        line = f"{o.case.name:24} {expected:>8} {o.score:>4g}/{o.max_score:<4g} {o.seconds:7.1f}  {o.reason[:80]}{flag}"
        print(line, file=table)
    if left:
        print(f"PROCESSES LEFT RUNNING: {[p.pid for p in left][:10]}", file=table)
    if args.json:
        print(json.dumps(report(outcomes, left, tier)))
    return 0 if all(o.ok for o in outcomes) and not left else 1


def expected_label(wanted) -> str:
    return {FULL: "full", WEAK: "(weak)"}.get(wanted, str(wanted))


def report(outcomes: list[Outcome], left: list, tier: str) -> dict:
    """What `--json` prints: the tier, each case's expected and measured outcome, the processes left running."""
    return {
        "tier": tier,
        "cases": [
            {
                "case": o.case.name,
                "expected": expected_label(o.case.expected_in(tier)),
                "score": o.score,
                "max_score": o.max_score,
                "seconds": round(o.seconds, 1),
                "reason": o.reason,
                "ok": o.ok,
                "problems": o.problems,
            }
            for o in outcomes
        ],
        "left_running": [p.pid for p in left],
    }
