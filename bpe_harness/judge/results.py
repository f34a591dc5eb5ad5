"""Verdicts -> Gradescope's results.json: the manifest and verdicts the judge's pytest wrote, validated (types and
sizes: that process ran beside submission code, so its files are read as untrusted), then scored. A test without a
verdict (a crash, the overall timeout, a missing file) scores 0 with the reason, never a pass.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bpe_harness.judge.run import JudgeRun

STATUSES = {"passed", "failed", "error", "skipped"}
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's
MAX_VERDICTS_BYTES = 8 << 20  # verdicts.jsonl read at most this much
SPEED_TESTS = {"train_seconds": "test_training_speed", "encode_seconds": "test_encoding_speed"}
MISSING_SPEED = 1e6  # leaderboard value when a speed figure is unavailable (no nulls allowed; sorts last)
LOAD_AFFECTED_NOTE = (
    "load-affected: a call of this test timed out or was charged its wall time while the machine had no idle CPU "
    "(other programs had it), so this verdict may be the machine's, not your code's"
)

Results = dict[str, Any]  # Gradescope's results.json, as a dict


def valid_manifest(path: Path) -> list[dict[str, Any]] | None:
    """The tests the judge collected (node id, points, visibility), or None when the file is missing or malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(data, list) and all(
        isinstance(t, dict)
        and isinstance(t.get("nodeid"), str)
        and len(t["nodeid"]) < 1000
        and isinstance(t.get("points"), (int, float))
        and math.isfinite(t["points"])
        and 0 <= t["points"] <= 1000
        and t.get("visibility") in VISIBILITIES
        for t in data
    )
    return data if ok else None


def _valid_verdict(v: object) -> dict[str, Any] | None:
    if not (
        isinstance(v, dict)
        and isinstance(v.get("nodeid"), str)
        and v.get("status") in STATUSES
        and isinstance(v.get("reason"), str)
        and isinstance(v.get("output"), str)
        and isinstance(v.get("duration"), (int, float))
        and math.isfinite(v["duration"])
    ):
        return None
    return {
        "nodeid": v["nodeid"],
        "status": v["status"],
        "reason": v["reason"][:300],
        "output": v["output"][:4000],
        "duration": max(0.0, float(v["duration"])),
        "load_affected": v.get("load_affected") is True,
    }


def valid_verdicts(path: Path) -> dict[str, dict[str, Any]]:
    """nodeid -> verdict; malformed lines are dropped (their tests then score 0 as 'no verdict')."""
    verdicts: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return verdicts
    with open(path, "rb") as f:
        data = f.read(MAX_VERDICTS_BYTES)
    for line in data.splitlines():
        try:
            v = _valid_verdict(json.loads(line))
        except ValueError:
            continue
        if v is None:
            continue
        previous = verdicts.get(v["nodeid"])
        if previous is None or previous["status"] == "passed":  # the first failure of a test wins
            verdicts[v["nodeid"]] = v
    return verdicts


def _judge_failure_reason(run: JudgeRun) -> str:
    if run.timed_out:
        return f"the judge was stopped after {run.seconds:.0f} s (overall time limit): this test never finished"
    last = [ln for ln in run.log_tail.strip().splitlines() if ln.strip()]
    return f"the judge stopped (exit code {run.returncode}) before this test reported" + (
        f": {last[-1][:200]}" if last else ""
    )


def failed_before_tests(run: JudgeRun) -> dict[str, Any]:
    """The one entry of a grading that failed before any test ran (no manifest), with the log's last lines."""
    last = [ln for ln in run.log_tail.strip().splitlines() if ln.strip()]
    return {
        "name": "judge",
        "number": "0",
        "score": 0.0,
        "max_score": 0.0,
        "status": "failed",
        "output": "grading failed before any test ran: "
        + ("the judge timed out" if run.timed_out else f"exit code {run.returncode}")
        + "\n"
        + "\n".join(last[-15:]),
        "visibility": "visible",
        "reason": "grading failed",
    }


