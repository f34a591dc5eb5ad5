"""The lecture's naive BPE trainer: recount every pair after every merge. Slow, obviously correct.

Staff use it to cross-check the reference on small inputs, and (with another `tie_key`) to show that the tie
fixtures separate the required tie-break from the ones students write by mistake.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import regex

from staff.reference.pretokenize import GPT2_PATTERN, special_splitter, split_on_specials

Pair = tuple[bytes, bytes]


def required_tie_key(pair: Pair) -> Pair:
    return pair


def naive_merges(text: str, num_merges: int, special_tokens: list[str], tie_key: Callable = required_tie_key):
    """Merges chosen by max (count, tie_key(pair)); ties go to the greatest key."""
    words: Counter[tuple[bytes, ...]] = Counter()
    for segment, is_special in split_on_specials(text, special_splitter(special_tokens)):
        if not is_special:
            for piece in regex.findall(GPT2_PATTERN, segment):
                words[tuple(bytes([b]) for b in piece.encode("utf-8"))] += 1
    merges: list[Pair] = []
    while len(merges) < num_merges:
        pairs: Counter[Pair] = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:], strict=False):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], tie_key(p)))
        merges.append(best)
        merged: Counter[tuple[bytes, ...]] = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return merges
