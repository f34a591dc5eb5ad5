"""encode_iterable: exactly encode("".join(chunks)) for any chunking, lazily, from any iterable of str."""

from __future__ import annotations

import itertools
import random

import pytest

from bpe_harness.compare import assert_ids_equal
from bpe_harness.isolation import repeat_lines
from tests.common import EOT, own_tokenizer, own_vocab, read_sample, real_tokenizer, real_vocab, sample_path

DOUBLE = EOT + EOT
TRICKY = {
    "specials": f"Hi{EOT} there{DOUBLE}x{EOT}",
    "whitespace": "a  b\t\t c \n\n\n  d   \r\n \u3000e  ",
    "paragraphs": "One.\n\nTwo three four.\n\n\nFive six\n \nseven",
    "contractions": "we'll I'd they've it's don't DON'T we'",
    "digits_and_marks": "1234567 3.14 ,,,!!! ??",
    "unicode": "né\u0301 你好 👩‍💻👍🏽 שלום",
}
RULE = "a cut between chunks must not change the tokens: encode_iterable(chunks) == encode(''.join(chunks))"


def long_tricky_text(min_chars: int = 70_000) -> str:
    """All the tricky pieces over and over, with CRLF between them, past 64K characters: wherever an implementation
    decides to cut its buffer, it cuts next to a contraction, a whitespace run, a CRLF or a special token."""
    pieces = itertools.cycle([*TRICKY.values(), "\r\n", "  \r\n\r\n ", "we'l", "l be", " there"])
    text, size = [], 0
    while size < min_chars:
        piece = next(pieces)
        text.append(piece)
        size += len(piece)
    return "".join(text)


@pytest.mark.points(1)
@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_every_split_point(impl, text):
    tok, vocab = own_tokenizer(impl, special_tokens=(EOT, DOUBLE)), own_vocab()[0]
    expected = tok.encode(text)
    for i in range(len(text) + 1):
        got = tok.encode_iterable([text[:i], text[i:]])
        assert_ids_equal(got, expected, text, vocab, f"encode_iterable of chunks {text[:i]!r} + {text[i:]!r}")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_one_character_chunks(impl, text):
    tok, vocab = own_tokenizer(impl, special_tokens=(EOT, DOUBLE)), own_vocab()[0]
    assert_ids_equal(tok.encode_iterable(list(text)), tok.encode(text), text, vocab, "one character per chunk")


@pytest.mark.points(1)
@pytest.mark.parametrize("chunking", ["one_character", "random_sizes", "lines"])
def test_cuts_in_a_long_text(impl, chunking):
    """Past 64K characters, so an implementation that buffers before cutting still has to cut, many times."""
    tok, vocab, text = own_tokenizer(impl, special_tokens=(EOT, DOUBLE)), own_vocab()[0], long_tricky_text()
    if chunking == "one_character":
        chunks = list(text)
    elif chunking == "lines":
        chunks = text.splitlines(keepends=True)
    else:
        rng, chunks, at = random.Random(7), [], 0
        while at < len(text):
            size = rng.choice([1, 2, 3, 7, 100, 4096, 20_000])
            chunks.append(text[at : at + size])
            at += size
    what = f"encode_iterable of {len(text):,} characters in {len(chunks):,} chunks ({chunking}); {RULE}"
    assert_ids_equal(tok.encode_iterable(chunks), tok.encode(text), text, vocab, what)


@pytest.mark.points(1)
def test_random_chunkings_o200k(impl):
    """o200k_base has its own regex (case-split words, 1-3 digit groups): streaming must respect it too."""
    tok, text = real_tokenizer(impl, "o200k_base"), read_sample("english") + read_sample("whitespace")
    expected = tok.encode(text)
    rng = random.Random(0)
    for trial in range(20):
        cuts = sorted(rng.sample(range(len(text)), 1 + trial))
        chunks = [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]
        assert_ids_equal(tok.encode_iterable(chunks), expected, text, real_vocab("o200k_base")[0],
                         f"chunks cut at {cuts}")


@pytest.mark.points(1)
@pytest.mark.parametrize("sample", ["documents", "specials", "whitespace"])
def test_file_handle(impl, sample):
    tok, text = own_tokenizer(impl), read_sample(sample)
    with open(sample_path(sample), encoding="utf-8", newline="") as f:
        got = tok.encode_iterable(f)
    assert_ids_equal(got, tok.encode(text), text, own_vocab()[0], f"encode_iterable(open({sample}.txt))")


@pytest.mark.points(1)
def test_is_lazy(impl):
    """Ids must come out while the input is still being read: here the input never ends."""
    endless = repeat_lines(
        read_sample("english").splitlines(keepends=True), max_chars=20_000_000,
        message="encode_iterable read 20 MB of input without yielding 1000 ids: it must yield as it reads "
                "(never join the whole input first)",
    )
    first = own_tokenizer(impl).encode_iterable(endless, take=1000)
    assert len(first) == 1000, f"encode_iterable of an endless input ended after {len(first)} ids"