def _test_entry(t: dict[str, Any], v: dict[str, Any] | None, run: JudgeRun, number: int) -> dict[str, Any]:
    """Gradescope's entry for manifest test `t` with its verdict `v` (None: it never reported, 0 points)."""
    load_affected, retried, note = False, False, ""
    if v is None:
        status, reason, output, score, duration = "failed", _judge_failure_reason(run), "", 0.0, 0.0
    else:
        status, reason, output, duration = v["status"], v["reason"], v["output"], v["duration"]
        score = t["points"] if status == "passed" else 0.0
        load_affected, retried = v.get("load_affected", False), v.get("retried_for_load", False)
        if load_affected:
            note = f"{LOAD_AFFECTED_NOTE}{' (also when graded again alone)' if retried else ''}\n\n"
        elif retried:
            note = f"graded again alone: its first run was load-affected ({LOAD_AFFECTED_NOTE[15:]})\n\n"
    return {
        "name": t["nodeid"],
        "number": str(number),
        "score": float(score),
        "max_score": float(t["points"]),
        "status": "passed" if status == "passed" else "failed",
        "output": note + (f"{status}: {reason}\n\n{output}" if reason or output else status).strip(),
        "visibility": t["visibility"],
        "reason": reason,
        "outcome": status,
        "execution_time": round(duration, 3),
        "load_affected": load_affected,
        "retried_for_load": retried,
    }


def _header(meta: dict[str, Any], run: JudgeRun, tests: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> str:
    """results.json's top-level output: kit, Python, the visible score, the sandbox, ignored files, notes."""
    shown = [t for t in tests if t["visibility"] == "visible"]
    shown_score, shown_total = sum(t["score"] for t in shown), sum(t["max_score"] for t in shown)
    header = (
        f"kit {meta['kit_version']}, Python {meta['python']}; {shown_score:g}/{shown_total:g} points in "
        f"{run.seconds:.1f} s"
    )
    if len(shown) < len(tests):
        header += f" (visible tests; {len(tests) - len(shown)} more tests are shown after the due date)"
    if run.sandbox:
        header += f"\nsandbox: tier {run.sandbox['tier']}" + (
            f" ({run.sandbox['isolation']}; accounting: {run.sandbox['accounting']})"
            if "isolation" in run.sandbox
            else ""
        )
        for note in run.sandbox.get("notes", []):
            header += f"\nsandbox note: {note}"
    if meta.get("ignored"):
        header += f"\nignored (not student-owned): {', '.join(meta['ignored'][:30])}"
    for note in meta.get("notes", []):
        header += f"\nnote: {note}"
    for t in skipped:
        header += f"\nskipped (not graded, {t['points']:g} points not counted): {t['name']}: {t['reason']}"
    return header


def build_results(
    manifest: list[dict[str, Any]] | None, verdicts: dict[str, dict[str, Any]], run: JudgeRun, meta: dict[str, Any]
) -> Results:
    """Gradescope results.json from the validated judge outputs. No verdict => 0 points with the reason."""
    tests = [] if manifest is not None else [failed_before_tests(run)]
    skipped = []  # left out of Gradescope's tests (it would show a red "failed 0/0"); named in the output instead
    for t in manifest or []:
        entry = _test_entry(t, verdicts.get(t["nodeid"]), run, len(tests) + 1)
        if entry["outcome"] == "skipped":
            skipped.append({"name": t["nodeid"], "reason": entry["reason"], "points": float(t["points"])})
        else:
            tests.append(entry)
    # what a student may see before the due date: the visible tests only (Gradescope shows the top-level output and
    # the leaderboard at once, whatever the tests' visibility; the total itself it holds back while a test is not
    # visible)
    shown = [t for t in tests if t["visibility"] == "visible"]
    shown_score, shown_total = sum(t["score"] for t in shown), sum(t["max_score"] for t in shown)
    speed = {
        name: next(
            (round(t["execution_time"], 3) for t in tests if t["name"].endswith(test) and t.get("outcome") == "passed"),
            MISSING_SPEED,
        )
        for name, test in SPEED_TESTS.items()
    }
    return {
        "score": float(sum(t["score"] for t in tests)),
        "execution_time": round(run.seconds, 3),
        "output": _header(meta, run, tests, skipped),
        "tests": tests,
        "leaderboard": [
            {"name": "score", "value": float(shown_score), "order": "desc"},  # visible tests: the class sees it
            *({"name": k, "value": v, "order": "asc"} for k, v in speed.items()),
        ],
        "extra_data": {
            "kit_version": meta["kit_version"],
            "python": meta["python"],
            "max_score": float(sum(t["max_score"] for t in tests)),
            "visible_score": float(shown_score),
            "visible_max_score": float(shown_total),
            "judge_exit": run.returncode,
            "judge_timed_out": run.timed_out,
            "leftover_processes_killed": run.leftovers,
            "skipped": skipped,
            "sandbox": run.sandbox,
            "load_affected": any(t.get("load_affected") for t in tests),
        },
    }
