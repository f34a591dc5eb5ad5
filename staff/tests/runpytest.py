"""Run the graded suite in a child pytest and read its JUnit XML: how staff tests see per-test outcomes."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from bpe_harness.settings import ROOT


@dataclass
class Outcome:
    test: str
    status: str  # passed, failed, error, skipped
    message: str


def run_suite(
    tmp_path: Path, *args: str, timeout: float = 600, cwd: Path = ROOT
) -> tuple[subprocess.CompletedProcess, list[Outcome]]:
    report = tmp_path / "report.xml"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--junitxml={report}", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    outcomes = []
    if report.exists():
        for case in ET.parse(report).iter("testcase"):
            name = f"{case.get('classname')}::{case.get('name')}"
            status, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                node = case.find(tag)
                if node is not None:
                    status = "failed" if tag == "failure" else tag
                    message = (node.get("message") or "") + "\n" + (node.text or "")
                    break
            outcomes.append(Outcome(name, status, message))
    return proc, outcomes
