"""The assignment's rules that the harness itself needs, each written once: the end-of-text token, the GPT-2
pre-tokenization pattern, special-token splitting (longest match first), and the vocab layout the tokenizer tests use.

The reference solution (staff/reference/pretokenize.py) keeps its own copy so that it stays readable on its own;
a staff test pins the two equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import regex

EOT = "<|endoftext|>"  # the document separator the assignment's corpora use, and its usual special token
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def special_splitter(special_tokens: Iterable[str]) -> regex.Pattern | None:
    """A regex matching any special token, longest first, so overlapping specials resolve to the longest."""
    specials = sorted(set(special_tokens), key=len, reverse=True)
    if not specials:
        return None
    return regex.compile("|".join(regex.escape(s) for s in specials))


def split_on_specials(text: str, special_tokens: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Yield (segment, is_special) in order; plain segments are never empty."""
    splitter = special_splitter(special_tokens)
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


def pretokens(text: str, special_tokens: Iterable[str] = (), pattern: str = GPT2_PATTERN) -> Iterator[str]:
    """The pre-tokens of `text` that training counts: specials split the text and are not counted themselves."""
    compiled = regex.compile(pattern)
    for segment, is_special in split_on_specials(text, special_tokens):
        if not is_special:
            yield from compiled.findall(segment)


def vocab_layout(special_tokens: Iterable[str], merges: Iterable[tuple[bytes, bytes]]) -> dict[int, bytes]:
    """An id for every token: the special tokens, then the 256 single bytes, then one per merge (its a + b).
    ID assignment is free in the assignment; the tokenizer tests use this one."""
    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}
    for b in range(256):
        vocab[len(vocab)] = bytes([b])
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab
