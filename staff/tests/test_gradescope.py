"""Gradescope details: hidden tests visible after the due date, skipped tests left out (not a red 0/0), loose files
placed (or a message saying how to submit), the zip's hidden seed printed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bpe_harness.judge.grade import grade
from bpe_harness.judge.results import build_results
from bpe_harness.judge.run import JudgeRun
from bpe_harness.judge.staging import read_submission
from staff.grade import ROOT, main
from staff.grading.staff_judge import staff_options

ONE_TEST = "tests/test_special_tokens.py::test_special_token_is_one_id"
META = {"kit_version": "0+test", "python": "3"}


@pytest.mark.slow
def test_hidden_tests_are_shown_after_the_due_date(tmp_path):
    (tmp_path / "empty").mkdir()
    results, code = grade(
        tmp_path / "empty",
        None,
        staff_options(tests=[ONE_TEST, "staff/hidden/test_hidden.py::test_hidden_training_without_specials"], seed=3),
    )
    assert code == 0
    assert {t["name"].split("/")[0]: t["visibility"] for t in results["tests"]} == {
        "tests": "visible",
        "staff": "after_due_date",
    }


def test_a_skipped_test_is_left_out_and_named():
    manifest = [
        {"nodeid": "tests/a.py::test_ok", "points": 2.0, "visibility": "visible"},
        {"nodeid": "tests/a.py::test_gpt2", "points": 0.0, "visibility": "visible"},
    ]
    verdicts = {
        "tests/a.py::test_ok": {
            "nodeid": "tests/a.py::test_ok",
            "status": "passed",
            "reason": "",
            "output": "",
            "duration": 0.1,
        },
        "tests/a.py::test_gpt2": {
            "nodeid": "tests/a.py::test_gpt2",
            "status": "skipped",
            "reason": "gpt2 data not installed",
            "output": "",
            "duration": 0.0,
        },
    }
    results = build_results(manifest, verdicts, JudgeRun(0, False, 1.0, ""), META)
    assert [t["name"] for t in results["tests"]] == ["tests/a.py::test_ok"], "a skipped test would show as failed 0/0"
    assert all(t["status"] == "passed" for t in results["tests"]) and results["score"] == 2.0
    assert "skipped (not graded" in results["output"] and "gpt2 data not installed" in results["output"]
    assert results["extra_data"]["skipped"] == [
        {"name": "tests/a.py::test_gpt2", "reason": "gpt2 data not installed", "points": 0.0}
    ]


@pytest.mark.slow
def test_loose_files_are_placed_where_they_belong(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    for name in ("tokenizer.py", "train.py", "pretokenize.py"):
        (loose / name).write_text((ROOT / "staff" / "reference" / name).read_text())
    (loose / "adapters.py").write_text(
        "from cs336_basics.tokenizer import Tokenizer\n"
        "from cs336_basics.train import train_bpe\n\n"
        "def run_train_bpe(input_path, vocab_size, special_tokens, **kw):\n"
        "    return train_bpe(input_path, vocab_size, special_tokens)\n\n"
        "def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):\n"
        "    return Tokenizer(vocab, merges, special_tokens, pattern=pattern)\n"
    )
    (loose / "README.md").write_text("my notes")
    (tmp_path / "s").mkdir()
    sub = read_submission(loose, tmp_path / "s")
    assert sorted(sub.files) == [
        "cs336_basics/pretokenize.py",
        "cs336_basics/tokenizer.py",
        "cs336_basics/train.py",
        "tests/adapters.py",
    ]
    assert any("placed where they belong" in n and "adapters.py -> tests/adapters.py" in n for n in sub.notes)
    results, code = grade(loose, None, staff_options(tests=[ONE_TEST], hidden=False))
    assert code == 0 and results["score"] == results["extra_data"]["max_score"] > 0, (
        results["output"] + "\n" + "\n".join(t["output"][:2000] for t in results["tests"])
    )
    assert "Submit your repository's cs336_basics/ folder" in results["output"]


def test_nothing_to_grade_says_how_to_submit(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "report.pdf").write_bytes(b"%PDF")
    (tmp_path / "s").mkdir()
    sub = read_submission(tmp_path / "sub", tmp_path / "s")
    assert sub.files == [] and any("nothing to grade" in n and "with their folders" in n for n in sub.notes)


def test_gradescope_zip_prints_the_seed_it_fixed(tmp_path, capsys):
    out = tmp_path / "autograder.zip"
    assert main(["--gradescope-zip", str(out), "--hidden-seed", "770077"]) == 0
    assert "hidden seed fixed in it: 770077" in capsys.readouterr().out
    with zipfile.ZipFile(out) as z:
        # in source/ (root-only once setup.sh ran), never in run_autograder, which Gradescope leaves world-readable
        assert z.read("hidden_seed").decode().strip() == "770077" and "770077" not in z.read("run_autograder").decode()
        assert (z.getinfo("hidden_seed").external_attr >> 16) & 0o077 == 0
        assert "staff/fetch_gpt2.py" in z.namelist() and "staff.fetch_gpt2" in z.read("setup.sh").decode()
    assert main(["--gradescope-zip", str(tmp_path / "b.zip")]) == 0
    printed = capsys.readouterr().out
    seed = printed.split("hidden seed fixed in it: ")[1].split()[0]
    with zipfile.ZipFile(tmp_path / "b.zip") as z:
        assert z.read("hidden_seed").decode().strip() == seed


def test_loose_files_in_a_zips_one_folder_are_placed(tmp_path):
    import zipfile as zf

    archive = tmp_path / "upload.zip"
    with zf.ZipFile(archive, "w") as z:
        z.writestr("my-work/tokenizer.py", "x = 1\n")
        z.writestr("my-work/adapters.py", "y = 2\n")
        z.writestr("my-work/notes/todo.py", "z = 3\n")
    (tmp_path / "s").mkdir()
    sub = read_submission(archive, tmp_path / "s")
    assert sorted(sub.files) == ["cs336_basics/tokenizer.py", "tests/adapters.py"]
    assert "my-work/notes/todo.py" in sub.ignored


@pytest.mark.slow
def test_a_package_without_adapters_keeps_the_stubs_it_lacks(tmp_path):
    """Only cs336_basics/tokenizer.py (+ its helper) submitted: the handout's adapters still import train_bpe, so its
    stub is staged, and the tokenizer's points are earned."""
    sub = tmp_path / "partial"
    (sub / "cs336_basics").mkdir(parents=True)
    for name in ("tokenizer.py", "pretokenize.py"):
        (sub / "cs336_basics" / name).write_text((ROOT / "staff" / "reference" / name).read_text())
    results, code = grade(
        sub,
        None,
        staff_options(
            tests=[ONE_TEST, "tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte"], hidden=False
        ),
    )
    scores = {t["name"].split("::")[1]: (t["score"], t["reason"]) for t in results["tests"]}
    assert code == 0 and scores["test_special_token_is_one_id"][0] == 2, scores
    assert "NotImplementedError" in scores["test_vocab_has_specials_and_every_byte"][1], scores


