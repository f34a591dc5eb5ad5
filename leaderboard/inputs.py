"""What a leaderboard run measures (`Spec`) and the inputs of each round, generated from a seed.

Each round trains on its own generated corpus and encodes its own held-out text (`round_seeds`), so nothing learnt in
one round helps the next. The published seed (PUBLISHED_SEED) gives inputs anyone can precompute: they are cached and
a run on them is practice. A drawn seed's inputs go to a temporary folder of their own, under random file names (a
name with the seed in it would give the seed away), readable by the sandbox's user only while the round's timed calls
run (`expose`)."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bpe_harness import settings
from bpe_harness.data.corpus import write_corpus
from bpe_harness.files import sha256_file
from bpe_harness.rules import EOT
from leaderboard.errors import SubmitError

PUBLISHED_SEED = 0  # the seed `submit` uses by default: its inputs are public, so its runs are practice


@dataclass
class Spec:
    """What is measured. `corpus` is None for generated corpora of `size` bytes (tinystories style): round r trains on
    the corpus of seed `round_seeds(seed, r)[0]` and encodes the held-out text of seed `round_seeds(seed, r)[1]`."""

    size: int = 8_000_000
    seed: int = PUBLISHED_SEED
    corpus: Path | None = None
    vocab_size: int = 4000
    special_tokens: list[str] = field(default_factory=lambda: [EOT])
    held_out_size: int = 4_000_000
    rounds: int = 5
    timeout: float = 600.0  # seconds per call
    max_memory: int = 4_000_000_000  # bytes above the worker's pre-call level, per call
    drawn: bool = False  # the seed was drawn at measuring time (secrets), not given

    @property
    def practice(self) -> bool:
        """Inputs that could have been known in advance: a given seed (the published one by default) or a corpus
        file. Only a seed drawn when measuring is not practice."""
        return not self.drawn or self.corpus is not None

    def corpus_record(self, paths: list[Path]) -> dict:
        if self.corpus is None:
            base = {"kind": "generated", "style": "tinystories", "size": self.size, "seed": self.seed, "mixed": True}
        else:
            base = {"kind": "file", "name": self.corpus.name}
        return {
            **base,
            "bytes": paths[0].stat().st_size,
            "sha256": sha256_file(paths[0]),
            "rounds_sha256": [sha256_file(p) for p in paths],
            "vocab_size": self.vocab_size,
            "special_tokens": list(self.special_tokens),
        }


def round_seeds(seed: int, r: int) -> tuple[int, int]:
    """(corpus seed, held-out seed) of round r (0-based). Seed 0, round 0 gives (0, 1)."""
    return seed * 1000 + 2 * r, seed * 1000 + 2 * r + 1


def cache_folder() -> Path:
    """Where published inputs are cached: the kit's cache folder's leaderboard/ (CS336_CACHE_DIR moves it)."""
    return settings.cache_dir() / "leaderboard"


def generated(size: int, seed: int, folder: Path | None = None, name: str | None = None) -> Path:
    """A generated corpus, written once into `folder` (default: cache_folder()) and reused (same bytes on every
    machine). Readable by every user, as the sandboxed worker runs as another one. `name`: the file's name (drawn
    inputs get a random one: a name with the seed in it would give the seed away)."""
    folder = cache_folder() if folder is None else folder
    path = folder / (name or f"tinystories-{size}-seed{seed}.txt")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_corpus(path, size, seed)  # writes to a temporary name, then renames
        os.chmod(path, 0o644)
    return path


def corpus_path(spec: Spec) -> Path | None:
    """The --corpus file (a missing one fails here, before the gate); None for generated corpora."""
    if spec.corpus is None:
        return None
    path = Path(spec.corpus).expanduser()
    if not path.is_file():
        raise SubmitError(
            f"--corpus {spec.corpus}: no such file. Give the path of a UTF-8 text file "
            "(e.g. TinyStories' train split), or leave --corpus out to use the generated corpus."
        )
    return path


_FRESH: dict[int, Path] = {}
_NAMES: dict[tuple[int, int], tuple[str, str]] = {}  # (drawn seed, round) -> its files' random names


def _inputs_folder(spec: Spec) -> Path:
    """Published inputs are cached in cache_folder(); a fresh seed's go to a temporary folder of their own."""
    if spec.practice:
        return cache_folder()
    if spec.seed not in _FRESH:
        cache_folder().mkdir(parents=True, exist_ok=True)  # inside the cache: a worker's allowlisted view shows it
        folder = Path(tempfile.mkdtemp(prefix="leaderboard-inputs-", dir=cache_folder()))
        os.chmod(folder, 0o711)  # others may pass through to an exposed round's folder, not list what is there
        _FRESH[spec.seed] = folder
    return _FRESH[spec.seed]


def drop_inputs(spec: Spec) -> None:
    """Remove a drawn seed's inputs (its temporary folder) and forget their names."""
    folder = _FRESH.pop(spec.seed, None)
    for key in [k for k in _NAMES if k[0] == spec.seed]:
        del _NAMES[key]
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def round_input(spec: Spec, r: int) -> tuple[Path, Path]:
    """(training corpus, held-out text) of round r, generated now if needed. A drawn seed's go to a folder of their
    own, readable by this user only until `expose(spec, r)`."""
    folder = _inputs_folder(spec)
    names: tuple[str | None, str | None] = (None, None)
    if not spec.practice:
        folder = folder / f"r{r}"
        folder.mkdir(mode=0o700, exist_ok=True)
        names = _NAMES.setdefault((spec.seed, r), (f"{secrets.token_hex(12)}.txt", f"{secrets.token_hex(12)}.txt"))
    c_seed, h_seed = round_seeds(spec.seed, r)
    corpus = corpus_path(spec) if spec.corpus is not None else generated(spec.size, c_seed, folder, names[0])
    return corpus, generated(spec.held_out_size, h_seed, folder, names[1])


def expose(spec: Spec, r: int, readable: bool = True) -> None:
    """Make round r's drawn inputs readable by the sandbox's user (right before its timed calls), or (readable=False,
    right after them) private again."""
    if not spec.practice:
        os.chmod(_inputs_folder(spec) / f"r{r}", 0o755 if readable else 0o700)


def round_inputs(spec: Spec) -> list[tuple[Path, Path]]:
    """[(training corpus, held-out text)] of every round (for staff verify's reference check: not exposed)."""
    return [round_input(spec, r) for r in range(spec.rounds)]
