"""Offline tiktoken data is used only when it matches the sha256 tiktoken pins; anything else is a clear error.
Cache writes are atomic under unique names, so two cold-cache processes at once both succeed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from bpe_harness.data import encodings
from bpe_harness.settings import ROOT


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
    """The skip reason is one short line pointing at the README; the details say where we looked and what to do."""
    monkeypatch.delenv("CS336_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CS336_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    reason = encodings.unavailable_reason("gpt2")
    assert reason == "gpt2 data not installed: see README 'Offline encodings'"
    details = encodings.unavailable_details("gpt2")
    assert "vocab.bpe" in details and "encoder.json" in details and str(tmp_path) in details
    assert "staff.fetch_gpt2" in details
    with pytest.raises(encodings.EncodingDataError, match="staff.fetch_gpt2"):
        encodings.get_encoding.__wrapped__("gpt2")


_COLD_LOAD = """
import hashlib, json, os, sys, time
ready, go = sys.argv[1], sys.argv[2]
from bpe_harness.data import encodings
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
vocab, merges, specials = encodings.vocab_and_merges("cl100k_base")
print(hashlib.sha256(json.dumps([[a.hex(), b.hex()] for a, b in merges]).encode()).hexdigest(), len(merges))
"""


@pytest.mark.slow
def test_two_cold_cache_loads_at_once(tmp_path):
    """Two processes fill the same empty cache at the same moment: both succeed, and the cache is whole."""
    cache = tmp_path / "cache"
    env = {**os.environ, "CS336_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _COLD_LOAD, str(tmp_path / f"ready{i}"), str(go)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # both start writing the cold cache together
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, f"a concurrent cold-cache load failed:\n{err[-2000:]}"
    assert outs[0][0] == outs[1][0], f"the two loads disagree: {outs[0][0]!r} vs {outs[1][0]!r}"
    files = sorted(p for p in cache.rglob("*") if p.is_file())
    leftovers = [f for f in files if f.name.startswith(".") or f.suffix == ".tmp"]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    assert encodings.is_verified("cl100k_base", cache / "tiktoken")
    [merges_file] = (cache / "merges").iterdir()
    digest, count = outs[0][0].split()
    cached = json.loads(merges_file.read_text())
    assert len(cached) == int(count) and hashlib.sha256(json.dumps(cached).encode()).hexdigest() == digest
