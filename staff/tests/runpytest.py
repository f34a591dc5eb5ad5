"""Run the graded suite in a child pytest and read its JUnit XML: how staff tests (and staff.mutants) see per-test
outcomes, each named by its pytest node id."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from bpe_harness.settings import ROOT


@dataclass
class Outcome:
    test: str  # the pytest node id, e.g. tests/test_train_bpe.py::test_train_matches_snapshot[minimum_vocab]
    status: str  # passed, failed, error, skipped
    message: str


def node_id(case: ET.Element, root: Path = ROOT) -> str:
    """The node id of a JUnit <testcase>: its classname is the test file's path (and any class), dotted."""
    parts = (case.get("classname") or "").split(".")
    for k in range(len(parts), 0, -1):
        path = "/".join(parts[:k]) + ".py"
        if (root / path).is_file():
            return "::".join([path, *parts[k:], case.get("name", "")])
    return "/".join(parts) + ".py::" + case.get("name", "")


def read_junit(report: Path, root: Path = ROOT) -> list[Outcome]:
    outcomes = []
    for case in ET.parse(report).iter("testcase"):
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                status = "failed" if tag == "failure" else tag
                message = (node.get("message") or "") + "\n" + (node.text or "")
                break
        outcomes.append(Outcome(node_id(case, root), status, message))
    return outcomes


def run_suite(
    tmp_path: Path, *args: str, timeout: float = 600, cwd: Path = ROOT
) -> tuple[subprocess.CompletedProcess, list[Outcome]]:
    report = tmp_path / "report.xml"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--junitxml={report}", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return proc, read_junit(report, cwd) if report.exists() else []


def main(argv: list[str] | None = None) -> int:
    """`python -m staff.tests.runpytest PYTEST_ARGS...`: run pytest, its output on stderr, and on stdout one JSON
    document of the outcomes (exit code, count per status, each test that did not pass): how staff.tiers reads a
    child pytest without parsing its summary line."""
    import json
    import tempfile
    from collections import Counter

    args = sys.argv[1:] if argv is None else argv
    with tempfile.TemporaryDirectory() as tmp:
        proc, outcomes = run_suite(Path(tmp), *args, timeout=1800)
    sys.stderr.write(proc.stdout + proc.stderr)
    summary = {
        "exit": proc.returncode,
        "counts": dict(Counter(o.status for o in outcomes)),
        "not_passed": [
            {"test": o.test, "status": o.status, "message": o.message[:500]}
            for o in outcomes
            if o.status in ("failed", "error")
        ],
    }
    print(json.dumps(summary))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
