"""--self-test: grade the reference as a submission, with the hidden tests: it must score full marks."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bpe_harness.judge.console import format_table
from bpe_harness.judge.grade import grade
from staff.grading.staff_judge import reference_submission, staff_options


def self_test(timeout: float) -> int:
    """Grade the reference as a submission with the hidden tests: must be full marks."""
    with tempfile.TemporaryDirectory() as tmp:
        sub = reference_submission(Path(tmp) / "reference")
        results, code = grade(sub, Path(tmp) / "results.json", staff_options(timeout=timeout))
    print(format_table(results))
    full = results["score"] == results["extra_data"]["max_score"] > 0
    return 0 if code == 0 and full else 1
