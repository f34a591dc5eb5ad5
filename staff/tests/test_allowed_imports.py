"""One grading environment: graded code may import the standard library, the kit's dependencies and its own files,
nothing else, and not the harness; the self-grade and the staff grader refuse the same imports with the same words."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

import pytest

from bpe_harness.client import Client
from bpe_harness.judge.grade import GradeOptions, grade
from bpe_harness.worker.allowed_imports import ALLOWED_DISTRIBUTIONS, extra_dependencies
from staff.grading.staff_judge import reference_submission, staff_options

ROOT = Path(__file__).resolve().parents[2]
SUBSET = ["tests/test_special_tokens.py"]
CORPUS = ROOT / "tests/fixtures/corpora/blank_lines.txt"
REFUSED = "which the grader does not have"
HARNESS_REFUSED = "which is the grader's, not part of your submission"


def test_the_allowed_set_is_the_kits_dependencies():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = sorted(re.split(r"[\s\[<>=!~;@(]", d, maxsplit=1)[0].lower() for d in declared)
    assert names == sorted(ALLOWED_DISTRIBUTIONS), "keep allowed_imports.ALLOWED_DISTRIBUTIONS = pyproject's"
    assert extra_dependencies(ROOT / "pyproject.toml") == []


def _submission_with(tmp_path: Path, first_line: str) -> Path:
    sub = reference_submission(tmp_path / "sub")
    train = sub / "cs336_basics" / "train.py"
    train.write_text(train.read_text() + "\n" + first_line + "\n")
    return sub


@pytest.fixture
def installed_heapdict():
    """A package that is importable here (as after `uv add heapdict`) but not in the grader's environment."""
    site = Path(tempfile.mkdtemp(prefix="cs336-fake-site-"))
    site.chmod(0o755)  # a sandbox uid must be able to find it: the refusal, not a permission, must stop it
    (site / "heapdict.py").write_text("class heapdict(dict):\n    pass\n")
    (site / "heapdict.py").chmod(0o644)
    yield site
    shutil.rmtree(site)


def test_an_installed_extra_package_is_refused_with_its_name(tmp_path, installed_heapdict, monkeypatch):
    monkeypatch.syspath_prepend(str(installed_heapdict))
    import importlib.util

    assert importlib.util.find_spec("heapdict") is not None  # it is installed here...
    sub = _submission_with(tmp_path, "import heapdict  # noqa: F401")
    with Client(str(sub / "tests" / "adapters.py")) as impl, pytest.raises(Exception) as refused:
        impl.train(CORPUS, 300, ["<|endoftext|>"])
    message = str(refused.value)  # ...and still refused, naming the package, the importer and the allowed set
    assert REFUSED in message and "'heapdict'" in message and "cs336_basics/train.py" in message, message
    assert all(name in message for name in ALLOWED_DISTRIBUTIONS), message


@pytest.mark.parametrize(
    "line",
    [
        "from bpe_harness.rules import pretokens  # noqa: F401",
        "import importlib; importlib.import_module('bpe_harness.implementation')",  # one the worker itself had loaded
        "from leaderboard import pacer  # noqa: F401",
    ],
)
def test_graded_code_may_not_import_the_kit(tmp_path, line):
    sub = _submission_with(tmp_path, line)
    with Client(str(sub / "tests" / "adapters.py")) as impl, pytest.raises(ImportError) as refused:
        impl.train(CORPUS, 300, ["<|endoftext|>"])
    assert HARNESS_REFUSED in str(refused.value), str(refused.value)


def test_own_modules_stdlib_and_allowed_packages_import_as_usual(tmp_path):
    sub = _submission_with(tmp_path, "import heapq, numpy, regex  # noqa: E401, F401\nfrom cs336_basics import helper")
    (sub / "cs336_basics" / "helper.py").write_text("import collections\n")
    with Client(str(sub / "tests" / "adapters.py")) as impl:
        vocab, merges = impl.train(CORPUS, 300, ["<|endoftext|>"])
    assert len(vocab) == 300 and merges


@pytest.mark.slow
def test_self_grade_and_staff_grader_refuse_the_same_way(tmp_path, installed_heapdict):
    """The issue's case: after `uv add heapdict` the self-grade gave 10/10 and the grader 0/130 with a bare
    ModuleNotFoundError. Now both give the same score, with the same sentence, and the report says why."""
    sub = _submission_with(tmp_path, "import heapdict  # noqa: F401")
    pyproject = sub / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["regex>=2024.4", "heapdict>=1.0"]\n')
    local, _ = grade(sub, None, GradeOptions(tests=SUBSET, env={"PYTHONPATH": str(installed_heapdict)}))
    staff, _ = grade(sub, None, staff_options(tests=SUBSET, hidden=False))
    assert local["score"] == staff["score"] == 0 and local["tests"] and len(local["tests"]) == len(staff["tests"])
    for results in (local, staff):
        assert all(REFUSED in t["output"] and "'heapdict'" in t["output"] for t in results["tests"]), results
        assert "pyproject.toml adds heapdict" in results["output"], results["output"]
    assert os.environ.get("PYTHONPATH") != str(installed_heapdict)
