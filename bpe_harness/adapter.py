"""Which implementation is under test (the --impl value), how the worker loads it, and what it must return.

Two halves, on either side of the boundary:
  * `resolve(value)` runs in the harness: it checks the value and turns it into an `ImplSpec` (what to import, and
    which folders go first on the worker's sys.path) WITHOUT importing anything of the implementation;
  * `load(spec)` and the `check_*` functions run only in the worker process: they import the adapters module and
    type-check each result before it is sent back, so a wrong type fails with a sentence instead of a strange diff.

A leaf: it imports nothing else of the harness, so the worker loads the student's code with nothing of ours in the way.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "tests" / "adapters.py"
STUDENT_PACKAGE = "cs336_basics"
REFERENCE = "staff.reference.adapters"  # a package (relative imports), so loaded by module name
REQUIRED = ("run_train_bpe", "get_tokenizer")
USAGE = (
    "--impl accepts: 'student' (tests/adapters.py, the default), 'reference' (staff/reference/adapters.py), "
    "a path to a .py file, or a dotted module name; the module must define run_train_bpe and get_tokenizer."
)


class ImplError(Exception):
    """The --impl value cannot be turned into an implementation. The message says what was tried."""


@dataclass(frozen=True)
class ImplSpec:
    """An implementation, as the worker needs it: a file or a module name, and the folders that go first on
    sys.path so the implementation's own packages (say, its own cs336_basics) win over anything else."""

    value: str  # the --impl value as given
    label: str
    path: str | None = None  # an adapters file, absolute
    module: str | None = None  # or a dotted module name
    search_path: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ImplSpec:
        return cls(**data)

    @property
    def is_student(self) -> bool:
        return self.value == "student"


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
    """The ImplSpec for an --impl value, checked as far as possible without importing it (ImplError if unusable)."""
    cwd = cwd or Path.cwd()
    if value == "student":
        return _file_spec(value, STUDENT, "student (tests/adapters.py)")
    if value == "reference":
        if not (ROOT / "staff" / "reference").is_dir():
            raise ImplError("--impl reference: the reference solution is staff-only and not part of this handout")
        return ImplSpec(value, f"reference ({REFERENCE})", module=REFERENCE, search_path=[str(ROOT)])
    if value.endswith(".py") or "/" in value or "\\" in value:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = (cwd / path) if (cwd / path).exists() else (ROOT / path)
        return _file_spec(value, path, value)
    if not all(part.isidentifier() for part in value.split(".")):
        raise ImplError(f"--impl {value!r} is neither a file nor a module name. {USAGE}")
    return ImplSpec(value, value, module=value)


# --- worker side ----------------------------------------------------------------------------------------------------


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

    def find_spec(self, fullname, path=None, target=None):
        return None  # finds no modules, only metadata

    def find_distributions(self, context=None):
        context = context if context is not None else importlib.metadata.DistributionFinder.Context()
        name = context.name
        if name is not None and re.sub(r"[-_.]+", "_", name).lower() == STUDENT_PACKAGE:
            yield _SyntheticDistribution(STUDENT_PACKAGE, self.version)


class _SyntheticDistribution(importlib.metadata.Distribution):
    def __init__(self, name: str, version: str):
        self._metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"

    def read_text(self, filename):
        return self._metadata if filename in ("METADATA", "PKG-INFO") else None

    def locate_file(self, path):
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
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(spec.module)
    except ModuleNotFoundError as e:
        if spec.module and e.name and spec.module.startswith(e.name):
            raise ImplError(f"--impl {spec.value!r}: no module named {e.name!r}. {USAGE}") from None
        raise
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        where = getattr(module, "__file__", None) or spec.value
        raise ImplError(f"--impl {spec.value!r} ({where}) lacks {', '.join(missing)}. {USAGE}")
    return module


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) or type(x).__module__ == "numpy" and hasattr(x, "__index__")


def _preview(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def check_ids(ids, where: str) -> list[int]:
    """`ids` as a list of ints in 0..2**32-1, or AssertionError naming what is wrong and where."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise AssertionError(f"{where} returned {type(ids).__name__} {_preview(ids)}; expected a list of int token ids")
    out = list(ids)
    for i, x in enumerate(out):
        if not _is_int(x):
            raise AssertionError(
                f"{where} returned a {type(x).__name__} at position {i} ({_preview(x)}); token ids must be ints"
            )
        if not 0 <= int(x) < 1 << 32:
            raise AssertionError(f"{where} returned {int(x)} at position {i}; token ids are in 0..2**32-1")
    return [int(x) for x in out]


def check_text(text, where: str) -> str:
    if type(text) is not str:
        raise AssertionError(f"{where} returned {type(text).__name__} {_preview(text)}; expected str")
    return text


def check_training_result(result) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """(vocab, merges) as exactly dict[int, bytes] and list[tuple[bytes, bytes]], or AssertionError saying why."""
    where = "run_train_bpe()"
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise AssertionError(f"{where} returned {type(result).__name__}; expected a (vocab, merges) pair")
    vocab, merges = result
    if not isinstance(vocab, dict):
        raise AssertionError(f"{where}: vocab is a {type(vocab).__name__}; expected dict[int, bytes]")
    checked_vocab = {}
    for k, v in vocab.items():
        if not _is_int(k) or not isinstance(v, bytes) or not 0 <= int(k) < 1 << 32:
            raise AssertionError(
                f"{where}: vocab entry {_preview(k)}: {_preview(v)} is ({type(k).__name__}, {type(v).__name__}); "
                "expected (int id, bytes token)"
            )
        checked_vocab[int(k)] = bytes(v)
    if isinstance(merges, (str, bytes)) or not isinstance(merges, Iterable):
        raise AssertionError(f"{where}: merges is a {type(merges).__name__}; expected list[tuple[bytes, bytes]]")
    checked = []
    for i, m in enumerate(merges):
        if not (isinstance(m, tuple | list) and len(m) == 2 and all(isinstance(p, bytes) for p in m)):
            raise AssertionError(f"{where}: merges[{i}] is {_preview(m)}; expected a (bytes, bytes) pair")
        checked.append((bytes(m[0]), bytes(m[1])))
    return checked_vocab, checked
