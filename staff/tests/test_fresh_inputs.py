"""The limit tests' inputs are drawn from the run's secret (plugin/generated_inputs.py) and their answers checked
without a trainer (bpe_harness.plugin.merge_check): cheap checks of both, in this process (~2 s)."""

from __future__ import annotations

import os
import re
import stat
from collections import Counter

import pytest

from bpe_harness import rules
from bpe_harness.plugin.generated_inputs import FreshCorpus, FreshInputs, input_seed, read_exact_text
from bpe_harness.plugin.merge_check import assert_merges_hold, steps_to_check
from bpe_harness.rules import EOT
from staff.reference.train import train_bpe
from tests.common import tinystories, tinystories_tiktoken


class _Box:
    """What FreshInputs uses of a Sandbox: its workers' group, and opening a folder to them."""

    def __init__(self, gid: int):
        self.gid = gid

    def open_to_workers(self, folder):
        os.chown(folder, -1, self.gid)
        os.chmod(folder, 0o710)


@pytest.fixture
def inputs(monkeypatch, tmp_path):
    monkeypatch.setenv("CS336_CACHE_DIR", str(tmp_path / "cache"))
    made = FreshInputs(_Box(os.getgid()))
    yield made
    made.remove()


def test_names_and_modes_say_nothing_and_open_only_to_the_workers(inputs):
    secret = 123456789
    source = FreshCorpus(inputs, 20_000, input_seed(secret, "training"))
    path = source.path()
    assert re.fullmatch(r"[0-9a-f]{24}\.txt", path.name), path.name
    seeds = {str(secret), str(input_seed(secret, "training")), str(input_seed(secret, "training", 1))}
    assert not any(s in str(path) for s in seeds), path
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.stat().st_gid == os.getgid()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o710
    inputs.remove()
    assert not path.exists() and not path.parent.exists()


def test_input_seeds_are_keyed_by_the_secret():
    a, b = input_seed(1, "training"), input_seed(2, "training")
    assert len({a, b, input_seed(1, "training", 1), input_seed(1, "encoding speed")}) == 4
    assert input_seed(1, "training") == a  # a run's inputs are fixed once its secret is


@pytest.mark.parametrize(
    "piece", [None, "\n\n hello there<|endoftext|>\n  foo\n<|endoftext|>\n", "\r\n\tA<|endoftext|>\nb <|endoftext|>\n"]
)
def test_a_repeated_corpus_has_the_facts_of_its_whole_file(inputs, piece):
    """FreshCorpus computes ids and pre-tokens on its piece; they equal those of the whole file, whitespace at the
    piece's start included (a newline then joins it)."""
    source = FreshCorpus(inputs, 60_000, 5, repeat=4)
    if piece is not None:
        source._piece = piece
    whole = read_exact_text(source.path())
    encoding = tinystories_tiktoken()
    ids = source.repeated(lambda text: encoding.encode(text, allowed_special={EOT}))
    assert ids == encoding.encode(whole, allowed_special={EOT})
    assert source.words([EOT]) == Counter(rules.pretokens(whole, [EOT]))
    assert source.text_stats()["bytes"] == len(whole.encode("utf-8"))


def test_the_right_merges_hold_and_a_public_answer_does_not(inputs):
    """The reference's merges on a fresh corpus hold at every checked step; the snapshot's (the answer of the old,
    shuffled training-speed input) fail, and so do merges learnt from half of the corpus."""
    source = FreshCorpus(inputs, 257_000, input_seed(7, "training"))
    words = source.words([EOT])
    _, merges = train_bpe(source.path(), 1000, [EOT])
    steps = steps_to_check(len(merges), 11)
    assert len(steps) == 8 and steps[0] == 0 and steps[-1] == len(merges) - 1
    assert_merges_hold(merges, words, steps, "reference")
    with pytest.raises(AssertionError, match="not this corpus's"):
        assert_merges_hold(tinystories().merges, words, steps, "public answer")
    half = inputs.write(read_exact_text(source.path())[:128_000])
    _, sampled = train_bpe(half, 1000, [EOT])
    with pytest.raises(AssertionError, match="not this corpus's"):
        assert_merges_hold(sampled, words, steps, "half the corpus")


def test_a_short_training_is_checked_at_every_step(inputs):
    """The training-memory test's 43 merges are all checked: a list made for another seed of the same generator
    agrees with this corpus at most of its steps (seed 606: 37 of 43), so six drawn steps plus the first and last let
    it through about one run in three; checking every step refuses it every time. (~2 s)"""
    from staff.bad.baked_trainer import SEED21_MERGES

    baked = [(a.encode(), b.encode()) for a, b in SEED21_MERGES]
    source = FreshCorpus(inputs, 1_000_000, 606, mixed=False)
    words = source.words([EOT])
    assert steps_to_check(43, 11) == list(range(43)) and len(steps_to_check(743, 11)) == 8
    _, merges = train_bpe(source.path(), 300, [EOT])
    assert_merges_hold(merges, words, steps_to_check(len(merges), 11), "reference")
    wrong = [i for i in range(len(merges)) if merges[i] != baked[i]]
    assert 0 < len(wrong) <= 6, wrong  # what makes sampling too weak here: few steps tell the two lists apart
    for seed in range(20):
        with pytest.raises(AssertionError, match="not this corpus's"):
            assert_merges_hold(baked, words, steps_to_check(len(baked), seed), "prepared for seed 21")
