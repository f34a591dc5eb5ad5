"""The kit's files, once: which names are never the kit's (caches, VCS and tool folders), how a folder is walked, and
how a set of files is digested. The judge's kit version, the leaderboard's kit guard and a batch's submission digest
all use these, so two of them can never disagree about what a kit (or a submission) holds.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from bpe_harness.files import sha256_file

SKIP_DIRS = frozenset(
    {"__pycache__", ".pytest_cache", ".git", ".venv", ".cache", ".mypy_cache", ".ruff_cache", ".import_linter_cache"}
)  # caches, version control, environments: never the kit's content, never a student's work
SKIP_FILES = frozenset({".DS_Store"})  # a desktop's bookkeeping, not content
SKIP_SUFFIXES = (".pyc", ".tmp")  # bytecode, half-written files (files.write_atomically's temporary names)


def skipped_dir(name: str) -> bool:
    """A folder that is never part of a kit or a submission (walks do not enter it)."""
    return name in SKIP_DIRS or name.endswith(".egg-info")


def skipped_file(name: str) -> bool:
    """A file that is never part of a kit or a submission."""
    return name in SKIP_FILES or name.endswith(SKIP_SUFFIXES)


def walk(root: Path, tops: Iterable[str] = (".",)) -> Iterator[str]:
    """Posix paths, relative to `root`, of the regular files under each of `tops` (a file or a folder of `root`),
    in a stable order; skipped names and symbolic links are left out (a link is never followed)."""
    for top in tops:
        base = root / top
        if base.is_symlink():
            continue
        if base.is_file():
            yield Path(top).as_posix()
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not skipped_dir(d))
            for name in sorted(filenames):
                full = Path(dirpath) / name
                if not skipped_file(name) and not full.is_symlink() and full.is_file():
                    yield full.relative_to(root).as_posix()


def file_digests(root: Path, rels: Iterable[str]) -> dict[str, str]:
    """{path: sha256 of its content} for the files `rels` under `root`."""
    return {rel: sha256_file(root / rel) for rel in rels}


def digest(files: Mapping[str, str]) -> str:
    """One sha256 over {path: sha256 of content}: the same files with the same content give the same digest,
    whatever order they were listed in; a renamed or changed file gives another."""
    return hashlib.sha256("".join(f"{path}\0{sha}\n" for path, sha in sorted(files.items())).encode()).hexdigest()
