"""The stream tests' vocab makes every wrong cut visible: wherever tests/test_encode_iterable.py expects a wrong
implementation to cut, encoding the two sides apart gives other ids than encoding the whole text. Under the
tinystories vocab many of these cuts changed nothing (it has no '\\t\\t' or '\\r\\n' token), so a stream that cut
there passed. Cost: ~5 s (tiktoken over the 70K-character long texts, twice per block end)."""

from __future__ import annotations

import pytest

from staff.build_fixtures import STREAM_SEPARATORS
from tests.common import EOT, stream_ids, stream_vocab, tinystories_tiktoken
from tests.test_encode_iterable import CUTS, DOUBLE, GATHER, MARK, boundary_at, long_tricky_text, pretoken_starts

SPECIAL_IDS = {EOT: 0, DOUBLE: 1000}  # the tokenizer appends the double special after the vocab's 1000 ids


def changes_ids(text: str, at: int) -> bool:
    return stream_ids(text[:at], SPECIAL_IDS) + stream_ids(text[at:], SPECIAL_IDS) != stream_ids(text, SPECIAL_IDS)


@pytest.mark.parametrize("cut", CUTS)
def test_every_listed_cut_changes_the_ids(cut):
    assert changes_ids(cut.replace(MARK, ""), cut.index(MARK)), (
        f"cutting {cut!r} at '¦' gives the same ids as the whole under the stream vocab: a stream that cuts there "
        "would pass; retrain the vocab on a corpus where the pieces on both sides merge (staff/build_fixtures.py)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("first", [0, 1])
def test_every_block_end_of_the_long_text_holds_a_wrong_cut(first):
    """At each block end, an implementation keeping back the scheduled number of pre-tokens cuts exactly at a listed
    cut, and that changes the ids of the whole long text."""
    text = long_tricky_text(first)
    for block in range(1, len(text) // GATHER + 1):
        cut, kept, _end = boundary_at(block, first)
        end = block * GATHER
        at = end if kept == 0 else pretoken_starts(text[:end])[-kept]
        assert text[at - cut.index(MARK) : at] == cut[: cut.index(MARK)], (block, cut, kept, text[at - 20 : at + 20])
        assert changes_ids(text, at), f"block {block}: cutting at {text[at - 20 : at + 20]!r} changes nothing"


def test_the_vocab_has_a_token_for_every_kind_of_whitespace_run_and_contraction():
    tokens = set(stream_vocab().vocab.values())
    wanted = [s.encode() for s in STREAM_SEPARATORS] + [c.encode() for c in ("'ll", "'t", "'s", "'ve", "'d", "'re")]
    assert not [t for t in wanted if t not in tokens], [t for t in wanted if t not in tokens]


def test_the_tinystories_vocab_misses_some_of_these_cuts():
    """Why the stream tests have their own vocab: under tinystories' some wrong cuts give the right ids."""
    plain = tinystories_tiktoken(special_tokens=())
    unseen = [
        cut
        for cut in CUTS
        if EOT not in cut
        and plain.encode_ordinary(cut.replace(MARK, ""))
        == plain.encode_ordinary(cut[: cut.index(MARK)]) + plain.encode_ordinary(cut[cut.index(MARK) + 1 :])
    ]
    assert unseen, "the tinystories vocab would do: every cut changes its ids too"
