"""The handout as students get it: no staff files, and every graded test fails with the stub's pointer."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bpe_harness.data.encodings import NOT_INSTALLED
from staff.handout import export
from staff.tests.runpytest import run_suite


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("handout")
    files = export(out)
    if not files:
        pytest.fail("git tracks no files: commit before exporting the handout")
    return out


@pytest.mark.slow
def test_handout_has_no_staff_material(handout):
    assert not (handout / "staff").exists() and not (handout / ".ci").exists()
    workflows = sorted(p.name for p in (handout / ".github" / "workflows").iterdir())
    assert workflows == ["grade.yml"], f"only the students' grading workflow ships, found {workflows}"
    assert (handout / "bpe_harness" / "judge" / "grade.py").exists()
    assert "[tool.bpe_harness]" not in (handout / "pyproject.toml").read_text(encoding="utf-8")  # loads no staff module
    readme = (handout / "README.md").read_text(encoding="utf-8")
    assert "## Staff" not in readme and "uv run pytest" in readme


STAFF_WORDS = (
    "staff.",
    "staff/",
    "--impl reference",
    "CS336_HIDDEN_SEED",
    "CS336_SANDBOX",
    "CS336_LIMITS_LOG",
    "CS336_AUTOGRADER",
    "CS336_JUDGE",
    "CS336_GRADE_ARGS",
    "CS336_VENV",
    "CS336_WORKER",
    "/autograder",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "guide",
    [
        "README.md",
        "leaderboard/README.md",
        "bpe_harness/tools/experiments/README.md",
        "bpe_harness/tools/playground/README.md",
    ],
)
def test_student_guides_are_for_students(handout, guide):
    """The handout's guides: no staff-only command or setting, no dangling 'below', every relative link resolves in
    the handout; the top-level README stays short (the tools' guides live beside them)."""
    import re

    text = (handout / guide).read_text(encoding="utf-8")
    if guide == "README.md":
        assert len(text.splitlines()) < 300, "the student README grew past 300 lines: move detail to a tool's guide"
    assert not [w for w in STAFF_WORDS if w in text], f"{guide} names staff-only commands or settings"
    if guide == "leaderboard/README.md":
        text = text[: text.index("<!-- board:")]  # the generated board may name staff tools (verify)
    assert not re.search(r"see below|\bbelow\)|\(below", text, re.I), f"{guide} points 'below' (to staff notes?)"
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" not in link:
            assert (handout / guide).parent.joinpath(link).resolve().exists(), f"{guide} links to missing {link}"


@pytest.mark.slow
def test_every_graded_test_fails_on_the_stubs(handout, tmp_path):
    proc, outcomes = run_suite(tmp_path, "--impl", "student", cwd=handout)
    assert outcomes, f"no tests ran:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    wrong = []
    for o in outcomes:
        if o.status == "skipped" and NOT_INSTALLED.format(name="gpt2") in o.message:
            continue  # the only environment skip: gpt2's ranks are not in the handout's own cache
        pointed = "NotImplementedError" in o.message and "in cs336_basics/" in o.message
        if o.status != "failed" or not pointed:
            wrong.append(f"{o.test}: {o.status} {o.message.strip()[:200]}")
    assert not wrong, (
        f"{len(wrong)} of {len(outcomes)} graded tests did not fail with the stub's pointer:\n" + "\n".join(wrong[:20])
    )
    assert "still to write" in proc.stdout


@pytest.mark.slow
def test_reference_is_not_in_the_handout(handout):
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--impl", "reference", "--co", "-q"]
    proc = subprocess.run(cmd, cwd=handout, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4 and "not part of this handout" in proc.stderr, proc.stderr


@pytest.mark.slow
def test_generated_outputs_are_ignored(handout):
    """`git add .` after the README's experiments or a self-grade commits none of their outputs."""
    subprocess.run(["git", "init", "-q"], cwd=handout, check=True)
    for generated in (
        "data/owt_train.txt",
        "runs/ts-10k/vocab.json",
        "results.json",
        ".cache/limits/x.txt",
        "subs-grading/gradebook.csv",
        "autograder.zip",
        "autograder-fall.zip",
    ):
        proc = subprocess.run(["git", "check-ignore", "-q", generated], cwd=handout)
        assert proc.returncode == 0, f"{generated} is not ignored by the handout's .gitignore"
    assert subprocess.run(["git", "check-ignore", "-q", "cs336_basics/tokenizer.py"], cwd=handout).returncode == 1


def _kit_copy(tmp_path, files):
    """A stand-in checkout holding `files` and the staff sources the exporter compares them with."""
    import shutil

    from staff.handout import ROOT, STAFF_SOURCES

    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, tmp_path / rel)
    for top in STAFF_SOURCES:
        shutil.copytree(ROOT / top, tmp_path / top)
    return tmp_path


SHIPPED_PY = ["cs336_basics/tokenizer.py", "cs336_basics/train_bpe.py", "tests/adapters.py", "bpe_harness/rules.py"]


@pytest.mark.slow
def test_the_handout_as_it_is_carries_no_staff_content():
    from staff.handout import handout_files, staff_content

    assert staff_content(handout_files()) == []


@pytest.mark.slow
@pytest.mark.parametrize("plant", ["copy", "paste", "twice", "zip", "seed"])
def test_the_exporter_refuses_staff_content(tmp_path, plant):
    """A file carrying staff content, planted among the shipped ones, is refused: the reference copied (once or
    twice) or pasted into a stub, an autograder.zip, a seed file. Its honest twin (the stubs) passes."""
    import zipfile

    from staff.handout import ROOT, staff_content

    root = _kit_copy(tmp_path, SHIPPED_PY)
    assert staff_content(SHIPPED_PY, root) == [], "the honest twin"
    reference = (ROOT / "staff" / "reference" / "train.py").read_text(encoding="utf-8")
    planted = {
        "copy": ["cs336_basics/solution.py"],
        "paste": ["cs336_basics/train_bpe.py"],
        "twice": ["cs336_basics/a.py", "cs336_basics/b.py"],
        "zip": ["autograder.zip"],
        "seed": ["hidden_seed"],
    }[plant]
    for rel in planted:
        target = root / rel
        if plant == "zip":
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("staff/hidden/test_hidden.py", "x = 1\n")
                z.writestr("run_autograder", "#!/bin/sh\n")
        elif plant == "seed":
            target.write_text("1234\n")
        elif plant == "paste":
            target.write_text(target.read_text(encoding="utf-8") + "\n" + reference)
        else:
            target.write_text(reference)
    files = sorted({*SHIPPED_PY, *planted})
    problems = staff_content(files, root)
    assert sorted(p.split(":")[0] for p in problems) == sorted(planted), problems
