"""A BPE trainer as a class: pre-token counts, pair counts kept up to date merge by merge, and a heap of candidate
pairs whose entries are checked against the live count when popped (stale ones are pushed again)."""

from __future__ import annotations

import heapq
import os
from collections import defaultdict
from dataclasses import dataclass, field

import regex

SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@dataclass(order=True)
class Candidate:
    """A heap entry: the most frequent pair first, then the greater (left bytes, right bytes)."""

    negative_count: int
    inverted: tuple[tuple[int, ...], tuple[int, ...]]
    pair: tuple[int, int] = field(compare=False)


def _invert(token: bytes) -> tuple[int, ...]:
    # greater bytes give a smaller key; the trailing 256 puts a prefix after its extensions
    return tuple(255 - b for b in token) + (256,)


class BPETrainer:
    def __init__(self, special_tokens: list[str]):
        self.special_tokens = list(dict.fromkeys(special_tokens))
        self.token_bytes = [bytes([b]) for b in range(256)]
        self.sequences: list[list[int]] = []
        self.multiplicity: list[int] = []
        self.pair_freq: dict[tuple[int, int], int] = defaultdict(int)
        self.pair_owners: dict[tuple[int, int], set[int]] = defaultdict(set)
        self.heap: list[Candidate] = []

    def read(self, path) -> None:
        with open(path, encoding="utf-8", newline="") as stream:
            corpus = stream.read()
        words: dict[bytes, int] = defaultdict(int)
        cutter = "|".join(regex.escape(t) for t in sorted(self.special_tokens, key=len, reverse=True))
        for segment in regex.split(cutter, corpus) if cutter else [corpus]:
            for token in regex.findall(SPLIT_PATTERN, segment):
                words[token.encode("utf-8")] += 1
        for raw, n in words.items():
            self.sequences.append(list(raw))
            self.multiplicity.append(n)

    def _push(self, pair: tuple[int, int]) -> None:
        left, right = self.token_bytes[pair[0]], self.token_bytes[pair[1]]
        heapq.heappush(self.heap, Candidate(-self.pair_freq[pair], (_invert(left), _invert(right)), pair))

    def count_pairs(self) -> None:
        for owner, seq in enumerate(self.sequences):
            for pair in zip(seq, seq[1:], strict=False):
                self.pair_freq[pair] += self.multiplicity[owner]
                self.pair_owners[pair].add(owner)
        for pair in self.pair_freq:
            self._push(pair)

    def best_pair(self) -> tuple[int, int] | None:
        while self.heap:
            top = heapq.heappop(self.heap)
            live = self.pair_freq.get(top.pair, 0)
            if live == -top.negative_count and live > 0:
                return top.pair
            if live > 0:
                self._push(top.pair)
        return None

    def merge(self, pair: tuple[int, int]) -> None:
        a, b = pair
        fresh = len(self.token_bytes)
        self.token_bytes.append(self.token_bytes[a] + self.token_bytes[b])
        changed = set()
        for owner in self.pair_owners.pop(pair):
            seq, n = self.sequences[owner], self.multiplicity[owner]
            if not any(x == a and y == b for x, y in zip(seq, seq[1:], strict=False)):
                continue
            for old in zip(seq, seq[1:], strict=False):
                self.pair_freq[old] -= n
                changed.add(old)
            out, j = [], 0
            while j < len(seq):
                if j + 1 < len(seq) and seq[j] == a and seq[j + 1] == b:
                    out.append(fresh)
                    j += 2
                else:
                    out.append(seq[j])
                    j += 1
            self.sequences[owner] = out
            for new in zip(out, out[1:], strict=False):
                self.pair_freq[new] += n
                self.pair_owners[new].add(owner)
                changed.add(new)
        self.pair_freq.pop(pair, None)
        for p in changed:
            if self.pair_freq.get(p, 0) > 0:
                self._push(p)

    def fit(self, path, vocab_size: int):
        self.read(path)
        self.count_pairs()
        merges = []
        while len(self.special_tokens) + len(self.token_bytes) < vocab_size:
            pair = self.best_pair()
            if pair is None:
                break
            merges.append((self.token_bytes[pair[0]], self.token_bytes[pair[1]]))
            self.merge(pair)
        vocab = {k: t.encode("utf-8") for k, t in enumerate(self.special_tokens)}
        for k, t in enumerate(self.token_bytes):
            vocab[len(self.special_tokens) + k] = t
        return vocab, merges


def train_bpe(input_path: str | os.PathLike, vocab_size: int, special_tokens: list[str], **kwargs):
    return BPETrainer(special_tokens).fit(input_path, vocab_size)
