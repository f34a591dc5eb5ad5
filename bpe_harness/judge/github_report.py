"""The grade in GitHub: the score on the check, the table in the job summary, the points for GitHub Classroom.

    python -m bpe_harness.judge.github_report results.json      (the workflow's step after bpe_harness.judge.grade)

Writes the score as the check's annotation and the table into $GITHUB_STEP_SUMMARY; sets the step output `result`
to the payload GitHub Classroom's reporter action reads (base64 JSON: status, max_score, one entry per test with its
score), so a Classroom assignment records the same points. Exits 1 unless every point was earned, so the check is
red until the work is done (a green check at 0 points said the opposite of the grade).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path


def classroom_payload(results: dict) -> dict:
    """results.json (Gradescope's shape) in the shape GitHub Classroom's grading reporter reads."""
    tests = [
        {
            "name": t["name"],
            "status": "pass" if t["status"] == "passed" else "fail",
            "score": t["score"],
            "max_score": t["max_score"],
            "message": t.get("reason") or "",
        }
        for t in results["tests"]
    ]
    max_score = results["extra_data"]["max_score"]
    status = "pass" if tests and results["score"] == max_score else "fail"
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def summary_markdown(results: dict) -> str:
    lines = [
        f"## Grade (public tests): {results['score']:g}/{results['extra_data']['max_score']:g}",
        "",
        "| test | points | status | reason |",
        "|---|---|---|---|",
    ]
    for t in results["tests"]:
        reason = (t.get("reason") or "").replace("|", "\\|").replace("\n", " ")[:120]
        lines.append(
            f"| `{t['name']}` | {t['score']:g}/{t['max_score']:g} | {t.get('outcome', t['status'])} | {reason} |"
        )
    return "\n".join(lines) + "\n\n```\n" + str(results.get("output", "")) + "\n```\n"


def _append(variable: str, text: str) -> None:
    path = os.environ.get(variable)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bpe_harness.judge.github_report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("results", type=Path, nargs="?", default=Path("results.json"))
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text(encoding="utf-8"))
        score, total = results["score"], results["extra_data"]["max_score"]
    except (OSError, ValueError, KeyError) as e:
        print(f"::error title=Grade::no grade: {args.results} cannot be read ({e}); see the Grade step's log")
        _append("GITHUB_STEP_SUMMARY", f"## Grade\n\nno grade: {args.results} cannot be read ({e})\n")
        return 1
    payload = base64.b64encode(json.dumps(classroom_payload(results)).encode()).decode()
    _append("GITHUB_OUTPUT", f"result={payload}\nscore={score:g}\nmax_score={total:g}\n")
    _append("GITHUB_STEP_SUMMARY", summary_markdown(results))
    level = "notice" if score == total else "error"
    print(f"::{level} title=Grade::{score:g}/{total:g} points on the public tests (table in the job summary)")
    return 0 if score == total and total > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
