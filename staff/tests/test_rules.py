"""Each rule is written once in the harness (bpe_harness/rules.py); the reference keeps its own copy so it reads on
its own after the deadline. These tests pin the two equal, so they cannot drift apart."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("specials", SPECIALS, ids=str)
def test_pretoken_counts_are_the_same(specials):
    from collections import Counter

    for text in TEXTS:
        assert count_pretokens(text, specials) == Counter(rules.pretokens(text, specials))
