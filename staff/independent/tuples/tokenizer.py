"""GPT-2 style encoding: for each pre-token, take the set of adjacent pairs, join the one with the lowest merge rank
everywhere, repeat until no pair has a rank. Pre-token results are remembered."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

import regex

from .train_bpe import GPT2_SPLIT


def adjacent_pairs(parts: tuple[bytes, ...]) -> set[tuple[bytes, bytes]]:
    return {(parts[k], parts[k + 1]) for k in range(len(parts) - 1)}


class Tokenizer:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        self.id_to_bytes = dict(vocab)
        self.bytes_to_id = {}
        for key in sorted(self.id_to_bytes, reverse=True):
            self.bytes_to_id[self.id_to_bytes[key]] = key
        self.special_tokens = list(dict.fromkeys(special_tokens or []))
        for s in self.special_tokens:
            if s.encode() not in self.bytes_to_id:
                new_id = max(self.id_to_bytes, default=-1) + 1
                self.id_to_bytes[new_id] = s.encode()
                self.bytes_to_id[s.encode()] = new_id
        self.ranks = {}
        for r, (x, y) in enumerate(merges):
            if (x, y) not in self.ranks:
                self.ranks[x, y] = r
        self.splitter = GPT2_SPLIT if pattern is None else regex.compile(pattern)
        ordered = sorted(self.special_tokens, key=len, reverse=True)
        self.special_re = re.compile("(" + "|".join(map(re.escape, ordered)) + ")") if ordered else None
        self.known: dict[str, list[int]] = {}

    @classmethod
    def from_files(cls, vocab_filepath, merges_filepath, special_tokens=None):
        """JSON files: {"id": [byte, ...]} and [[[byte, ...], [byte, ...]], ...]."""
        with open(vocab_filepath) as f:
            vocab = {int(k): bytes(v) for k, v in json.load(f).items()}
        with open(merges_filepath) as f:
            merges = [(bytes(x), bytes(y)) for x, y in json.load(f)]
        return cls(vocab, merges, special_tokens)

    def bpe(self, token: str) -> list[int]:
        if token in self.known:
            return self.known[token]
        parts = tuple(bytes([c]) for c in token.encode("utf-8"))
        pairs = adjacent_pairs(parts)
        while pairs:
            first = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if first not in self.ranks:
                break
            joined, k = [], 0
            while k < len(parts):
                if k < len(parts) - 1 and (parts[k], parts[k + 1]) == first:
                    joined.append(parts[k] + parts[k + 1])
                    k += 2
                else:
                    joined.append(parts[k])
                    k += 1
            parts = tuple(joined)
            pairs = adjacent_pairs(parts)
        ids = [self.bytes_to_id[p] for p in parts]
        self.known[token] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        chunks = self.special_re.split(text) if self.special_re else [text]
        for chunk in chunks:
            if chunk in self.special_tokens:
                ids.append(self.bytes_to_id[chunk.encode()])
                continue
            for token in self.splitter.findall(chunk):
                ids.extend(self.bpe(token))
        return ids

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        """Encode all but the last few pre-tokens of what has been read (they may still grow), then carry them over;
        a pending text that might be the start of a special token is never cut."""
        pending = ""
        longest = max(map(len, self.special_tokens), default=0)
        for text in iterable:
            pending += text
            if len(pending) < 4 * longest + 64:
                continue
            starts = [m.start() for m in self.splitter.finditer(pending[: len(pending) - longest])]
            if self.special_re:
                starts += [m.end() for m in self.special_re.finditer(pending[: len(pending) - longest])]
            keep = sorted(starts)[-3] if len(starts) > 3 else 0
            while keep and pending[keep - 1].isspace():
                keep = max((s for s in starts if s < keep), default=0)
            if self.special_re and any(m.start() < keep < m.end() for m in self.special_re.finditer(pending)):
                keep = 0
            if keep:
                yield from self.encode(pending[:keep])
                pending = pending[keep:]
        if pending:
            yield from self.encode(pending)

    def decode(self, ids: list[int]) -> str:
        return b"".join(map(self.id_to_bytes.__getitem__, ids)).decode("utf-8", errors="replace")
