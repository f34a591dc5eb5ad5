"""encode_iterable: exactly encode("".join(chunks)) for any chunking, lazily, from any iterable of str.

Every stream is compared with the true ids (tiktoken over the same vocab), never with the implementation's own
encode(): an encoder that is wrong (or empty) in the same way for streams and whole texts earns nothing here.
"""

from __future__ import annotations

import itertools
import random

import pytest

from bpe_harness.compare import describe_ids_difference, ended_early
from bpe_harness.encodings import get_encoding
from bpe_harness.isolation import repeat_lines
from tests.common import (
    EOT,
    assert_tinystories_ids,
    read_sample,
    real_tokenizer,
    real_vocab,
    sample_path,
    tinystories,
    tinystories_id,
    tinystories_ids,
    tinystories_tiktoken,
    tinystories_tokenizer,
)

DOUBLE = EOT + EOT
TRICKY = {
    "specials": f"Hi{EOT} there{DOUBLE}x{EOT}",
    "whitespace": "a  b\t\t c \n\n\n  d   \r\n \u3000e  ",
    "paragraphs": "One.\n\nTwo three four.\n\n\nFive six\n \nseven",
    "contractions": "we'll I'd they've it's don't DON'T we'",
    "digits_and_marks": "1234567 3.14 ,,,!!! ?? the 2nd time.",
    "unicode": "né\u0301 你好 👩‍💻👍🏽 שלום",
}
RULE = "a cut between chunks must not change the tokens: encode_iterable(chunks) == encode(''.join(chunks))"


def assert_stream_equal(tok, got, expected, text, vocab, what):
    """The streamed ids are the true ids of the joined text; if not, the message also says whether the
    implementation's own encode() of the joined text agrees with its stream (then encode itself is wrong) or with
    the true ids (then the cuts between chunks are the problem)."""
    __tracebackhide__ = True
    message = describe_ids_difference(got, expected, text, vocab, what)
    if message is None:
        return
    try:
        whole = tok.encode(text)
    except Exception:  # noqa: BLE001 - only a hint for the message; the stream's own verdict stands
        whole = None
    if whole is None:
        note = f"(Your encode() of the joined text failed, so it cannot be compared.) {RULE}."
    elif whole == got:
        note = (
            "Your encode() of the joined text gives these same wrong ids: encode_iterable streams consistently, "
            "but encode itself is wrong here (tests/test_tokenizer.py and tests/test_special_tokens.py show where)."
        )
    elif whole == expected:
        note = f"Your encode() of the joined text is right, so the cuts between chunks change the tokens: {RULE}."
    else:
        note = f"Your encode() of the joined text is wrong too, and differs from the stream. {RULE}."
    raise AssertionError(f"{message}\n{note}")


def stream_tokenizer(get_tokenizer):
    """(tokenizer with both specials, the tinystories vocab, {special: id}). <|endoftext|> has its vocab id; the
    double one is not in the vocab, so the tokenizer appends it with an id of its choosing, read here from the stream
    itself."""
    tok = tinystories_tokenizer(get_tokenizer, special_tokens=(EOT, DOUBLE))
    double = tok.encode_iterable([DOUBLE])
    if not double and len(tok.encode(DOUBLE)) == 1:
        raise AssertionError(
            f"encode_iterable([{DOUBLE!r}]) gave no ids, while encode() of the same text gives one. " + ended_early(1)
        )
    assert len(double) == 1, (
        f"encode_iterable([{DOUBLE!r}]) gave {double}; a special token given to the tokenizer must be exactly one id, "
        "even when it is missing from the vocab (it is appended): tests/test_special_tokens.py checks the details"
    )
    return tok, tinystories().vocab, {EOT: tinystories_id(EOT.encode()), DOUBLE: double[0]}


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
def test_every_split_point(get_tokenizer, text):
    tok, vocab, special_ids = stream_tokenizer(get_tokenizer)
    expected = tinystories_ids(text, special_ids)
    for i in range(len(text) + 1):
        got = tok.encode_iterable([text[:i], text[i:]])
        assert_stream_equal(tok, got, expected, text, vocab, f"encode_iterable of chunks {text[:i]!r} + {text[i:]!r}")


@pytest.mark.points(0.5)
@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_one_character_chunks(get_tokenizer, text):
    tok, vocab, special_ids = stream_tokenizer(get_tokenizer)
    assert_stream_equal(
        tok, tok.encode_iterable(list(text)), tinystories_ids(text, special_ids), text, vocab, "one character per chunk"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("chunking", ["one_character", "random_sizes", "lines"])
def test_cuts_in_a_long_text(get_tokenizer, chunking):
    """Past 64K characters, so an implementation that buffers before cutting still has to cut, many times."""
    (tok, vocab, special_ids), text = stream_tokenizer(get_tokenizer), long_tricky_text()
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
    assert_stream_equal(tok, tok.encode_iterable(chunks), tinystories_ids(text, special_ids), text, vocab, what)


@pytest.mark.points(1)
def test_random_chunkings_o200k(get_tokenizer):
    """o200k_base has its own regex (case-split words, 1-3 digit groups): streaming must respect it too."""
    tok, text = real_tokenizer(get_tokenizer, "o200k_base"), read_sample("english") + read_sample("whitespace")
    expected = get_encoding("o200k_base").encode(text, allowed_special="all")
    rng = random.Random(0)
    for trial in range(20):
        cuts = sorted(rng.sample(range(len(text)), 1 + trial))
        chunks = [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]
        assert_stream_equal(
            tok,
            tok.encode_iterable(chunks),
            expected,
            text,
            real_vocab("o200k_base").vocab,
            f"o200k_base, chunks cut at {cuts}",
        )


@pytest.mark.points(1)
@pytest.mark.parametrize("sample", ["documents", "specials", "whitespace"])
def test_file_handle(get_tokenizer, sample):
    tok, text = tinystories_tokenizer(get_tokenizer), read_sample(sample)
    with open(sample_path(sample), encoding="utf-8", newline="") as f:
        got = tok.encode_iterable(f)
    expected = tinystories_tiktoken().encode(text, allowed_special="all")
    assert_stream_equal(tok, got, expected, text, tinystories().vocab, f"encode_iterable(open({sample}.txt))")


@pytest.mark.points(1)
def test_is_lazy(get_tokenizer):
    """Ids must come out while the input is still being read: here the input never ends."""
    lines = read_sample("english").splitlines(keepends=True)
    endless = repeat_lines(
        lines,
        max_chars=20_000_000,
        message="encode_iterable read 20 MB of input without yielding 1000 ids: it must yield as it reads "
        "(never join the whole input first)",
    )
    first = tinystories_tokenizer(get_tokenizer).encode_iterable(endless, take=1000)
    assert len(first) == 1000, f"encode_iterable of an endless input ended after {len(first)} ids"
    start = "".join(lines) * 2
    while len(tinystories_tiktoken().encode_ordinary(start)) < 1500:
        start += "".join(lines)
    expected = tinystories_tiktoken().encode_ordinary(start)[:1000]  # far from the cut: the endless input's first ids
    assert_tinystories_ids(first, expected, start, "the first 1000 ids of the endless input")
