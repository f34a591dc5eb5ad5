"""BPE training over distinct pre-tokens as tuples of token ids, after a merge the statistics of
the words that changed are taken away and those of their merged form added back."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import regex

GPT2_SPLIT = regex.compile(r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def pretoken_table(corpus: str, special_tokens: list[str]) -> dict[tuple[int, ...], int]:
    if special_tokens:
        documents = re.split("|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True)), corpus)
    else:
        documents = [corpus]
    table: Counter[tuple[int, ...]] = Counter()
    for doc in documents:
        table.update(tuple(piece.encode("utf-8")) for piece in GPT2_SPLIT.findall(doc))
    return dict(table)


def pair_statistics(table: dict[tuple[int, ...], int]) -> Counter[tuple[int, int]]:
    stats: Counter[tuple[int, int]] = Counter()
    for word, n in table.items():
        for k in range(len(word) - 1):
            stats[word[k], word[k + 1]] += n
    return stats


def apply_merge(word: tuple[int, ...], a: int, b: int, new: int) -> tuple[int, ...]:
    result, k = [], 0
    while k < len(word):
        if word[k] == a and k + 1 < len(word) and word[k + 1] == b:
            result.append(new)
            k += 2
        else:
            result.append(word[k])
            k += 1
    return tuple(result)


def train_bpe(input_path: str | os.PathLike, vocab_size: int, special_tokens: list[str], **kwargs):
    corpus = Path(input_path).read_bytes().decode("utf-8")
    table = pretoken_table(corpus, special_tokens)
    pieces = [bytes([i]) for i in range(256)]  # token id (before the specials are placed) -> bytes
    merges = []
    budget = vocab_size - 256 - len(set(special_tokens))
    stats = pair_statistics(table)
    while len(merges) < budget and stats:
        a, b = max(stats, key=lambda p: (stats[p], pieces[p[0]], pieces[p[1]]))
        pieces.append(pieces[a] + pieces[b])
        merges.append((pieces[a], pieces[b]))
        new = len(pieces) - 1
        rewritten = {}
        for word in [w for w in table if a in w and b in w]:
            n = table.pop(word)
            merged = apply_merge(word, a, b, new)
            if merged != word:
                stats.subtract(pair_statistics({word: n}))
                stats.update(pair_statistics({merged: n}))
            rewritten[merged] = rewritten.get(merged, 0) + n
        for word, n in rewritten.items():
            table[word] = table.get(word, 0) + n
        stats = +stats
    specials = list(dict.fromkeys(special_tokens))
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + i: piece for i, piece in enumerate(pieces)})
    return vocab, merges
