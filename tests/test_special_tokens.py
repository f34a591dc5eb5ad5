"""Special tokens at encode time: one id each, longest match first, added to the vocab when missing."""

from __future__ import annotations

import pytest

from bpe_harness.compare import assert_ids_equal, assert_text_equal
from tests.common import EOT, own_expected, own_tokenizer, own_vocab, read_sample

DOUBLE = EOT + EOT


def _id_of(token: str) -> int:
    return next(i for i, t in own_vocab()[0].items() if t == token.encode())


@pytest.mark.points(2)
def test_special_token_is_one_id(impl):
    ids = own_tokenizer(impl).encode(EOT)
    assert_ids_equal(ids, [_id_of(EOT)], EOT, own_vocab()[0], "a special token is one id")


@pytest.mark.points(2)
def test_specials_at_start_end_and_adjacent(impl):
    text = read_sample("specials")
    expected = own_expected().encode(text, allowed_special="all")
    rule = "specials.txt: each special token is one id, also first, last, and next to another special"
    assert_ids_equal(own_tokenizer(impl).encode(text), expected, text, own_vocab()[0], rule)


@pytest.mark.points(2)
def test_overlapping_specials_longest_wins(impl):
    """Listed shortest first on purpose: the longest match must win wherever it fits."""
    tok, plain = own_tokenizer(impl, special_tokens=(EOT, DOUBLE)), own_expected(special_tokens=())
    double_id = tok.encode(DOUBLE)
    assert len(double_id) == 1, f"encode({DOUBLE!r}) gave {double_id}: overlapping specials must match longest-first"
    text = "Hi" + DOUBLE + EOT + " there" + DOUBLE
    expected = plain.encode("Hi") + double_id + [_id_of(EOT)] + plain.encode(" there") + double_id
    assert_ids_equal(tok.encode(text), expected, text, own_vocab()[0], "overlapping specials: the longest match wins")


@pytest.mark.points(2)
def test_special_missing_from_vocab_is_appended(impl):
    new = "<|new_special|>"
    tok, vocab = own_tokenizer(impl, special_tokens=(EOT, new)), own_vocab()[0]
    ids = tok.encode("A" + new + "B")
    plain = own_expected(special_tokens=())
    assert len(ids) == 3 and ids[0] == plain.encode("A")[0], f"expected 3 ids (A, {new}, B), got {ids}"
    assert ids[1] not in vocab, f"{new} got id {ids[1]}, which the vocab already uses for {vocab[ids[1]]!r}"
    assert_text_equal(tok.decode(ids), "A" + new + "B", "decode after appending a special")


@pytest.mark.points(2)
def test_without_specials_the_text_is_plain(impl):
    """A special token's text is only special when the tokenizer was given it."""
    tok = own_tokenizer(impl, special_tokens=())
    text = "a" + EOT + "b"
    expected = own_expected(special_tokens=()).encode_ordinary(text)
    rule = "no special tokens were given, so '<|endoftext|>' is ordinary text"
    assert_ids_equal(tok.encode(text), expected, text, own_vocab()[0], rule)
