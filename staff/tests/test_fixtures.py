"""Committed fixtures and snapshots are exactly what the builders make, and the tie fixtures discriminate."""

from __future__ import annotations

import pytest

from bpe_harness.rules import EOT
from staff.build_fixtures import FIXTURES, differences
from staff.naive import naive_merges
from staff.reference.train import train_bpe
from staff.tests.runpytest import ROOT, run_suite

SNAPSHOTS = ROOT / "tests" / "snapshots"


def test_fixture_corpora_match_their_builders():
    assert differences(FIXTURES) == [], "run `uv run python -m staff.build_fixtures` and commit the result"


@pytest.mark.slow
def test_snapshots_match_a_fresh_reference_run(tmp_path):
    fresh = tmp_path / "snapshots"
    proc, _ = run_suite(
        tmp_path, "tests/test_train_bpe.py", "--impl", "reference", "--snapshot-update", f"--snapshot-dir={fresh}"
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    committed = sorted(p.name for p in SNAPSHOTS.glob("*.json"))
    rebuilt = sorted(p.name for p in fresh.glob("*.json"))
    assert committed == rebuilt
    changed = [n for n in committed if (SNAPSHOTS / n).read_bytes() != (fresh / n).read_bytes()]
    assert not changed, f"snapshots differ from a fresh reference run: {changed}"


WRONG_TIE_BREAKS = {
    "concatenated bytes": lambda p: p[0] + p[1],
    "GPT-2 remapped unicode": lambda p: tuple(
        "".join(chr(b + 256) if b <= 32 or 127 <= b <= 160 or b == 173 else chr(b) for b in part) for part in p
    ),
    "smallest pair": lambda p: tuple(bytes(255 - b for b in part) + b"\xff" for part in p),
    "second element first": lambda p: (p[1], p[0]),
    "first seen": lambda p: 0,
}


@pytest.mark.parametrize("wrong", WRONG_TIE_BREAKS, ids=list(WRONG_TIE_BREAKS))
def test_tie_fixtures_catch_wrong_tie_breaks(wrong):
    """Each wrong tie-break changes the merges of at least one tie fixture; the required one matches the reference."""
    caught = []
    for path in sorted(FIXTURES.glob("ties_*.txt")):
        text = path.read_bytes().decode("utf-8")
        _, reference = train_bpe(path, 256 + 1 + 10, [EOT])
        assert naive_merges(text, 10, [EOT]) == reference
        if naive_merges(text, 10, [EOT], WRONG_TIE_BREAKS[wrong]) != reference:
            caught.append(path.name)
    assert caught, f"no tie fixture tells the required tie-break from '{wrong}'"


def test_reference_matches_naive_trainer_on_real_fixtures():
    for name, merges in [("blank_lines.txt", 120), ("multi_special.txt", 120)]:
        path = FIXTURES / name
        specials = [EOT, "<|user|>", "<|assistant|>", "<|pad|>"]
        _, reference = train_bpe(path, 256 + len(specials) + merges, specials)
        assert reference == naive_merges(path.read_bytes().decode("utf-8"), merges, specials), name
