"""What every process the submission starts gets: the worker's package metadata for cs336_basics and its import policy.

The worker installs both in-process (loading.provide_student_package_metadata, allowed_imports.install). A child made
by fork keeps them; one started by multiprocessing's forkserver or spawn start method (forkserver is Linux's default
from Python 3.14 on, spawn is macOS's), or by `subprocess.run([sys.executable, ...])`, is a fresh interpreter that
would have neither: upstream CS336's `cs336_basics/__init__.py` reads its own version at import, so every pool child
would die with PackageNotFoundError, and the import policy would not apply there.

So the worker hands both down through its environment, which every child inherits: `hand_down` puts the start-up
hook's folder (child_startup/, holding only a sitecustomize.py) first on PYTHONPATH and the implementation's search
path in CS336_WORKER_CHILD, and keeps multiprocessing from re-importing the worker's own main module there. At
start-up of any Python process below the worker the hook calls `install_from_environment`, which installs the same two
finders before any of the submission's code runs.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

CHILD = "CS336_WORKER_CHILD"  # protocol.WORKER_CHILD, named here: children load this file alone, before any import
HOOK_FOLDER = str(Path(__file__).resolve().parent / "child_startup")
KIT_ROOT = str(Path(__file__).resolve().parent.parent.parent)


def hand_down(search_path: list[str], own_package: str | None, kit_packages: list[str]) -> None:
    """In the worker, before the implementation is imported: make every Python process it starts install the same
    metadata finder and import policy (the environment is what a fresh interpreter inherits)."""
    _children_skip_main()
    os.environ[CHILD] = json.dumps(
        {"search_path": list(search_path), "own_package": own_package, "kit_packages": list(kit_packages)}
    )
    kept = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in (HOOK_FOLDER, KIT_ROOT)]
    os.environ["PYTHONPATH"] = os.pathsep.join([HOOK_FOLDER, KIT_ROOT, *kept])


def _children_skip_main() -> None:
    """spawn and forkserver children import the parent's __main__ again (as __mp_main__) so that functions defined
    there unpickle. The worker's __main__ is the harness's server, never the submission's: its children would be
    refused it by the import policy, and would pay for importing the harness. Without a name or file to import it
    by, multiprocessing leaves it out."""
    main = sys.modules.get("__main__")
    if main is not None:
        main.__spec__ = None
        main.__dict__.pop("__file__", None)


def install_from_environment() -> None:
    """In a child's start-up (child_startup/sitecustomize.py): the worker's metadata finder and import policy."""
    text = os.environ.get(CHILD)
    if not text:
        return
    settings = json.loads(text)
    search_path = [str(p) for p in settings.get("search_path", [])]
    loading = _sibling("loading")

    allowed_imports = _sibling("allowed_imports")
    loading.provide_student_package_metadata(search_path)
    allowed_imports.install(search_path, settings.get("own_package"), settings.get("kit_packages", []))


def _sibling(name: str) -> ModuleType:
    """A module of this folder, loaded from its file without importing bpe_harness.client (client, psutil...):
    a pool child pays only for what it uses."""
    path = Path(__file__).with_name(name + ".py")
    spec = importlib.util.spec_from_file_location(f"_cs336_worker_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_next_sitecustomize() -> None:
    """The interpreter's own sitecustomize (Debian ships one), which ours hides by coming first on sys.path."""
    later = [p for p in sys.path if p and os.path.abspath(p) != HOOK_FOLDER]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", later)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
