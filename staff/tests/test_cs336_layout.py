"""A solution in CS336's own layout grades as it runs: upstream's `cs336_basics/__init__.py` (which asks
importlib.metadata for the package's version), sub-packages, a `tokenizer/` folder without `__init__.py` where the
kit's stub is a `tokenizer.py` module. Made from staff/reference; the judge must give it full marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpe_harness.judge.grade import grade
from bpe_harness.settings import ROOT
from staff.grading.staff_judge import staff_options
from staff.tests.runpytest import run_suite

REFERENCE = ROOT / "staff" / "reference"
UPSTREAM_INIT = 'import importlib.metadata\n\n__version__ = importlib.metadata.version("cs336_basics")\n'


def cs336_layout_solution(into: Path) -> Path:
    package = into / "cs336_basics"
    for sub in ("common", "training", "tokenizer"):
        (package / sub).mkdir(parents=True)
    (package / "__init__.py").write_text(UPSTREAM_INIT)
    (package / "common" / "__init__.py").write_text("")
    (package / "training" / "__init__.py").write_text("from .train import train_bpe  # noqa: F401\n")
    # tokenizer/ is a namespace package (no __init__.py), as in the real submission that scored 0
    shared = "from cs336_basics.common.pretokenize import"
    (package / "common" / "pretokenize.py").write_text((REFERENCE / "pretokenize.py").read_text())
    (package / "training" / "train.py").write_text(
        (REFERENCE / "train.py").read_text().replace("from .pretokenize import", shared)
    )
    (package / "tokenizer" / "bpe.py").write_text(
        (REFERENCE / "tokenizer.py").read_text().replace("from .pretokenize import", shared)
    )
    (into / "tests").mkdir()
    (into / "tests" / "adapters.py").write_text(
        "from cs336_basics.tokenizer.bpe import Tokenizer\nfrom cs336_basics.training import train_bpe\n\n\n"
        "def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):\n"
        "    return train_bpe(input_path, vocab_size, special_tokens)\n\n\n"
        "def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):\n"
        "    return Tokenizer(vocab, merges, special_tokens, pattern=pattern)\n"
    )
    (into / "pyproject.toml").write_text('[project]\nname = "cs336_basics"\nversion = "1.0.0"\n')
    return into


@pytest.mark.slow
def test_cs336_layout_under_plain_pytest(tmp_path):
    project = cs336_layout_solution(tmp_path / "theirs")
    proc, outcomes = run_suite(
        tmp_path,
        "tests/test_special_tokens.py",
        "tests/test_train_bpe.py",
        f"--impl={project / 'tests' / 'adapters.py'}",
        "-k",
        "not webtext and not tinystories",
    )
    assert outcomes and all(o.status == "passed" for o in outcomes), proc.stdout[-3000:]


@pytest.mark.slow
def test_cs336_layout_grades_to_full_marks(tmp_path):
    project = cs336_layout_solution(tmp_path / "theirs")
    results, code = grade(project, tmp_path / "results.json", staff_options(seed=18))
    lost = [f"{t['name']}: {t.get('reason', '')[:200]}" for t in results["tests"] if t["score"] < t["max_score"]]
    assert code == 0 and not lost, "\n".join(lost) or results["output"]
    assert results["score"] == results["extra_data"]["max_score"] >= 100
