"""encode_iterable: exactly encode("".join(chunks)) for any chunking, lazily, from any iterable of str."""

from __future__ import annotations

import itertools
import random

import pytest
from conftest import EOT, read_sample, sample_path

from bpe_harness.compare import assert_ids_equal
from bpe_harness.encodings import vocab_and_merges

DOUBLE = EOT + EOT
TRICKY = {
    "specials": f"Hi{EOT} there{DOUBLE}x{EOT}",
    "whitespace": "a  b\t\t c \n\n\n  d   \r\n \u3000e  ",
    "paragraphs": "One.\n\nTwo three four.\n\n\nFive six\n \nseven",
    "contractions": "we'll I'd they've it's don't DON'T we'",
    "digits_and_marks": "1234567 3.14 ,,,!!! ??",
    "unicode": "né\u0301 你好 👩‍💻👍🏽 שלום",
}


@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_every_split_point(tokenizers, text):
    tok, (vocab, _) = tokenizers.own(special_tokens=(EOT, DOUBLE)), tokenizers.own_vocab()
    expected = tok.encode(text)
    for i in range(len(text) + 1):
        got = tok.encode_iterable(iter([text[:i], text[i:]]))
        assert_ids_equal(got, expected, text, vocab, f"encode_iterable of chunks {text[:i]!r} + {text[i:]!r}")


@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_one_character_chunks(tokenizers, text):
    tok, (vocab, _) = tokenizers.own(special_tokens=(EOT, DOUBLE)), tokenizers.own_vocab()
    assert_ids_equal(tok.encode_iterable(list(text)), tok.encode(text), text, vocab, "one character per chunk")


def test_random_chunkings_o200k(tokenizers):
    """o200k_base has its own regex (case-split words, 1-3 digit groups): streaming must respect it too."""
    tok, text = tokenizers.real("o200k_base"), read_sample("english") + read_sample("whitespace")
    o200k_vocab, _, _ = vocab_and_merges("o200k_base")
    expected = tok.encode(text)
    rng = random.Random(0)
    for trial in range(20):
        cuts = sorted(rng.sample(range(len(text)), 1 + trial))
        chunks = [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]
        assert_ids_equal(tok.encode_iterable(chunks), expected, text, o200k_vocab, f"chunks cut at {cuts}")


@pytest.mark.parametrize("sample", ["documents", "specials", "whitespace"])
def test_file_handle(tokenizers, sample):
    tok, (vocab, _) = tokenizers.own(), tokenizers.own_vocab()
    with open(sample_path(sample), encoding="utf-8", newline="") as f:
        got = tok.encode_iterable(f)
    text = read_sample(sample)
    assert_ids_equal(got, tok.encode(text), text, vocab, f"encode_iterable(open({sample}.txt))")


def test_is_lazy(tokenizers):
    """Ids must come out while the input is still being read: here the input never ends."""
    tok, consumed = tokenizers.own(), 0

    def endless():
        nonlocal consumed
        for line in itertools.cycle(read_sample("english").splitlines(keepends=True)):
            consumed += len(line)
            if consumed > 20_000_000:
                raise AssertionError(
                    "encode_iterable read 20 MB of input without yielding 1000 ids: it must yield as it reads "
                    "(never join the whole input first)"
                )
            yield line

    first = list(itertools.islice(tok.iter_ids(endless()), 1000))
    assert len(first) == 1000
