"""The leaderboard end to end on small inputs: submit (gate, refusals, bad input), validate, verify, render.

Sizes are tiny (1 MB corpus, 300 KB held-out, 2 rounds) so each submission takes seconds; the ratios are then noisy,
so tests that re-measure use a wide tolerance and forge by a factor far outside it. The tolerance itself is measured
by `python -m leaderboard stability` (README, Staff: Leaderboard).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import pytest

from leaderboard import gradescope_leaderboard, record, render, staff
from leaderboard.__main__ import main

SMALL = ["--size", "1MB", "--held-out-size", "300KB", "--vocab-size", "1000", "--rounds", "2", "--quiet"]
ENTRIES = {"reference": "reference", "slow": "staff.bad.uncached_encoder", "pooled": "staff.bad.pooled_trainer"}


def submit(name: str, impl: str, out: Path, *extra: str) -> int:
    return main(["submit", f"--name={name}", "--impl", impl, "--out", str(out), *SMALL, *extra])


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("submissions")
    for name, impl in ENTRIES.items():
        assert submit(name, impl, out) == 0, f"submitting {impl} failed"
    return out


def load(board: Path, name: str) -> dict:
    return json.loads((board / f"{name}.json").read_text(encoding="utf-8"))


def reseal(rec: dict) -> dict:
    rec["seal"] = record.seal(rec)
    return rec


def test_submissions_are_valid_and_ranked(board):
    results = staff.validate(staff.submission_files(board))
    assert all(not p for p in results.values()), results
    recs = {n: load(board, n) for n in ENTRIES}
    slow, ref = recs["slow"], recs["reference"]
    assert slow["encode"]["ratio"] > 2 * ref["encode"]["ratio"], (slow["encode"]["ratio"], ref["encode"]["ratio"])
    ranked = [r["name"] for r in render.groups(list(recs.values()))[0]]
    assert ranked[-1] == "slow" and sorted(ranked) == sorted(ENTRIES)
    assert ranked == sorted(ranked, key=lambda n: recs[n]["score"])
    for rec in recs.values():
        assert math.isclose(rec["score"], math.sqrt(rec["train"]["ratio"] * rec["encode"]["ratio"]), rel_tol=1e-3)
        assert rec["code"]["kind"] == "module" and all("text" not in f for f in rec["code"]["files"])


def test_wrong_implementation_is_refused_with_the_suites_message(tmp_path, capsys):
    assert submit("wrong", "staff.bad.sampling_trainer", tmp_path) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "merges differ at merge #" in err and "test_training_matches_reference" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["../evil", "a b", "", "x" * 41, "-dash"])
def test_bad_name(tmp_path, capsys, name):
    assert submit(name, "reference", tmp_path) == 2
    assert "--name" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_existing_submission_is_not_overwritten(tmp_path, capsys):
    target = tmp_path / "mine.json"
    target.write_text("keep me")
    assert submit("mine", "reference", tmp_path) == 2
    assert "--force" in capsys.readouterr().err and target.read_text() == "keep me"


def test_missing_corpus(tmp_path, capsys):
    assert submit("c", "reference", tmp_path, "--corpus", str(tmp_path / "nope.txt")) == 1
    assert "no such file" in capsys.readouterr().err and not list(tmp_path.iterdir())


@pytest.mark.parametrize("impl, expected", [
    ("staff.bad.hanging_trainer", "did not finish within 2 s (--timeout)"),
    ("staff.bad.crashing_trainer", "exited with code 7"),
])
def test_hang_and_crash(tmp_path, capsys, impl, expected):
    assert submit("x", impl, tmp_path, "--timeout", "2") == 1
    err = capsys.readouterr().err
    assert expected in err and not list(tmp_path.iterdir()), err


def test_memory_cap(tmp_path, capsys):
    assert submit("m", "reference", tmp_path, "--max-memory", "1KB") == 1
    assert "more than the 0 MB allowed (--max-memory)" in capsys.readouterr().err


def test_tampering_is_detected(board, tmp_path):
    rec = load(board, "reference")
    rec["train"]["ratio"] = round(rec["train"]["ratio"] / 2, 4)  # a better number, typed in
    (tmp_path / "reference.json").write_text(json.dumps(rec))
    (tmp_path / "broken.json").write_text('{"name": "broken"')
    shutil.copy(board / "slow.json", tmp_path / "renamed.json")
    problems = staff.validate(staff.submission_files(tmp_path))
    assert any("seal" in p for p in problems[tmp_path / "reference.json"])
    assert any("does not follow from the raw times" in p for p in problems[tmp_path / "reference.json"])
    assert "not a readable JSON file" in problems[tmp_path / "broken.json"][0]
    assert any("does not match the file name" in p for p in problems[tmp_path / "renamed.json"])
    rec = load(board, "slow")
    del rec["outputs"]
    (tmp_path / "slow.json").write_text(json.dumps(reseal(rec)))
    assert staff.validate([tmp_path / "slow.json"])[tmp_path / "slow.json"] == [
        "schema: (top level): 'outputs' is a required property"]


def test_text_code_is_recorded_checked_and_reverified(tmp_path):
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "tests" / "adapters.py").write_text("from staff.reference.adapters import get_tokenizer, run_train_bpe\n")
    out = tmp_path / "subs"
    assert submit("student", str(project / "tests" / "adapters.py"), out) == 0
    rec = json.loads((out / "student.json").read_text())
    assert rec["code"]["kind"] == "text" and rec["code"]["files"][0]["path"] == "tests/adapters.py"
    assert not staff.validate([out / "student.json"])[out / "student.json"]

    _, problems = staff.verify(rec, tolerance=1.0, show_progress=False)  # rebuilt from the record's text
    assert problems == []

    forged = json.loads(json.dumps(rec))  # every number consistent, the times 10x better than the truth
    for t in forged["train"]["submission"] + forged["encode"]["submission"]:
        for k in ("seconds", "wall_s", "cpu_s"):
            t[k] = round(t[k] / 10, 5)
    for part in ("train", "encode"):
        forged[part]["ratio"] = round(forged[part]["ratio"] / 10, 4)
    forged["score"] = round(math.sqrt(forged["train"]["ratio"] * forged["encode"]["ratio"]), 4)
    forged["encode"]["mb_per_s"] = round(forged["encode"]["mb_per_s"] * 10, 3)
    assert staff.check_record(reseal(forged), out / "student.json") == []  # passes validate...
    _, problems = staff.verify(forged, tolerance=1.0, show_progress=False)  # ...not verify
    assert any("train ratio does not reproduce" in p for p in problems), problems

    rec["code"]["files"][0]["text"] += "# sneaky\n"
    assert any("does not match its sha256" in p for p in staff.check_record(reseal(rec), out / "student.json"))


def test_render_and_check(board, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    subs = tmp_path / "subs"
    shutil.copytree(board, subs)
    args = argparse.Namespace(dir=subs, out=tmp_path, check=False, no_plot=False, force=False)
    (tmp_path / "README.md").write_text("notes someone wrote by hand")
    assert render.main(args) == 2 and "--force" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "notes someone wrote by hand"
    (tmp_path / "README.md").unlink()
    assert render.main(args) == 0
    text = (tmp_path / "README.md").read_text()
    rows = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| 1 ") or
            line.startswith("| 2 ") or line.startswith("| 3 ")]
    assert rows[-1] == "slow" and sorted(rows) == sorted(ENTRIES)
    assert (tmp_path / "board.png").stat().st_size > 1000 and "<svg" in (tmp_path / "board.svg").read_text()
    assert render.main(argparse.Namespace(**{**vars(args), "check": True})) == 0
    (subs / "slow.json").unlink()
    capsys.readouterr()
    assert render.main(argparse.Namespace(**{**vars(args), "check": True})) == 1
    assert "out of date" in capsys.readouterr().err


def test_gradescope_entries(board):
    entries = gradescope_leaderboard(load(board, "reference"))
    assert entries and all(set(e) == {"name", "value", "order"} and e["order"] == "asc" for e in entries)
    assert all(isinstance(e["value"], (int, float)) and e["value"] >= 0 for e in entries)
    assert entries[0]["value"] == load(board, "reference")["score"]


def test_submit_works_in_the_handout_without_the_staff_side(tmp_path):
    import subprocess
    import sys

    from staff.handout import export

    files = export(tmp_path / "handout")
    assert "leaderboard/benchmark.py" in files and "leaderboard/pacer.py" in files
    assert not any(f in files for f in ("leaderboard/staff.py", "leaderboard/render.py"))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "leaderboard", *args], cwd=tmp_path / "handout",
                              capture_output=True, text=True, timeout=120)

    stubs = run("submit", "--name", "me", *SMALL)
    assert stubs.returncode == 1 and "not written yet" in stubs.stderr and "cs336_basics/" in stubs.stderr, stubs.stderr
    assert not (tmp_path / "handout" / "leaderboard" / "submissions" / "me.json").exists()
    staff_cmd = run("validate")
    assert staff_cmd.returncode == 2 and "staff command" in staff_cmd.stderr
    reference = run("submit", "--name", "me", "--impl", "reference", *SMALL)
    assert reference.returncode == 2 and "staff-only" in reference.stderr
