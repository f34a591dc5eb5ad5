"""Encoding and decoding with the vocab trained on tinystories_sample: round trips and exact ids."""

from __future__ import annotations

import pytest

from bpe_harness.compare import assert_ids_equal, assert_text_equal
from bpe_harness.encodings import get_encoding
from tests.common import own_expected, own_tokenizer, own_vocab, read_sample, real_tokenizer

ROUND_TRIPS = {
    "line_ends": "a\r\nb\rc\n\r\n",
    "single_ascii": "s",
    "single_emoji": "🙂",
    "zwj_family": "👨‍👩‍👧‍👦",
    "cjk": "你好，世界。こんにちは、世界。안녕하세요",
    "rtl": "שלום עולם مرحبا بالعالم 123",
    "combining": "e\u0301 a\u0300\u0323 Tiê\u0301ng Việt",
}


def assert_roundtrip(tok, text: str, what: str) -> None:
    """decode() of the true ids gives the text back, and so does decode(encode(text)): decoding is checked on ids
    the implementation did not choose itself (a round trip alone passes an encoder that ignores the vocab)."""
    __tracebackhide__ = True
    assert_text_equal(tok.decode(own_expected().encode(text, allowed_special="all")), text,
                      f"decode() of the true ids of {what}")
    assert_text_equal(tok.decode(tok.encode(text)), text, f"decode(encode({what}))")


@pytest.mark.points(1)
@pytest.mark.parametrize("text", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_roundtrip_short(impl, text):
    """Also the empty text: encode('') is [] and decode([]) is '' (checked with every case, worth no point alone)."""
    tok = own_tokenizer(impl)
    assert_ids_equal(tok.encode(""), [], "", own_vocab()[0], "encode('')")
    assert_text_equal(tok.decode([]), "", "decode([])")
    assert_roundtrip(tok, text, "text")


@pytest.mark.points(1)
@pytest.mark.parametrize("sample", ["multilingual", "english", "whitespace", "code", "specials", "documents"])
def test_roundtrip_samples(impl, sample):
    tok, text = own_tokenizer(impl), read_sample(sample)
    assert_roundtrip(tok, text, sample)


@pytest.mark.points(1)
@pytest.mark.parametrize("sample", ["english", "multilingual", "whitespace", "documents"])
def test_encode_exact_ids(impl, sample):
    tok, text = own_tokenizer(impl), read_sample(sample)
    expected = own_expected().encode(text, allowed_special="all")
    assert_ids_equal(tok.encode(text), expected, text, own_vocab()[0], sample)


@pytest.mark.points(1)
def test_decode_lone_continuation_byte_is_replacement_char(impl):
    tok, (vocab, _) = own_tokenizer(impl), own_vocab()
    [continuation] = [i for i, t in vocab.items() if t == b"\x80"]
    [first_of_two] = [i for i, t in vocab.items() if t == b"\xc3"]
    assert_text_equal(tok.decode([continuation]), "\ufffd", "decode([id of b'\\x80'])")
    a_ids = own_expected().encode("a")
    assert_text_equal(tok.decode(a_ids + [first_of_two]), "a\ufffd", "decode of 'a' then a cut-off 2-byte character")


@pytest.mark.points(1)
def test_tokenizers_do_not_share_state(impl):
    """Two tokenizers with different vocabs, used in turn, each keep their own answers (no class-level cache)."""
    text = read_sample("english")
    own, cl100k = own_tokenizer(impl), real_tokenizer(impl, "cl100k_base")
    own_ids, cl100k_ids = own_expected().encode(text), get_encoding("cl100k_base").encode(text)
    for _ in range(2):
        assert_ids_equal(own.encode(text), own_ids, text, own_vocab()[0], "own vocab, after using another tokenizer")
        assert_ids_equal(cl100k.encode(text), cl100k_ids, text, None, "cl100k_base, after using another tokenizer")
