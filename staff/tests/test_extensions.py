"""Shipped code never names staff/: it asks bpe_harness/extensions.py, which the modules pyproject.toml lists fill
(staff/extension.py here; the handout lists none). Cheap: AST reads and in-process registries, ~1 s."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

from bpe_harness import extensions
from bpe_harness.judge import verdicts
from bpe_harness.settings import ROOT
from staff.handout import handout_files, without_extensions

# a string naming the staff folder or package: "staff", "staff/...", "staff.module" (not the word in a sentence)
STAFF_PATH = re.compile(r"(?<![\w.-])staff(?:$|[/.\\](?=\w))")
# what shipped code still names, by file, and why it is not fixed yet; the count must only go down (lower it when
# you fix one: the test fails on a stale count too, so this list stays true)
KNOWN = {
    "bpe_harness/settings.py": 8,  # "staff" as the audience of a setting (7) and staff/stability.py in a description
    "bpe_harness/data/encodings.py": 1,  # the gpt2 hint names `python -m staff.fetch_gpt2`
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def staff_names(source: str) -> list[str]:
    """The string literals of `source` (docstrings aside) that name the staff folder or package."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and STAFF_PATH.search(node.value)
    ]


def test_shipped_code_names_no_staff_path():
    found = {}
    for rel in handout_files():
        if rel.endswith(".py"):
            names = staff_names((ROOT / rel).read_text(encoding="utf-8"))
            if names:
                found[rel] = names
    assert {rel: len(names) for rel, names in found.items()} == KNOWN, (
        f"shipped code names staff/ (renaming staff would edit the handout): {found}. Register what the kit needs in "
        "staff/extension.py and ask bpe_harness/extensions.py instead; if you removed a known one, lower KNOWN"
    )


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ('X = ROOT / "staff" / "reference"', True),
        ('M = "staff.reference.adapters"', True),
        ('P = ("tests/snapshots", "staff/hidden/")', True),
        ('"""Docstring: staff/hidden is the course\'s."""\nX = 1', False),
        ('MSG = "the staff solution takes 0.25 x"', False),
        ('M = "bpe_harness.staffing"', False),
    ],
)
def test_the_check_tells_a_staff_path_from_a_word(source, named):
    assert bool(staff_names(source)) == named


def test_staff_registers_what_the_kit_asks_for():
    reference = extensions.implementation("reference")
    assert reference is not None and reference.module == "staff.reference.adapters"
    assert reference.root == ROOT and (reference.sources / "adapters.py").is_file()
    assert extensions.secret_paths() == ("staff",) and extensions.late_tests() == ("staff/hidden/",)
    assert verdicts._visibility("staff/hidden/test_hidden.py::test_x") == "after_due_date"
    assert verdicts._visibility("tests/test_train_bpe.py::test_x") == "visible"


@pytest.fixture
def empty_registry(monkeypatch):
    for name, value in (("_implementations", {}), ("_secret_paths", []), ("_late_tests", []), ("_loaded", set())):
        monkeypatch.setattr(extensions, name, value)


def _kit(tmp_path: Path, listed: list[str]) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.bpe_harness]\nextensions = {listed!r}\n".replace("'", '"'))
    return tmp_path


def test_a_listed_module_registers_and_an_absent_one_is_skipped(tmp_path, monkeypatch, empty_registry):
    package = tmp_path / "course_side"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ext.py").write_text(
        "from bpe_harness import extensions\nextensions.register_late_tests('course_side/late/')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    extensions.load(_kit(tmp_path, ["not_here_at_all.ext", "course_side.ext"]))
    assert extensions._late_tests == ["course_side/late/"]
    assert verdicts._visibility("course_side/late/test_a.py::t") == "after_due_date"
    sys.modules.pop("course_side.ext", None)
    sys.modules.pop("course_side", None)


def test_nothing_registered_means_nothing_late_and_no_reference(tmp_path, empty_registry):
    extensions.load(_kit(tmp_path, []))
    extensions._loaded.add(ROOT)  # as in a handout: the kit's pyproject.toml lists nothing
    assert verdicts._visibility("staff/hidden/test_hidden.py::test_x") == "visible"
    from bpe_harness.implementation import ImplError, resolve

    with pytest.raises(ImplError, match="not part of this handout"):
        resolve("reference")


def test_the_handout_pyproject_lists_no_extension():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    kept, full = tomllib.loads(without_extensions(text)), tomllib.loads(text)
    assert "extensions" in full["tool"]["bpe_harness"] and "bpe_harness" not in kept["tool"]
    del full["tool"]["bpe_harness"]
    assert kept == full  # nothing else dropped