WRONG_TRAINER = (
    "from cs336_basics.adapters import get_tokenizer, run_train_bpe as _train  # noqa: F401\n\n"
    "def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):\n"
    "    vocab, merges = _train(input_path, vocab_size, special_tokens, **kwargs)\n"
    "    return vocab, merges[::-1]\n"
)
HIDDEN_ONE = "staff/hidden/test_hidden.py::test_hidden_training_without_specials"


@pytest.mark.slow
def test_before_the_due_date_no_student_visible_field_adds_hidden_points(tmp_path):
    """A Gradescope rehearsal (the zip's run_autograder on a fake /autograder tree) of a submission that passes the
    public test and fails the hidden one: the student-visible fields (top-level output, visible tests, leaderboard)
    show the public points only; the hidden test's points are in its after_due_date test and the total, which
    Gradescope holds back while a test is not visible. (~20 s)"""
    import json
    import os
    import subprocess
    import sys

    from staff.grading.gradescope_zip import build_gradescope_zip
    from staff.grading.staff_judge import reference_submission

    build_gradescope_zip(tmp_path / "autograder.zip")
    ag = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "autograder.zip") as z:
        z.extractall(ag / "source")
    sub = reference_submission(ag / "submission")
    (sub / "tests" / "adapters.py").write_text(WRONG_TRAINER)
    env = dict(
        os.environ,
        CS336_AUTOGRADER_ROOT=str(ag),
        CS336_VENV=str(Path(sys.executable).parent.parent),
        CS336_GRADE_ARGS=f"--tests {ONE_TEST} {HIDDEN_ONE}",
    )
    proc = subprocess.run(
        ["bash", str(ag / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=300
    )
    results = json.loads((ag / "results" / "results.json").read_text())
    visible = [t for t in results["tests"] if t["visibility"] == "visible"]
    hidden = [t for t in results["tests"] if t["visibility"] != "visible"]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden), proc.stdout[-2000:]
    public, top = sum(t["score"] for t in visible), sum(t["max_score"] for t in visible)
    assert public == top > 0 and sum(t["score"] for t in hidden) == 0, results["tests"]
    hidden_points = sum(t["max_score"] for t in hidden)
    assert results["extra_data"]["max_score"] == top + hidden_points
    assert f"{public:g}/{top:g} points" in results["output"], results["output"]
    assert f"/{top + hidden_points:g}" not in results["output"] and "staff/hidden" not in results["output"]
    board = {e["name"]: e["value"] for e in results["leaderboard"]}
    assert board["score"] == public
    shown = json.dumps([results["output"], results["leaderboard"], visible])
    assert "test_hidden" not in shown


@pytest.mark.slow
def test_a_submission_zip_in_the_submission_folder_is_graded(tmp_path):
    """Gradescope's upload of a .zip can leave it unextracted in /autograder/submission: it is extracted and
    graded, with a note."""
    import shutil

    from staff.grading.staff_judge import reference_submission

    reference_submission(tmp_path / "ref")
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.make_archive(str(folder / "submission"), "zip", root_dir=tmp_path / "ref")
    results, code = grade(folder, None, staff_options(tests=[ONE_TEST], hidden=False))
    assert code == 0 and results["score"] == results["extra_data"]["max_score"] > 0, results["output"]
    assert "submission.zip was extracted and graded" in results["output"]


@pytest.mark.slow
def test_kit_files_of_a_whole_repo_upload_are_not_listed_as_ignored(tmp_path):
    """A whole-repository upload carries the kit's files: the student is told only about their own extras. On
    Gradescope the kit is not a checkout: the zip's handout_files.txt names the handout's files."""
    import shutil

    from bpe_harness.judge.staging import KIT_LIST, kit_file
    from staff.grading.staff_judge import reference_submission

    sub = reference_submission(tmp_path / "repo")
    for rel in ("README.md", "pyproject.toml", "tests/test_tokenizer.py", ".github/workflows/grade.yml"):
        (sub / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, sub / rel)
    (sub / "my_notes.txt").write_text("mine")
    results, code = grade(sub, None, staff_options(tests=[ONE_TEST], hidden=False))
    ignored = next(line for line in results["output"].splitlines() if line.startswith("ignored"))
    assert "my_notes.txt" in ignored and "README.md" not in ignored and "test_tokenizer" not in ignored, ignored
    kit = tmp_path / "kit"
    kit.mkdir()
    assert not kit_file(kit, "README.md")
    (kit / KIT_LIST).write_text("README.md\n.github/workflows/grade.yml\n")
    assert kit_file(kit, "README.md") and not kit_file(kit, "my_notes.txt")


@pytest.mark.slow
def test_reference_submission_command(tmp_path, capsys):
    out = tmp_path / "reference"
    assert main(["--reference-submission", str(out), "--tests", ONE_TEST, "--no-hidden"]) == 0
    printed = capsys.readouterr().out
    assert (out / "tests" / "adapters.py").is_file() and (tmp_path / "reference.zip").is_file()
    assert "graded here: full marks" in printed
    with zipfile.ZipFile(tmp_path / "reference.zip") as z:
        assert "tests/adapters.py" in z.namelist() and "cs336_basics/train.py" in z.namelist()


def test_a_gradescope_rehearsal_leaves_nothing_and_refuses_a_foreign_autograder(tmp_path, monkeypatch):
    """staff.tiers' Gradescope rehearsal removes /autograder and setup.sh's /opt/cs336-* afterwards, also when it
    fails; an /autograder that is not a rehearsal's is left alone with a sentence (no traceback from main)."""
    import pytest

    from staff import tiers

    made, kept = tmp_path / "made", tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(RuntimeError, match="boom"), tiers.leaves_nothing([made, kept]):
        made.mkdir()
        raise RuntimeError("boom")
    assert not made.exists() and kept.exists()
    foreign = tmp_path / "autograder"
    (foreign / "source").mkdir(parents=True)
    monkeypatch.setattr(tiers, "GRADESCOPE", foreign)
    with pytest.raises(RuntimeError, match="not a rehearsal's"):
        tiers.rehearse_gradescope(["true"])
    assert (foreign / "source").is_dir()
