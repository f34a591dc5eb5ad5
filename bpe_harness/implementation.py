"""Which implementation is under test (the --impl value), resolved in the harness without importing any of it: the
value is checked and turned into an `ImplSpec` (what the worker imports, and which folders go first on its
sys.path). The worker's side is bpe_harness/worker/loading.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bpe_harness import extensions
from bpe_harness.protocol import ImplError, ImplSpec
from bpe_harness.settings import ROOT
from bpe_harness.worker.loading import STUDENT_PACKAGE, USAGE

__all__ = ["ROOT", "STUDENT", "ImplError", "ImplSpec", "resolve", "project_root"]

STUDENT = ROOT / "tests" / "adapters.py"


def project_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` with a pyproject.toml or .git: an outside project's root."""
    for folder in [start, *start.parents]:
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            return folder
    return None


def _layout_root(path: Path) -> Path | None:
    """For PROJECT/tests/adapters.py beside PROJECT/cs336_basics/: PROJECT (this kit's and CS336's layout)."""
    if path.parent.name == "tests" and (path.parent.parent / STUDENT_PACKAGE).is_dir():
        return path.parent.parent
    return None


def _imports_student_package(path: Path) -> bool:
    """Whether the file's source imports cs336_basics (read, never run)."""
    import ast

    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and not node.level
            else []
        )
        if any(n == STUDENT_PACKAGE or n.startswith(STUDENT_PACKAGE + ".") for n in names):
            return True
    return False


def _file_spec(value: str, path: Path, label: str) -> ImplSpec:
    if not path.is_file():
        raise ImplError(f"--impl {value!r}: no such file {path}. {USAGE}")
    path = path.resolve()
    root = project_root(path.parent) or _layout_root(path)
    if root is None and _imports_student_package(path):
        raise ImplError(
            f"--impl {value!r}: {path.name} imports {STUDENT_PACKAGE}, but no folder at or above {path.parent} has a "
            f"pyproject.toml or .git, so its project's own {STUDENT_PACKAGE} cannot be put first and this kit's "
            f"{STUDENT_PACKAGE} (the stubs, {ROOT / STUDENT_PACKAGE}) would run under its name. Fix: put an empty "
            f"pyproject.toml (or run git init) in that project's root folder, the one holding {STUDENT_PACKAGE}/, "
            f"or keep the layout ROOT/{STUDENT_PACKAGE}/ + ROOT/tests/adapters.py."
        )
    roots = [root, path.parent]
    search = list(dict.fromkeys(str(p) for p in roots if p is not None))
    return ImplSpec(value, label, path=str(path), search_path=search)


def resolve(value: str, cwd: Path | None = None) -> ImplSpec:
    """The ImplSpec for an --impl value, checked as far as possible without importing it (ImplError if unusable).
    Every spec carries the named implementations' packages: graded code may import them where they exist (a test
    stands in for a solution with the reference), and they are the kit's code, not graded code."""
    packages = sorted({named.module.partition(".")[0] for named in extensions.implementations().values()})
    return dataclasses.replace(_resolve(value, cwd), kit_packages=packages)


def _resolve(value: str, cwd: Path | None) -> ImplSpec:
    cwd = cwd or Path.cwd()
    if value == "student":
        return _file_spec(value, STUDENT, "student (tests/adapters.py)")
    named = extensions.implementation(value)
    if named is not None:  # a package (relative imports), so loaded by module name
        return ImplSpec(value, f"{value} ({named.module})", module=named.module, search_path=[str(named.root)])
    if value == "reference":
        raise ImplError("--impl reference: the reference solution is the course's own and not part of this handout")
    if value.endswith(".py") or "/" in value or "\\" in value:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = (cwd / path) if (cwd / path).exists() else (ROOT / path)
        return _file_spec(value, path, value)
    if not all(part.isidentifier() for part in value.split(".")):
        raise ImplError(f"--impl {value!r} is neither a file nor a module name. {USAGE}")
    return ImplSpec(value, value, module=value)


# --- worker side ----------------------------------------------------------------------------------------------------
