"""Loading the implementation inside the worker: its folders first on sys.path, package metadata for cs336_basics
when nothing installs it, then the adapters module by file or by name, checked for the two functions the tests call."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

from bpe_harness.protocol import ImplError, ImplSpec

STUDENT_PACKAGE = "cs336_basics"
REQUIRED = ("run_train_bpe", "get_tokenizer")
USAGE = (
    "--impl accepts: 'student' (tests/adapters.py, the default), 'reference' (the course's reference solution), "
    "a path to a .py file, or a dotted module name; the module must define run_train_bpe and get_tokenizer."
)


def put_first_on_path(folders: Iterable[str]) -> None:
    """Move `folders` to the front of sys.path, in order (already present or not)."""
    folders = list(folders)
    sys.path[:] = folders + [p for p in sys.path if p not in folders]


class _StudentPackageMetadata(importlib.metadata.DistributionFinder):
    """Package metadata for cs336_basics when no installed distribution provides it.

    CS336's own template starts `cs336_basics/__init__.py` with `importlib.metadata.version("cs336_basics")`, which
    works there because that project installs itself; here nothing is installed (the kit and the grader import the
    code from its folder), so it would raise PackageNotFoundError and every test would fail. Last on sys.meta_path:
    a real distribution, where there is one, is found first."""

    def __init__(self, version: str):
        self.version = version

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        return None  # finds no modules, only metadata

    def find_distributions(
        self, context: importlib.metadata.DistributionFinder.Context | None = None
    ) -> Iterator[importlib.metadata.Distribution]:
        context = context if context is not None else importlib.metadata.DistributionFinder.Context()
        name = context.name
        if name is not None and re.sub(r"[-_.]+", "_", name).lower() == STUDENT_PACKAGE:
            yield _SyntheticDistribution(STUDENT_PACKAGE, self.version)


class _SyntheticDistribution(importlib.metadata.Distribution):
    def __init__(self, name: str, version: str):
        self._metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"

    def read_text(self, filename: str) -> str | None:
        return self._metadata if filename in ("METADATA", "PKG-INFO") else None

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        return Path(path)


def _project_version(search_path: list[str]) -> str:
    """The implementation's project version from its pyproject.toml (CS336's names itself cs336_basics), else 0.0.0."""
    import tomllib

    for folder in search_path:
        try:
            project = tomllib.loads((Path(folder) / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
        except (OSError, ValueError):
            continue
        version = project.get("version")
        if isinstance(version, str) and re.sub(r"[-_.]+", "_", str(project.get("name", ""))).lower() == STUDENT_PACKAGE:
            return version
    return "0.0.0"


def provide_student_package_metadata(search_path: list[str]) -> None:
    """Make importlib.metadata.version("cs336_basics") work in this process unless a real distribution exists."""
    if any(isinstance(f, _StudentPackageMetadata) for f in sys.meta_path):
        return
    try:
        importlib.metadata.distribution(STUDENT_PACKAGE)
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    sys.meta_path.append(_StudentPackageMetadata(_project_version(search_path)))


def load(spec: ImplSpec) -> ModuleType:
    """Import the adapters module (worker only). ImplError with a clear message if it cannot be used."""
    put_first_on_path(spec.search_path)
    provide_student_package_metadata(spec.search_path)
    try:
        if spec.path is not None:
            name = "cs336_impl_under_test"
            module_spec = importlib.util.spec_from_file_location(name, spec.path)
            if module_spec is None or module_spec.loader is None:
                raise ImplError(f"--impl {spec.value!r}: {spec.path} cannot be loaded as a Python module. {USAGE}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        elif spec.module is not None:
            module = importlib.import_module(spec.module)
        else:
            raise ImplError(f"--impl {spec.value!r} names neither an adapters file nor a module. {USAGE}")
    except ModuleNotFoundError as e:
        if spec.module and e.name and spec.module.startswith(e.name):
            raise ImplError(f"--impl {spec.value!r}: no module named {e.name!r}. {USAGE}") from None
        raise
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        where = getattr(module, "__file__", None) or spec.value
        raise ImplError(f"--impl {spec.value!r} ({where}) lacks {', '.join(missing)}. {USAGE}")
    return module
