"""The graded tests read like the handout: they reach the implementation only through the plugin's `run_train_bpe`,
`get_tokenizer` and `limits` fixtures (calls of the worker process), never through the `impl` client by name, and
never import student code into the test process."""

from __future__ import annotations

import ast

import pytest

from bpe_harness.implementation import ROOT

GRADED = sorted(
    [*(ROOT / "tests").glob("test_*.py"), ROOT / "tests" / "common.py", ROOT / "staff" / "hidden" / "test_hidden.py"]
)
CLIENTS = {"impl", "impl_alone"}  # the plugin's Clients: tests use the fixtures named for the handout's functions
STUDENT_CODE = ("cs336_basics", "tests.adapters", "staff.reference")


@pytest.mark.parametrize("path", GRADED, ids=lambda p: str(p.relative_to(ROOT)))
def test_graded_tests_call_the_handouts_functions(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            named = CLIENTS & {a.arg for a in node.args.args}
            assert not named, (
                f"{path.name}::{node.name} takes {named}: ask for run_train_bpe / get_tokenizer (or "
                "limits), the names students know from tests/adapters.py"
            )
        modules = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        imported = [m for m in modules if m.startswith(STUDENT_CODE)]
        assert not imported, f"{path.name} imports {imported}: student code runs only in the worker process"
