"""What the course adds to the kit without the shipped code naming it: named implementations (`--impl NAME`), kit
folders no worker may read, and tests that Gradescope shows only after the due date.

Why this exists: the handout must not depend on what the course keeps to itself (renaming or removing that folder must
not touch a shipped file). The course's code registers here instead; the kit asks here.

Who registers: the modules listed in the kit's pyproject.toml, `[tool.bpe_harness] extensions = ["package.module"]`,
imported the first time anything is asked (`load`), in every process that asks: a pytest run, the judge and its
pytest, a command line. A listed module whose top package is absent (a handout, a staged kit without it) is skipped;
the handout's pyproject.toml lists none. A module may also be registered by importing it.
"""

from __future__ import annotations

import importlib
import importlib.util
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bpe_harness.settings import ROOT


@dataclass(frozen=True)
class NamedImplementation:
    """An implementation selected by name (`--impl NAME`), loaded by module name in the worker."""

    module: str  # what the worker imports (a package's module, so its relative imports work)
    root: Path  # the folder holding the module's top package: first on the worker's sys.path
    sources: Path  # the folder of its source files (the leaderboard records their digests)

    @property
    def package_dir(self) -> Path:
        """The folder of the module's top package (variants beside it may build on it)."""
        return self.root / self.module.partition(".")[0]


_implementations: dict[str, NamedImplementation] = {}
_secret_paths: list[str] = []
_late_tests: list[str] = []
_loaded: set[Path] = set()


def register_implementation(name: str, module: str, root: Path, sources: Path) -> None:
    _implementations[name] = NamedImplementation(module, Path(root), Path(sources))


def register_secret_paths(*paths: str) -> None:
    """Kit paths (relative to the kit's root) no worker may read: hidden from workers in the checkout the judge runs
    from, and staged readable by the grader only."""
    _secret_paths.extend(p for p in paths if p not in _secret_paths)


def register_late_tests(*prefixes: str) -> None:
    """Test node id prefixes Gradescope shows a student only after the due date."""
    _late_tests.extend(p for p in prefixes if p not in _late_tests)


def load(kit: Path = ROOT) -> None:
    """Import the extension modules `kit`'s pyproject.toml lists (once per kit); those whose top package is not
    importable are skipped."""
    if kit in _loaded:
        return
    _loaded.add(kit)
    try:
        config = tomllib.loads((kit / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for name in config.get("tool", {}).get("bpe_harness", {}).get("extensions", []):
        if importlib.util.find_spec(name.partition(".")[0]) is not None:
            importlib.import_module(name)


def implementation(name: str) -> NamedImplementation | None:
    load()
    return _implementations.get(name)


def implementations() -> dict[str, NamedImplementation]:
    load()
    return dict(_implementations)


def secret_paths() -> tuple[str, ...]:
    load()
    return tuple(_secret_paths)


def late_tests() -> tuple[str, ...]:
    load()
    return tuple(_late_tests)
