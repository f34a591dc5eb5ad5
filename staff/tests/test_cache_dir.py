"""CS336_CACHE_DIR moves every cache the kit writes: settings.cache_dir() is the one place the location is decided.

The leaderboard's and the experiments' corpora once went to the checkout's .cache whatever CS336_CACHE_DIR said (a
grader with a read-only checkout, or a student with a small home, could not move them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bpe_harness import settings
from bpe_harness.data import encodings
from bpe_harness.plugin import generated_inputs
from bpe_harness.settings import ROOT
from bpe_harness.tools.experiments import compare
from leaderboard import inputs
from staff.bench.__main__ import corpus as bench_corpus

REPO_CACHE = ROOT / ".cache"
SOURCES = ("bpe_harness", "leaderboard", "staff")


def _snapshot(folder):
    if not folder.exists():
        return {}
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def moved_cache(tmp_path, monkeypatch):
    cache = tmp_path / "moved-cache"
    monkeypatch.setenv(settings.CACHE_DIR.name, str(cache))
    before = _snapshot(REPO_CACHE)
    yield cache
    assert _snapshot(REPO_CACHE) == before, "a cache writer wrote into the checkout's .cache"


def test_every_cache_path_follows_the_setting(moved_cache):
    assert settings.cache_dir() == moved_cache
    for where in (
        encodings.tiktoken_cache_dir(),
        generated_inputs.cache_root(),
        inputs.cache_folder(),
        compare.corpora_folder(),
    ):
        assert where.is_relative_to(moved_cache), where


@pytest.mark.slow
def test_every_cache_writer_writes_under_the_setting(moved_cache, monkeypatch):
    written = [inputs.generated(2_000, seed=7)]
    monkeypatch.setattr(compare, "DEFAULT_CORPORA", ((("tinystories", 0), "2KB"),))
    written += compare.default_corpora()
    written.append(bench_corpus("2KB")[0])
    encodings.get_encoding.__wrapped__("cl100k_base")  # seeds the kit's tiktoken cache
    written.append(encodings.cached_ranks_path("cl100k_base", encodings.tiktoken_cache_dir()))
    for path in written:
        assert path.is_file() and path.is_relative_to(moved_cache), path


def test_no_module_builds_the_cache_path_itself():
    """`ROOT / ".cache"` anywhere but settings.py is a second home for the rule (the bug this file guards)."""
    builds = re.compile(r"""/\s*["']\.cache["']""")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for top in SOURCES
        for path in sorted((ROOT / top).rglob("*.py"))
        if path not in (ROOT / "bpe_harness" / "settings.py", Path(__file__).resolve())
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if builds.search(line)
    ]
    assert not offenders, "use bpe_harness.settings.cache_dir(): " + ", ".join(offenders)
