"""The judge end to end: results.json format, hostile submissions, batch resume, the Gradescope zip, determinism.

Hostile cases run in parallel (most time is spent waiting for time limits), each expected score in the sandbox tier
this machine gives (staff/hostile/cases.py).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bpe_harness.judge.grade import GradeOptions, grade
from bpe_harness.settings import ROOT
from staff.grading.batch import batch
from staff.grading.gradescope_zip import build_gradescope_zip
from staff.grading.staff_judge import reference_submission, staff_options
from staff.hostile.cases import CASES
from staff.hostile.run import run_cases

SUBSET = ["tests/test_special_tokens.py"]


@pytest.fixture(scope="module")
def hostile_outcomes():
    """The hostile catalog graded in this machine's tier, as `python -m staff.hostile` grades it (staff.tiers runs
    that command in the other tiers): (case name -> outcome, processes left behind)."""
    outcomes, left = run_cases(CASES, jobs=4)
    return {o.case.name: o for o in outcomes}, left


@pytest.mark.slow
@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_hostile_submission(hostile_outcomes, case):
    outcome = hostile_outcomes[0][case]
    assert outcome.ok, f"{case}: " + "; ".join(outcome.problems)


@pytest.mark.slow
def test_no_process_left_behind(hostile_outcomes):
    def describe(p):
        try:
            return f"{p.pid} (uid {p.uids().real}, parent {p.ppid()}, {p.status()}): {' '.join(p.cmdline())[:200]}"
        except Exception:  # gone meanwhile
            return f"{p.pid} (gone)"

    left = [describe(p) for p in hostile_outcomes[1]]
    assert not hostile_outcomes[1], "processes left running after grading:\n" + "\n".join(left)


@pytest.mark.slow
def test_results_json_is_gradescope_shaped(tmp_path):
    sub = reference_submission(tmp_path / "ref")
    (sub / "notes.txt").write_text("not graded")
    results, code = grade(sub, tmp_path / "results.json", GradeOptions(tests=SUBSET))
    written = json.loads((tmp_path / "results.json").read_text())
    assert code == 0 and written["score"] == results["score"] == results["extra_data"]["max_score"] > 0
    assert isinstance(written["execution_time"], float)
    for t in written["tests"]:
        assert {"name", "number", "score", "max_score", "status", "output", "visibility"} <= t.keys()
        assert isinstance(t["score"], float) and isinstance(t["max_score"], float) and t["visibility"] == "visible"
    assert written["leaderboard"] and all(e["value"] is not None for e in written["leaderboard"])
    assert "notes.txt" in written["output"] and "Python" in written["output"] and "kit " in written["output"]


@pytest.mark.slow
def test_a_stub_submission_scores_zero_with_reasons(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    results, code = grade(empty, tmp_path / "results.json", GradeOptions(tests=SUBSET))
    assert code == 0 and results["score"] == 0 and results["extra_data"]["max_score"] > 0
    assert all("NotImplementedError" in t["reason"] for t in results["tests"])


@pytest.mark.slow
def test_same_submission_same_score(tmp_path):
    sub = reference_submission(tmp_path / "ref")
    (sub / "cs336_basics" / "pretokenize.py").write_text(
        (sub / "cs336_basics" / "pretokenize.py").read_text().replace("regex.escape(s) for s", "s for s")
    )
    options = staff_options(tests=[*SUBSET, "staff/hidden/test_hidden.py::test_hidden_training"], seed=7)
    first, _ = grade(sub, None, options)
    second, _ = grade(sub, None, options)
    assert 0 < first["score"] < first["extra_data"]["max_score"]
    assert [t["score"] for t in first["tests"]] == [t["score"] for t in second["tests"]]


@pytest.mark.slow
def test_batch_writes_gradebook_and_resumes(tmp_path, capsys):
    subs = tmp_path / "subs"
    reference_submission(subs / "alice")
    (subs / "bob").mkdir()
    out = tmp_path / "grading"
    options = GradeOptions(tests=SUBSET)
    assert batch(subs, out, 2, options) == 0
    rows = {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"]) > 0 and float(rows["bob"]["score"]) == 0
    assert "| score |" in (out / "summary.md").read_text()
    capsys.readouterr()
    batch(subs, out, 2, options)
    assert "0 to grade, 2 already graded" in capsys.readouterr().out


@pytest.mark.slow
def test_gradescope_zip_runs_against_a_fake_autograder_tree(tmp_path):
    zip_path = tmp_path / "autograder.zip"
    build_gradescope_zip(zip_path)
    with pytest.raises(SystemExit, match="--force"):
        build_gradescope_zip(zip_path)
    ag = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        assert {
            "setup.sh",
            "run_autograder",
            "pyproject.toml",
            "uv.lock",
            "staff/grade.py",
            "staff/grading/batch.py",
            "staff/hidden/test_hidden.py",
            "staff/reference/train.py",
            "bpe_harness/judge/grade.py",
        } <= names
        assert not [n for n in names if n.startswith(("staff/tests", "staff/mutants", "staff/hostile", ".git"))]
        assert (z.getinfo("run_autograder").external_attr >> 16) & 0o111
        z.extractall(ag / "source")
    os.chmod(ag / "source" / "run_autograder", 0o755)
    reference_submission(ag / "submission")
    env = dict(
        os.environ,
        CS336_AUTOGRADER_ROOT=str(ag),
        CS336_VENV=str(Path(sys.executable).parent.parent),
        CS336_GRADE_ARGS="--tests tests/test_special_tokens.py --tests "
        "staff/hidden/test_hidden.py::test_hidden_training_without_specials",
    )
    proc = subprocess.run(
        ["bash", str(ag / "source" / "run_autograder")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((ag / "results" / "results.json").read_text())
    hidden = [t for t in results["tests"] if t["visibility"] == "after_due_date"]
    assert hidden and results["score"] == results["extra_data"]["max_score"] > 0, proc.stdout[-2000:]


def test_zip_submission_nested_folder_and_unsafe_paths(tmp_path):
    import zipfile as zf

    from bpe_harness.judge.staging import SubmissionError, read_submission

    good = tmp_path / "good.zip"
    with zf.ZipFile(good, "w") as z:
        z.writestr("repo-main/cs336_basics/tokenizer.py", "x = 1\n")
        z.writestr("repo-main/tests/adapters.py", "y = 2\n")
        z.writestr("repo-main/tests/conftest.py", "boom\n")
        z.writestr("repo-main/cs336_basics/conftest.py", "boom\n")
        z.writestr("repo-main/README.md", "hi\n")
    (tmp_path / "s1").mkdir()
    sub = read_submission(good, tmp_path / "s1")
    assert sorted(sub.files) == ["cs336_basics/tokenizer.py", "tests/adapters.py"]
    assert {"tests/conftest.py", "cs336_basics/conftest.py", "README.md"} <= set(sub.ignored)
    bad = tmp_path / "bad.zip"
    with zf.ZipFile(bad, "w") as z:
        z.writestr("../../etc/evil.py", "x\n")
    (tmp_path / "s2").mkdir()
    with pytest.raises(SubmissionError, match="unsafe path"):
        read_submission(bad, tmp_path / "s2")
    clash, long_name = tmp_path / "clash.zip", tmp_path / "long.zip"
    with zf.ZipFile(clash, "w") as z:  # a file and a folder of one name: extracting it used to crash the judge
        z.writestr("cs336_basics", "x\n")
        z.writestr("cs336_basics/a.py", "x\n")
    with zf.ZipFile(long_name, "w") as z:
        z.writestr("cs336_basics/" + "n" * 300 + ".py", "x\n")
    for i, archive in enumerate((clash, long_name)):
        (tmp_path / f"s{3 + i}").mkdir()
        with pytest.raises(SubmissionError, match="cannot extract"):
            read_submission(archive, tmp_path / f"s{3 + i}")


def test_the_console_table_shows_control_characters_as_escapes():
    """A reason quotes the submission's own message: an ANSI escape in it would redraw a failing row as passed."""
    from bpe_harness.judge.console import format_table

    forged = "\x1b[32D    2/2  passed   \x1b[K\u202e"
    results = {
        "tests": [{"name": "t", "score": 0, "max_score": 2, "status": "failed", "reason": forged}],
        "extra_data": {"max_score": 2},
        "score": 0,
        "output": "0/2 points",
    }
    table = format_table(results)
    assert "\x1b" not in table and "\u202e" not in table and "\\x1b[32D" in table, table


