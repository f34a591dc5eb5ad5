"""--self-test: grade the reference as a submission, with the hidden tests: it must score full marks."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bpe_harness.judge.console import format_table
from bpe_harness.judge.grade import grade
from staff.grading.staff_judge import reference_submission, staff_options


def self_test(timeout: float, as_json: bool = False) -> int:
    """Grade the reference as a submission with the hidden tests: must be full marks. `as_json`: the table goes to
    stderr and stdout gets one JSON document (score, max_score, the sandbox tier, the tests not at full marks), which
    staff.tiers reads."""
    with tempfile.TemporaryDirectory() as tmp:
        sub = reference_submission(Path(tmp) / "reference")
        results, code = grade(sub, Path(tmp) / "results.json", staff_options(timeout=timeout))
    print(format_table(results), file=sys.stderr if as_json else sys.stdout)
    full = results["score"] == results["extra_data"]["max_score"] > 0
    if as_json:
        summary = {
            "score": results["score"],
            "max_score": results["extra_data"]["max_score"],
            "tier": results["extra_data"].get("sandbox", {}).get("tier"),
            "judge_exit": code,
            "not_full": [t["name"] for t in results["tests"] if t["score"] < t["max_score"]],
        }
        print(json.dumps(summary))
    return 0 if code == 0 and full else 1
