"""Each rule is written once in the harness (bpe_harness/rules.py); the reference keeps its own copy so it reads on
its own after the deadline. These tests pin the two equal, so they cannot drift apart."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import regex

from bpe_harness import rules
from staff.reference import pretokenize
from staff.reference.train import count_pretokens

TEXTS = [
    "",
    "plain text",
    "<|endoftext|>",
    "a<|endoftext|><|endoftext|>b",
    "x<|a|><|a|><|a|>y",
    "<|endoftext|> they'll  \r\n\r\n 123 ,,, é 你好<|endoftext|>",
]
SPECIALS = [[], ["<|endoftext|>"], ["<|a|>", "<|a|><|a|>"], ["<|endoftext|>", "<|a|>"]]


def test_the_pattern_is_the_same():
    assert pretokenize.GPT2_PATTERN == rules.GPT2_PATTERN


@pytest.mark.parametrize("specials", SPECIALS, ids=str)
def test_special_splitting_is_the_same(specials):
    splitter = pretokenize.special_splitter(specials)
    for text in TEXTS:
        assert list(pretokenize.split_on_specials(text, splitter)) == list(rules.split_on_specials(text, specials))


def test_special_splitting_is_the_same_on_random_text():
    """Specials that overlap, nest and share prefixes, in text made mostly of their pieces: the copies agree."""
    rnd = random.Random(20)
    pool = ["<|endoftext|>", "<|a|>", "<|a|><|a|>", "<|", "|>", "<|end", "ab", "b", "é", "\n\n", "[SEP]", "..."]
    for _ in range(500):
        specials = rnd.sample(pool, rnd.randrange(0, 5))
        text = "".join(rnd.choice(pool + ["x", " ", "<", "|", ">", "\n"]) for _ in range(rnd.randrange(0, 30)))
        splitter = pretokenize.special_splitter(specials)
        want = list(rules.split_on_specials(text, specials))
        assert list(pretokenize.split_on_specials(text, splitter)) == want, (text, specials)
        assert "".join(segment for segment, _ in want) == text


@pytest.mark.parametrize("specials", SPECIALS, ids=str)
def test_pretoken_counts_are_the_same(specials):
    from collections import Counter

    for text in TEXTS:
        assert count_pretokens(text, specials) == Counter(rules.pretokens(text, specials))


# --- the reference's faster findall (`re` over BMP text) finds exactly what `regex` finds ---------------------------

FIXTURES = sorted((Path(__file__).parents[2] / "tests" / "fixtures").glob("*/*.txt"))
TRICKY = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000\ufeff'sdmtlvre aZ09_!é²Ⅷ٣"


def _random_text(rnd, length: int, astral: bool) -> str:
    top = 0x10FFFF if astral else 0xFFFF
    return "".join(rnd.choice(TRICKY) if rnd.random() < 0.6 else chr(rnd.randrange(top + 1)) for _ in range(length))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fast_findall_equals_regex_on_fixtures(path):
    compiled = regex.compile(pretokenize.GPT2_PATTERN)
    fast = pretokenize.fast_findall(compiled)
    assert fast != compiled.findall, "the GPT-2 pattern should take the fast path"
    text = path.read_text(encoding="utf-8")
    assert fast(text) == compiled.findall(text)


@pytest.mark.parametrize("astral", [False, True], ids=["bmp", "astral"])
def test_fast_findall_equals_regex_on_random_text(astral):
    rnd = random.Random(1234)
    compiled = regex.compile(pretokenize.GPT2_PATTERN)
    fast = pretokenize.fast_findall(compiled)
    for _ in range(300):
        text = _random_text(rnd, rnd.randrange(1, 400), astral)
        assert fast(text) == compiled.findall(text), repr(text)


def test_fast_findall_covers_every_bmp_character():
    compiled = regex.compile(pretokenize.GPT2_PATTERN)
    fast = pretokenize.fast_findall(compiled)
    for start in range(0, 0x10000, 0x1000):  # each character alone, then between letters, digits and spaces
        chars = [chr(c) for c in range(start, start + 0x1000)]
        for text in ("".join(chars), "a".join(chars), " 1".join(chars), "  ".join(chars)):
            assert fast(text) == compiled.findall(text)


@pytest.mark.parametrize(
    "pattern, translated",
    [
        # GPT-2 as OpenAI wrote it
        (r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""", True),
        (
            r""" ?[a-zA-Z]+| ?[0-9]+| ?[^\sa-zA-Z0-9]+|\s+""",
            False,
        ),  # an escape inside a [set]: `re` reads \s differently
        (r"""(?i:'s|'t)|\p{Lu}+|\s+""", False),  # (?i: and other classes
        (r"""\d+|\w+|\s+""", False),
    ],
    ids=["gpt2-spelled-out", "escape-in-set", "flags-group", "other-escapes"],
)
def test_fast_findall_only_translates_what_it_knows(pattern, translated):
    compiled = regex.compile(pattern)
    fast = pretokenize.fast_findall(compiled)
    assert (fast != compiled.findall) == translated
    rnd = random.Random(7)
    for _ in range(100):
        text = _random_text(rnd, 200, astral=False)
        assert fast(text) == compiled.findall(text)
