"""encode_iterable: exactly encode("".join(chunks)) for any chunking, lazily, from any iterable of str.

Every stream is compared with the true ids (tiktoken over the same vocab), never with the implementation's own
encode(): an encoder that is wrong (or empty) in the same way for streams and whole texts earns nothing here.
"""

from __future__ import annotations

import itertools
import random
from functools import cache

import pytest
import regex

from bpe_harness.client import repeat_lines
from bpe_harness.data.encodings import get_encoding
from bpe_harness.plugin.divergence import describe_ids_difference, ended_early
from bpe_harness.rules import GPT2_PATTERN
from tests.common import (
    EOT,
    assert_tinystories_ids,
    read_sample,
    real_tokenizer,
    real_vocab,
    sample_path,
    stream_ids,
    stream_vocab,
    tinystories,
    tinystories_tiktoken,
    tinystories_tokenizer,
)

DOUBLE = EOT + EOT
TRICKY = {
    "specials": f"Hi{EOT} there{DOUBLE}x{EOT}",
    "whitespace": "a  b\t\tc \n\n\n  d   \r\nx \u3000\u3000e  ",
    "paragraphs": "One.\n\nTwo three four.\n\n\nFive six\n \nseven",
    "contractions": "we'll I'd they've it's don't DON'T we'",
    "digits_and_marks": "1234567 3.14 ,,,!!! ?? the 2nd 98765 time.",
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
    except Exception:  # only a hint for the message; the stream's own verdict stands
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
    """(tokenizer with both specials, the stream vocab, {special: id}). The stream vocab (tests/common.py) has merges
    at every tricky boundary, so a wrong cut changes the ids. <|endoftext|> has its vocab id; the double one is not in
    the vocab, so the tokenizer appends it with an id of its choosing, read here from the stream itself."""
    vocab, merges = stream_vocab()
    tok = get_tokenizer(vocab, merges, [EOT, DOUBLE])
    double = tok.encode_iterable([DOUBLE])
    if not double and len(tok.encode(DOUBLE)) == 1:
        raise AssertionError(
            f"encode_iterable([{DOUBLE!r}]) gave no ids, while encode() of the same text gives one. " + ended_early(1)
        )
    assert len(double) == 1, (
        f"encode_iterable([{DOUBLE!r}]) gave {double}; a special token given to the tokenizer must be exactly one id, "
        "even when it is missing from the vocab (it is appended): tests/test_special_tokens.py checks the details"
    )
    return tok, vocab, {EOT: vocab_id(vocab, EOT.encode()), DOUBLE: double[0]}


def vocab_id(vocab, token: bytes) -> int:
    return next(i for i, t in vocab.items() if t == token)


# Places a wrong stream implementation cuts ("left¦right"): encoding the two sides apart gives other ids than
# encoding the whole (staff/tests/test_stream_vocab.py proves it for each, under the stream vocab).
MARK = "¦"
CUTS = [
    "The sun set.\n\n\n¦The end came",
    "a big  ¦dog ran far",
    "line one\r\n¦line two here",
    "col\t\t¦val and more",
    "end\u3000\u3000¦e f g",
    "the end   \n¦next day came",
    "we'¦ll be there",
    "don'¦t go",
    "1234¦567 apples",
    "ove¦r the hill",
    f"Hi{EOT[:5]}¦{EOT[5:]} there",
    f"there{EOT}¦{EOT}x",
    f"{EOT}  ¦x y",
]
GATHER = 1024  # the long text's block: implementations gather 1, 1K, 4K, 16K or 64K characters before cutting


def pretoken_starts(text: str) -> list[int]:
    """Where each pre-token of `text` starts (GPT-2 regex, run over the text after its last special token)."""
    plain = max((m.end() for m in regex.finditer(regex.escape(EOT), text)), default=0)
    return [plain + m.start() for m in regex.finditer(GPT2_PATTERN, text[plain:])]


def buffer_end(cut: str, kept: int) -> int | None:
    """Where a buffer must end so that an implementation keeping its last `kept` pre-tokens back cuts at the "¦" of
    `cut` (None if no buffer end does)."""
    text, at = cut.replace(MARK, ""), cut.index(MARK)
    if kept == 0:
        return at
    for end in range(at + 1, len(text) + 1):
        starts = pretoken_starts(text[:end])
        if len(starts) >= kept and starts[-kept] == at:
            return end
    return None


def block_boundaries() -> list[tuple[str, int, int]]:
    """(cut, pre-tokens kept back, buffer end) for every cut and every kept count 1, 2, 0 that can reach it."""
    return [(c, k, e) for c in CUTS for k in (1, 2, 0) if (e := buffer_end(c, k)) is not None]


def boundary_at(block: int, first: int = 0) -> tuple[str, int, int]:
    """The cut placed at the end of block `block` (1-based). Every gather size sees every cut in turn: the ends of
    blocks 16, 32, 48 (every 16K) hold the cuts from `first` on, and so do those of blocks 4, 8, 12 and of 1, 2, 3."""
    step = next(s for s in (64, 16, 4, 1) if block % s == 0)
    pairs = block_boundaries()
    return pairs[(first + block // step - 1) % len(pairs)]


@cache
def long_tricky_text(first: int = 0, blocks: int = 68) -> str:
    """Past 64K characters, in blocks of GATHER: each block ends exactly at a place where an implementation that
    keeps back 0, 1 or 2 pre-tokens cuts wrongly (boundary_at), and is filled with the tricky pieces. An
    implementation that gathers 1K, 4K, 16K or 64K characters from chunks of GATHER cuts at those block ends, and
    one fed a character at a time cuts first at the end of block 1, 4, 16 or 64: `first` chooses the cut there."""
    filler = "".join(itertools.repeat("".join(TRICKY.values()) + "\r\n  \r\n\r\n we'l", 1 + GATHER // 100))
    text, tail = [], ""
    for block in range(1, blocks + 1):
        cut, _kept, end = boundary_at(block, first)
        whole = cut.replace(MARK, "")
        head = tail + "\n"
        room = block * GATHER - sum(map(len, text)) - len(head) - end - 2
        text.append(head + filler[:room] + ".\n" + whole[:end])
        tail = whole[end:]
    text.append(tail + "\n")
    return "".join(text)


# A text longer than a typical gather threshold (1K), put before each short text: an implementation that gathers up
# to 1K characters before it cuts gets the whole first chunk and cuts near its end, inside the short text. (Larger
# thresholds meet their cuts in the long text, whose blocks end at wrong cuts.)
PREFIX = "".join(itertools.repeat("Once upon a time, a cat sat on the mat.\n", 28))


@pytest.mark.points(1)
@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_every_split_point(get_tokenizer, text):
    """The text cut in two at every point, behind PREFIX: an implementation that cuts at every chunk's end and one
    that gathers up to 1K characters first both cut exactly there."""
    tok, vocab, special_ids = stream_tokenizer(get_tokenizer)
    expected = stream_ids(PREFIX + text, special_ids)
    for i in range(len(text) + 1):
        got = tok.encode_iterable([PREFIX + text[:i], text[i:]])
        what = (
            f"encode_iterable of chunks ({len(PREFIX):,} characters of story + {text[:i]!r}) + {text[i:]!r}: an "
            "implementation that gathers up to 1K characters before it cuts must cut right here too"
        )
        assert_stream_equal(tok, got, expected, PREFIX + text, vocab, what)


@pytest.mark.points(0.5)
@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_one_character_chunks(get_tokenizer, text):
    tok, vocab, special_ids = stream_tokenizer(get_tokenizer)
    assert_stream_equal(
        tok, tok.encode_iterable(list(text)), stream_ids(text, special_ids), text, vocab, "one character per chunk"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("chunking", ["one_character", "blocks", "lines"])
def test_cuts_in_a_long_text(get_tokenizer, chunking):
    """Past 64K characters, so an implementation that buffers before cutting still has to cut, many times; in blocks
    of 1024 characters, whose every end is a place where a cut keeping 0, 1 or 2 pre-tokens back is wrong. In blocks,
    a gatherer of 16K cuts at 16K (a wrong cut keeping 1 back) and 32K (keeping 2 back); one character at a time it
    cuts first at exactly 16K, so that case streams two texts: one whose 16K holds each of those."""
    tok, vocab, special_ids = stream_tokenizer(get_tokenizer)
    if chunking == "one_character":
        texts = [long_tricky_text(first=1), long_tricky_text(first=0, blocks=17)]
    else:
        texts = [long_tricky_text()]
    for text in texts:
        if chunking == "one_character":
            chunks = list(text)
        elif chunking == "lines":
            chunks = text.splitlines(keepends=True)
        else:
            chunks = [text[at : at + GATHER] for at in range(0, len(text), GATHER)]
        what = f"encode_iterable of {len(text):,} characters in {len(chunks):,} chunks ({chunking}); {RULE}"
        assert_stream_equal(tok, tok.encode_iterable(chunks), stream_ids(text, special_ids), text, vocab, what)


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
