"""Pre-tokenization shared by the reference trainer and tokenizer: special-token splitting and the GPT-2 regex."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import regex

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def special_splitter(special_tokens: Iterable[str]) -> regex.Pattern | None:
    """A regex matching any special token, longest first, so overlapping specials resolve to the longest."""
    specials = sorted(set(special_tokens), key=len, reverse=True)
    if not specials:
        return None
    return regex.compile("|".join(regex.escape(s) for s in specials))


def split_on_specials(text: str, splitter: regex.Pattern | None) -> Iterator[tuple[str, bool]]:
    """Yield (segment, is_special) in order; plain segments are never empty."""
    if splitter is None:
        if text:
            yield text, False
        return
    pos = 0
    for m in splitter.finditer(text):
        if m.start() > pos:
            yield text[pos : m.start()], False
        yield m.group(), True
        pos = m.end()
    if pos < len(text):
        yield text[pos:], False