@pytest.mark.slow
def test_out_file_not_ours_is_not_overwritten(tmp_path):
    mine = tmp_path / "results.json"
    mine.write_text('{"my": "notes"}')
    proc = subprocess.run(
        [sys.executable, "-m", "bpe_harness.judge.grade", str(tmp_path), "--out", str(mine)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "--force" in proc.stderr and mine.read_text() == '{"my": "notes"}'


@pytest.mark.slow
def test_tests_takes_several_and_a_failed_grading_says_why_on_stderr(tmp_path):
    """`--tests A B` grades A and B (it once took B for the submission and printed only "grading failed"); when
    grading fails, the reason is on the terminal, not only in results.json."""
    from bpe_harness.judge.grade import main

    sub = reference_submission(tmp_path / "ref")
    one = "tests/test_special_tokens.py::test_special_token_is_one_id"
    two = "tests/test_tokenizer.py::test_roundtrip_short"
    out = tmp_path / "results.json"
    assert main([str(sub), "--tests", one, two, "--out", str(out)]) == 0
    names = [t["name"].split("::")[1] for t in json.loads(out.read_text())["tests"]]
    assert "test_special_token_is_one_id" in names and any(n.startswith("test_roundtrip") for n in names), names
    proc = subprocess.run(
        [sys.executable, "-m", "bpe_harness.judge.grade", str(tmp_path / "missing"), "--out", str(tmp_path / "r.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "error:" in proc.stderr and "expected a directory or a .zip" in proc.stderr, (
        proc.stderr
    )
