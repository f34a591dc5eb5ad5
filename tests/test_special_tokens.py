"""Special tokens at encode time: one id each, longest match first, added to the vocab when missing."""

from __future__ import annotations

import pytest

from bpe_harness.plugin.divergence import assert_text_equal
from tests.common import (
    EOT,
    assert_tinystories_ids,
    read_sample,
    tinystories,
    tinystories_id,
    tinystories_tiktoken,
    tinystories_tokenizer,
)

DOUBLE = EOT + EOT


@pytest.mark.points(2)
def test_special_token_is_one_id(get_tokenizer):
    ids = tinystories_tokenizer(get_tokenizer).encode(EOT)
    assert_tinystories_ids(ids, [tinystories_id(EOT.encode())], EOT, "a special token is one id")


@pytest.mark.points(2)
def test_specials_at_start_end_and_adjacent(get_tokenizer):
    text = read_sample("specials")
    expected = tinystories_tiktoken().encode(text, allowed_special="all")
    rule = "specials.txt: each special token is one id, also first, last, and next to another special"
    assert_tinystories_ids(tinystories_tokenizer(get_tokenizer).encode(text), expected, text, rule)


@pytest.mark.points(2)
def test_overlapping_specials_longest_wins(get_tokenizer):
    """Listed shortest first on purpose: the longest match must win wherever it fits."""
    tok = tinystories_tokenizer(get_tokenizer, special_tokens=(EOT, DOUBLE))
    plain = tinystories_tiktoken(special_tokens=())
    double_id = tok.encode(DOUBLE)
    assert len(double_id) == 1, f"encode({DOUBLE!r}) gave {double_id}: overlapping specials must match longest-first"
    text = "Hi" + DOUBLE + EOT + " there" + DOUBLE
    expected = plain.encode("Hi") + double_id + [tinystories_id(EOT.encode())] + plain.encode(" there") + double_id
    assert_tinystories_ids(tok.encode(text), expected, text, "overlapping specials: the longest match wins")


@pytest.mark.points(2)
def test_special_missing_from_vocab_is_appended(get_tokenizer):
    new = "<|new_special|>"
    tok, vocab = tinystories_tokenizer(get_tokenizer, special_tokens=(EOT, new)), tinystories().vocab
    ids = tok.encode("A" + new + "B")
    plain = tinystories_tiktoken(special_tokens=())
    assert len(ids) == 3 and ids[0] == plain.encode("A")[0], f"expected 3 ids (A, {new}, B), got {ids}"
    assert ids[1] not in vocab, f"{new} got id {ids[1]}, which the vocab already uses for {vocab[ids[1]]!r}"
    assert_text_equal(tok.decode(ids), "A" + new + "B", "decode after appending a special")


@pytest.mark.points(2)
def test_without_specials_the_text_is_plain(get_tokenizer):
    """A special token's text is only special when the tokenizer was given it."""
    tok = tinystories_tokenizer(get_tokenizer, special_tokens=())
    text = "a" + EOT + "b"
    expected = tinystories_tiktoken(special_tokens=()).encode_ordinary(text)
    rule = "no special tokens were given, so '<|endoftext|>' is ordinary text"
    assert_tinystories_ids(tok.encode(text), expected, text, rule)
