"""Offline tiktoken data is used only when it matches the sha256 tiktoken pins; anything else is a clear error."""

from __future__ import annotations

import pytest

from bpe_harness import encodings


def test_pinned_hash_comes_from_tiktoken():
    [(url, sha)] = encodings.pinned_source("o200k_base")
    assert url.endswith("/o200k_base.tiktoken") and len(sha) == 64


def test_tampered_ranks_are_refused(tmp_path, monkeypatch):
    real = encodings._shipped_ranks_bytes("cl100k_base")
    monkeypatch.setattr(encodings, "_shipped_ranks_bytes", lambda name: real.replace(b"IQ== 0", b"IQ== 1", 1))
    with pytest.raises(encodings.EncodingDataError, match="Refusing to use it"):
        encodings._seed_cache("cl100k_base", tmp_path)
    assert not list(tmp_path.iterdir()), "nothing may be written from unverified data"


def test_verified_ranks_seed_the_cache(tmp_path):
    encodings._seed_cache("cl100k_base", tmp_path)
    [cached] = tmp_path.iterdir()
    assert cached.stat().st_size > 1_000_000


def test_gpt2_unavailable_says_why(monkeypatch, tmp_path):
    monkeypatch.delenv("CS336_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(encodings, "DEFAULT_CACHE", tmp_path)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    reason = encodings.unavailable_reason("gpt2")
    assert reason and "vocab.bpe" in reason and "encoder.json" in reason and str(tmp_path) in reason
