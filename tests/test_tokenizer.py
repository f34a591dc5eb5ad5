"""Encoding and decoding with the vocab trained on tinystories_sample (tests/common.py: tinystories): round trips
and exact ids."""

from __future__ import annotations

import pytest

from bpe_harness.data.encodings import get_encoding
from bpe_harness.plugin.divergence import assert_ids_equal, assert_text_equal
from tests.common import (
    assert_tinystories_ids,
    read_sample,
    real_tokenizer,
    tinystories,
    tinystories_tiktoken,
    tinystories_tokenizer,
)

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
    assert_text_equal(
        tok.decode(tinystories_tiktoken().encode(text, allowed_special="all")),
        text,
        f"decode() of the true ids of {what}",
    )
    assert_text_equal(tok.decode(tok.encode(text)), text, f"decode(encode({what}))")


@pytest.mark.points(1)
@pytest.mark.parametrize("text", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_roundtrip_short(get_tokenizer, text):
    """Also the empty text: encode('') is [] and decode([]) is '' (checked with every case, worth no point alone),
    and the text's ids followed by a character cut off after its first byte decode to the text and U+FFFD."""
    tok = tinystories_tokenizer(get_tokenizer)
    assert_tinystories_ids(tok.encode(""), [], "", "encode('')")
    assert_text_equal(tok.decode([]), "", "decode([])")
    assert_roundtrip(tok, text, "text")
    [lead_byte] = [i for i, t in tinystories().vocab.items() if t == b"\xe4"]  # the first of 3 bytes, e.g. of '你'
    assert_text_equal(
        tok.decode(tinystories_tiktoken().encode(text) + [lead_byte]),
        text + "\ufffd",
        "decode of the text's ids then the id of b'\\xe4' (a character cut off after its first byte): bytes that "
        "are not valid UTF-8 decode to U+FFFD, never an error (errors='replace')",
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("sample", ["multilingual", "english", "whitespace", "code", "specials", "documents"])
def test_roundtrip_samples(get_tokenizer, sample):
    tok, text = tinystories_tokenizer(get_tokenizer), read_sample(sample)
    assert_roundtrip(tok, text, sample)


@pytest.mark.points(1)
@pytest.mark.parametrize("sample", ["english", "multilingual", "whitespace", "documents"])
def test_encode_exact_ids(get_tokenizer, sample):
    tok, text = tinystories_tokenizer(get_tokenizer), read_sample(sample)
    expected = tinystories_tiktoken().encode(text, allowed_special="all")
    assert_tinystories_ids(tok.encode(text), expected, text, sample)


@pytest.mark.points(1)
def test_decode_lone_continuation_byte_is_replacement_char(get_tokenizer):
    tok, vocab = tinystories_tokenizer(get_tokenizer), tinystories().vocab
    [continuation] = [i for i, t in vocab.items() if t == b"\x80"]
    [first_of_two] = [i for i, t in vocab.items() if t == b"\xc3"]
    assert_text_equal(tok.decode([continuation]), "\ufffd", "decode([id of b'\\x80'])")
    a_ids = tinystories_tiktoken().encode("a")
    assert_text_equal(tok.decode(a_ids + [first_of_two]), "a\ufffd", "decode of 'a' then a cut-off 2-byte character")


@pytest.mark.points(1)
def test_tokenizers_do_not_share_state(get_tokenizer):
    """Two tokenizers with different vocabs, used in turn, each keep their own answers (no class-level cache)."""
    text = read_sample("english")
    tinystories_tok, cl100k = tinystories_tokenizer(get_tokenizer), real_tokenizer(get_tokenizer, "cl100k_base")
    tinystories_ids, cl100k_ids = tinystories_tiktoken().encode(text), get_encoding("cl100k_base").encode(text)
    for _ in range(2):
        assert_tinystories_ids(
            tinystories_tok.encode(text),
            tinystories_ids,
            text,
            "tinystories_sample vocab, after using another tokenizer",
        )
        assert_ids_equal(cl100k.encode(text), cl100k_ids, text, None, "cl100k_base, after using another tokenizer")
