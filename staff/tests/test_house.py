"""Small rooms: no module of the kit's code over MODULE_LINES lines and no function over FUNCTION_LINES, so each
file holds one idea a newcomer can read at once. Staff tests, the hostile submissions kept as data and the mutant
catalog (a table, not logic) are exempt, each with its reason. (~0.5 s)"""

import ast
from pathlib import Path

from bpe_harness.settings import ROOT

MODULE_LINES = 500
FUNCTION_LINES = 80
CODE = ["bpe_harness", "leaderboard", "staff", "tests"]
EXEMPT = {  # path -> why it may be longer
    "staff/mutants/catalog.py": "a table: one entry per mutant with the tests that must kill it",
}


def kit_modules() -> list[Path]:
    files = []
    for top in CODE:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("staff/tests/") or (rel.startswith("staff/hostile/") and rel.count("/") > 2):
                continue  # tests, and the hostile submissions kept as data (staff/hostile/<case>/...)
            if rel.startswith("tests/test_") or rel in EXEMPT:
                continue
            files.append(path)
    return files


def test_no_module_is_a_house_of_its_own():
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in kit_modules()
        if (n := p.read_text(encoding="utf-8").count("\n")) > MODULE_LINES
    ]
    assert not long, f"split these by idea (at most {MODULE_LINES} lines each): " + "; ".join(long)


def test_no_function_is_longer_than_a_screen_or_two():
    long = []
    for path in kit_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() {lines} lines")
    assert not long, f"split these into steps of at most {FUNCTION_LINES} lines: " + "; ".join(long)
