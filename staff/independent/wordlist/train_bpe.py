"""BPE training: each distinct pre-token is a list of byte strings, and an index from every adjacent pair to the
words holding it means a merge only rewrites the words it touches."""

from __future__ import annotations

import os
from collections import Counter, defaultdict

import regex

PAT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def _plain_parts(text: str, special_tokens: list[str]) -> list[str]:
    if not special_tokens:
        return [text]
    alternation = "|".join(regex.escape(tok) for tok in sorted(special_tokens, key=len, reverse=True))
    return regex.split(alternation, text)


def _word_frequencies(text: str, special_tokens: list[str]) -> Counter[bytes]:
    freq: Counter[bytes] = Counter()
    for part in _plain_parts(text, special_tokens):
        for match in regex.finditer(PAT, part):
            freq[match.group().encode("utf-8")] += 1
    return freq


def _rewrite(symbols: list[bytes], left: bytes, right: bytes) -> list[bytes]:
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
            merged.append(left + right)
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return merged


def train_bpe(input_path: str | os.PathLike, vocab_size: int, special_tokens: list[str], **kwargs):
    with open(input_path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    vocab: dict[int, bytes] = {}
    for tok in dict.fromkeys(special_tokens):
        vocab[len(vocab)] = tok.encode("utf-8")
    for b in range(256):
        vocab[len(vocab)] = bytes([b])

    frequencies = _word_frequencies(text, special_tokens)
    words = [[bytes([b]) for b in word] for word in frequencies]
    weights = list(frequencies.values())
    pair_count: Counter[tuple[bytes, bytes]] = Counter()
    holders: defaultdict[tuple[bytes, bytes], set[int]] = defaultdict(set)
    for idx, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:], strict=False):
            pair_count[pair] += weights[idx]
            holders[pair].add(idx)

    merges: list[tuple[bytes, bytes]] = []
    while len(vocab) < vocab_size and pair_count:
        best, count = max(pair_count.items(), key=lambda item: (item[1], item[0]))
        if count <= 0:
            break
        merges.append(best)
        vocab[len(vocab)] = best[0] + best[1]
        touched = set()
        for idx in holders.pop(best, set()):
            old = words[idx]
            for pair in zip(old, old[1:], strict=False):
                pair_count[pair] -= weights[idx]
                touched.add(pair)
            new = words[idx] = _rewrite(old, *best)
            for pair in zip(new, new[1:], strict=False):
                pair_count[pair] += weights[idx]
                holders[pair].add(idx)
        for pair in touched:
            if pair_count[pair] <= 0:
                del pair_count[pair]
    return vocab, merges
