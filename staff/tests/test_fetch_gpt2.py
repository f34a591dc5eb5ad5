"""gpt2 offline: staff.fetch_gpt2 installs r50k_base's ranks only when they match tiktoken's pinned sha256, and
data/encodings.py serves gpt2 from them only because tiktoken defines gpt2 and r50k_base alike but for the ranks."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
import tiktoken

from bpe_harness.data import encodings
from staff import fetch_gpt2

REAL_R50K = encodings.tiktoken_cache_dir()


def _fake_ranks() -> bytes:
    """A tiktoken-format rank file that is not r50k_base (or r50k_base with one rank changed, when installed)."""
    if encodings.is_verified("r50k_base", REAL_R50K):
        real = encodings.cached_ranks_path("r50k_base", REAL_R50K).read_bytes()
        return real.replace(b"IQ== 0", b"IQ== 1", 1)  # the realistic tamper: one rank changed
    return b"".join(base64.b64encode(bytes([b])) + b" %d\n" % b for b in range(256))


def _sdist(path: Path, member_data: bytes, member: str = fetch_gpt2.MEMBER) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [(f"openai_whisper-1/{member}", member_data), ("openai_whisper-1/setup.cfg", b"")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_tampered_archive_is_refused_and_nothing_written(tmp_path, capsys):
    archive = _sdist(tmp_path / "openai_whisper-1.tar.gz", _fake_ranks())
    cache = tmp_path / "cache"
    assert fetch_gpt2.main(["--cache", str(cache), "--archive", str(archive)]) == 1
    err = capsys.readouterr().err
    assert "Refusing to use it" in err and "tiktoken pins" in err and "Nothing was written" in err, err
    assert not cache.exists() or not _files(cache), f"unverified data was written: {_files(cache)}"


def test_archive_without_the_asset_is_refused(tmp_path, capsys):
    archive = _sdist(tmp_path / "openai_whisper-1.tar.gz", b"x", member="whisper/assets/other.tiktoken")
    assert fetch_gpt2.main(["--cache", str(tmp_path / "cache"), "--archive", str(archive)]) == 1
    assert "exactly one whisper/assets/gpt2.tiktoken" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


def test_verified_archive_is_installed_where_tiktoken_looks(tmp_path, monkeypatch):
    """With the pin pointed at our data (the real file needs the network), the install path is the real one."""
    data = _fake_ranks()
    [(url, _)] = encodings.pinned_source("r50k_base")
    monkeypatch.setattr(encodings, "pinned_source", lambda name: [(url, hashlib.sha256(data).hexdigest())])
    cache = tmp_path / "cache"
    archive = _sdist(tmp_path / "openai_whisper-1.tar.gz", data)
    assert fetch_gpt2.main(["--cache", str(cache), "--archive", str(archive)]) == 0
    [installed] = _files(cache)
    assert installed == cache / "tiktoken" / hashlib.sha1(url.encode()).hexdigest()  # tiktoken's cache naming
    assert installed.read_bytes() == data and installed.stat().st_mode & 0o777 == 0o644


def test_gpt2_is_built_from_r50k_ranks_with_gpt2s_own_fields():
    ranks = {bytes([b]): b for b in range(256)}
    ranks.update((bytes([i // 256, i % 256]), i) for i in range(256, 50_256))  # r50k_base's size, made-up tokens
    source = tiktoken.Encoding("r50k_base", pat_str=r"\S+", mergeable_ranks=ranks, special_tokens={})
    gpt2 = encodings._same_ranks_encoding("gpt2", source)
    fields = encodings.constructor_fields("gpt2")
    assert gpt2.name == "gpt2" and gpt2._pat_str == fields["pat_str"] and gpt2._mergeable_ranks == ranks
    assert gpt2._special_tokens == fields["special_tokens"] == {"<|endoftext|>": 50256}


def test_gpt2_refused_if_tiktoken_defines_it_differently(monkeypatch):
    real = encodings.constructor_fields
    monkeypatch.setattr(
        encodings,
        "constructor_fields",
        lambda name: {**real(name), "pat_str": r"\w+"} if name == "gpt2" else real(name),
    )
    source = tiktoken.Encoding(
        "r50k_base", pat_str=r"\S+", mergeable_ranks={bytes([b]): b for b in range(256)}, special_tokens={}
    )
    with pytest.raises(encodings.EncodingDataError, match=r"differently \(pat_str\)"):
        encodings._same_ranks_encoding("gpt2", source)


@pytest.mark.skipif(
    not encodings.is_verified("r50k_base", REAL_R50K),
    reason="r50k_base not installed: uv run --group staff python -m staff.fetch_gpt2",
)
def test_installed_gpt2_gives_tiktokens_published_ids():
    """tiktoken's own test_simple for gpt2: these ids are public facts about GPT-2's vocabulary."""
    assert encodings.unavailable_reason("gpt2") is None
    enc = encodings.get_encoding("gpt2")
    assert enc.name == "gpt2" and enc.n_vocab == 50257
    assert enc.encode("hello world") == [31373, 995]
    assert enc.encode("hello <|endoftext|>", allowed_special="all") == [31373, 220, 50256]
