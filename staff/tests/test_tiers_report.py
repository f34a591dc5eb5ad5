"""staff.tiers reads its checks' JSON, not their tables: what `staff.hostile --json`, `staff.grade --self-test
--json` and `python -m staff.tests.runpytest` print is what its summaries read, and anything else is said to be no
report instead of passing as a summary. ~3 s (one child pytest of a small staff test file)."""

from __future__ import annotations

import json
import subprocess
import sys

from bpe_harness.settings import ROOT
from staff.hostile.cases import by_name
from staff.hostile.run import Outcome, report
from staff.tiers import outcome


def done(stdout: str, code: int = 0) -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess([], code, stdout, "the table, on stderr")


def test_the_hostile_report_is_what_tiers_reads():
    outcomes = [
        Outcome(by_name("segfault"), 0.0, 10.0, 3.0, "SIGSEGV", []),
        Outcome(by_name("fake_results"), 10.0, 10.0, 2.0, "", []),
        Outcome(by_name("infinite_loop"), 10.0, 10.0, 9.0, "", ["score 10/10, expected 0"]),
    ]
    printed = "sandbox: tier user\n" + json.dumps(report(outcomes, [], "user")) + "\n"
    assert outcome("hostile", done(printed)) == (
        "2/3 cases as expected; wrong: ['infinite_loop']; not a boundary here: fake_results"
    )


def test_a_self_test_report_and_a_gradescope_results_json_are_read():
    self_test = {"score": 130.0, "max_score": 130.0, "tier": "root", "judge_exit": 0, "not_full": []}
    assert outcome("self-test", done(json.dumps(self_test) + "\n")) == "130/130 points, tier root"
    results = {"score": 130.0, "extra_data": {"max_score": 130.0, "sandbox": {"tier": "root"}}, "tests": [{}] * 3}
    printed = "run_autograder's output\n" + json.dumps(results, indent=2)
    assert outcome("gradescope", done(printed)) == "results.json 130/130, tier root, 3 tests"


def test_the_child_pytest_report_is_what_tiers_reads():
    proc = subprocess.run(
        [sys.executable, "-m", "staff.tests.runpytest", "staff/tests/test_files.py", "-k", "failed_write"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "passed" in proc.stderr, proc.stdout + proc.stderr
    assert outcome("tree", proc) == "1 passed", proc.stdout


def test_no_json_or_the_wrong_json_is_said_not_read_as_a_summary():
    assert outcome("tree", done("5 passed in 3.0s\n", 1)).startswith("no JSON report: 5 passed")
    assert outcome("self-test", done('{"score": 1}\n')).startswith("unexpected JSON report (KeyError")
