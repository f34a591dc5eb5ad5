"""Encoding by merge rank: inside each pre-token, repeatedly join the adjacent pair whose merge came first."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import regex

from .train_bpe import PAT


class Tokenizer:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        self.vocab = dict(vocab)
        self.specials = sorted(set(special_tokens or []), key=len, reverse=True)
        self.lookup: dict[bytes, int] = {}
        for idx in sorted(self.vocab):
            self.lookup.setdefault(self.vocab[idx], idx)
        for tok in self.specials:
            if tok.encode("utf-8") not in self.lookup:
                self.lookup[tok.encode("utf-8")] = len(self.vocab)
                self.vocab[len(self.vocab)] = tok.encode("utf-8")
        self.rank: dict[tuple[bytes, bytes], int] = {}
        for position, pair in enumerate(merges):
            self.rank.setdefault(tuple(pair), position)
        self.pat = regex.compile(pattern or PAT)
        self.splitter = regex.compile("(" + "|".join(map(regex.escape, self.specials)) + ")") if self.specials else None
        self.memo: dict[bytes, list[int]] = {}

    @classmethod
    def from_files(cls, vocab_filepath, merges_filepath, special_tokens=None):
        """Files of lines: `id hex` for the vocab, `hex hex` for the merges."""
        vocab, merges = {}, []
        with open(vocab_filepath, encoding="ascii") as fh:
            for line in fh:
                idx, token = line.split(" ") if " " in line.strip() else (line.strip(), "")
                vocab[int(idx)] = bytes.fromhex(token.strip())
        with open(merges_filepath, encoding="ascii") as fh:
            for line in fh:
                left, right = line.split()
                merges.append((bytes.fromhex(left), bytes.fromhex(right)))
        return cls(vocab, merges, special_tokens)

    def _word_ids(self, word: bytes) -> list[int]:
        if word in self.memo:
            return self.memo[word]
        parts = [bytes([b]) for b in word]
        while len(parts) > 1:
            ranked = [(self.rank[p], i) for i, p in enumerate(zip(parts, parts[1:], strict=False)) if p in self.rank]
            if not ranked:
                break
            _, i = min(ranked)
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        ids = [self.lookup[p] for p in parts]
        self.memo[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        pieces = self.splitter.split(text) if self.splitter else [text]
        for n, piece in enumerate(pieces):
            if n % 2 == 1:
                out.append(self.lookup[piece.encode("utf-8")])
            elif piece:
                for match in self.pat.finditer(piece):
                    out.extend(self._word_ids(match.group().encode("utf-8")))
        return out

    def _safe_cut(self, buffer: str) -> int:
        """A cut after which the encoding of the text before it cannot change: a space between a non-space and a
        letter, far enough from the end that no special token can still be forming, and not inside a special token."""
        reserve = max((len(s) for s in self.specials), default=0)
        spans = [m.span() for m in self.splitter.finditer(buffer)] if self.splitter else []
        for p in range(len(buffer) - max(reserve, 2), 0, -1):
            between = buffer[p] == " " and not buffer[p - 1].isspace() and buffer[p + 1].isalpha()
            if between and not any(a < p < b for a, b in spans):
                return p
        return 0

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        buffer = ""
        for chunk in iterable:
            buffer += chunk
            cut = self._safe_cut(buffer) if len(buffer) > 256 else 0
            if cut:
                yield from self.encode(buffer[:cut])
                buffer = buffer[cut:]
        if buffer:
            yield from self.encode(buffer)

    def decode(self, ids: list[int]) -> str:
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")
