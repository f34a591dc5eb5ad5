"""Inputs the limit tests generate, so that nothing an implementation remembers can answer them.

Fresh inputs (the speed limits): a fixture's documents in an order drawn from the run's seed, written to a file of
their own and removed at the end of the run. Generated corpora (the memory limits): large files made by
bpe_harness.corpus from a seed, written once to `.cache/limits/` with their size and sha256, and reused while they
match; facts computed from them are cached beside them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bpe_harness import corpus, rules, settings
from bpe_harness.files import sha256_file, write_atomically
from bpe_harness.rules import EOT

__all__ = ["GeneratedCorpus", "cache_root", "fresh_documents", "fresh_file", "read_exact_text", "remove_fresh_files"]


# --- fresh inputs for the speed limits -----------------------------------------------------------------------------


def fresh_documents(path: Path, seed: int, separator: str = EOT) -> str:
    """The file's documents (the text between separators) in an order drawn from `seed`: text no implementation
    can have seen before, with exactly the same pre-tokens (so training gives the same merges)."""
    documents = read_exact_text(path).split(separator)
    random.Random(seed).shuffle(documents)
    return separator.join(documents)


def fresh_file(path: Path, seed: int, separator: str = EOT) -> Path:
    """fresh_documents written to a file of its own that the worker can read (in the cache folder, removed by
    `remove_fresh_files`)."""
    target = cache_root() / "fresh" / f"{path.stem}-{seed}-{os.getpid()}{path.suffix}"
    write_atomically(target, fresh_documents(path, seed, separator))
    _FRESH.append(target)
    return target


_FRESH: list[Path] = []  # fresh files this process wrote


def remove_fresh_files() -> None:
    """Remove the fresh files this process wrote (another run may be using its own)."""
    while _FRESH:
        with contextlib.suppress(OSError):
            _FRESH.pop().unlink()


# --- generated inputs, cached in .cache/limits ---------------------------------------------------------------------


def read_exact_text(path: Path) -> str:
    """The file's text exactly (no newline translation), as encode_iterable sees it from open(newline="")."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def _write_json(path: Path, data: dict) -> None:
    write_atomically(path, json.dumps(data, indent=1))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def cache_root() -> Path:
    return settings.cache_dir() / "limits"


_CHECKED: set[str] = set()  # corpus keys whose file was verified in this process


@dataclass(frozen=True)
class GeneratedCorpus:
    """A large corpus made by bpe_harness.corpus from a seed, written once to .cache/limits and reused.

    With repeat=N the file is a generated corpus of size/N bytes written N times: as large as ever for whoever holds
    all of it, with the distinct pre-tokens (and so any cache of them) of a size/N corpus."""

    name: str
    size: int
    seed: int
    style: str = "tinystories"
    mixed: bool = True
    repeat: int = 1

    @property
    def key(self) -> str:
        version = getattr(corpus, "_GENERATOR_VERSION", 0)  # a new generator version means a new file
        kind = "mixed" if self.mixed else "ascii"
        return f"{self.name}-{self.style}-{kind}-seed{self.seed}-{self.size}x{self.repeat}-v{version}"

    def _write(self, path: Path) -> None:
        def write(tmp: Path) -> None:
            corpus.write_corpus(tmp, self.size // self.repeat, self.seed, style=self.style, mixed=self.mixed)
            data = tmp.read_bytes()
            with open(tmp, "wb") as f:
                for _ in range(self.repeat):
                    f.write(data)

        write_atomically(path, write)

    def path(self) -> Path:
        """The corpus file, (re)generated if missing or not what was written (checked once per process)."""
        path, meta = cache_root() / f"{self.key}.txt", cache_root() / f"{self.key}.json"
        if self.key in _CHECKED and path.exists():
            return path
        info = _read_json(meta)
        if not (
            path.exists()
            and info.get("sha256")
            and info.get("bytes") == path.stat().st_size
            and sha256_file(path) == info["sha256"]
        ):
            self._write(path)
            _write_json(meta, {"bytes": path.stat().st_size, "sha256": sha256_file(path)})
        _CHECKED.add(self.key)
        return path

    def cached(self, name: str, compute: Callable[[Path], dict]) -> dict:
        """compute(path), remembered in a file of its own (so concurrent runs never lose each other's entries)."""
        path = self.path()
        file = cache_root() / f"{self.key}.{name}.json"
        found = _read_json(file)
        if not found:
            found = compute(path)
            _write_json(file, found)
        return found

    def text_stats(self) -> dict:
        """Sizes of the whole text held in memory: bytes, characters, and the str object's size."""

        def compute(path: Path) -> dict:
            text = read_exact_text(path)
            return {"bytes": path.stat().st_size, "chars": len(text), "str_bytes": sys.getsizeof(text)}

        return self.cached("text", compute)

    def pretoken_stats(self, pattern: str, special_tokens: list[str]) -> dict:
        """How many pre-token occurrences the corpus has, and what a list of all of them (as str) would take."""

        def compute(path: Path) -> dict:
            count = size = 0
            for piece in rules.pretokens(read_exact_text(path), special_tokens, pattern):
                count += 1
                size += sys.getsizeof(piece) + 8
            return {"occurrences": count, "list_of_str_bytes": size}

        key = "pretokens-" + hashlib.sha256(json.dumps([pattern, special_tokens]).encode()).hexdigest()[:12]
        return self.cached(key, compute)
