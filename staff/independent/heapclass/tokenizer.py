"""Encoding with merges as (left id, right id) -> (rank, new id), applied lowest rank first inside each pre-token;
streaming keeps back only text whose encoding could still change."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import regex

from .train_bpe import SPLIT_PATTERN

NEVER = (1 << 62, -1)


class Tokenizer:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        self.table = dict(vocab)
        self.index = {}
        for tid, tok in sorted(self.table.items()):
            if tok not in self.index:
                self.index[tok] = tid
        self.specials = list(dict.fromkeys(special_tokens or []))
        for sp in self.specials:
            raw = sp.encode("utf-8")
            if raw not in self.index:
                self.index[raw] = max(self.table) + 1 if self.table else 0
                self.table[self.index[raw]] = raw
        self.join = {}
        for rank, (left, right) in enumerate(merges):
            key = (self.index.get(left), self.index.get(right))
            target = self.index.get(left + right)
            if None not in key and target is not None and key not in self.join:
                self.join[key] = (rank, target)
        self.word_re = regex.compile(pattern or SPLIT_PATTERN)
        by_length = sorted(self.specials, key=len, reverse=True)
        self.special_re = regex.compile("|".join(regex.escape(s) for s in by_length)) if by_length else None
        self.seen: dict[str, tuple[int, ...]] = {}

    @classmethod
    def from_files(cls, vocab_filepath, merges_filepath, special_tokens=None):
        """vocab: lines `id<TAB>token as latin-1 repr`; merges: lines `left<TAB>right` in hex."""
        vocab = {}
        with open(vocab_filepath, encoding="utf-8") as vf:
            for row in vf:
                tid, hexed = row.rstrip("\n").split("\t")
                vocab[int(tid)] = bytes.fromhex(hexed)
        with open(merges_filepath, encoding="utf-8") as mf:
            merges = [tuple(bytes.fromhex(h) for h in row.rstrip("\n").split("\t")) for row in mf]
        return cls(vocab, merges, special_tokens)

    def _ids_of(self, word: str) -> tuple[int, ...]:
        cached = self.seen.get(word)
        if cached is not None:
            return cached
        seq = [self.index[bytes([c])] for c in word.encode("utf-8")]
        while len(seq) > 1:
            rank, target = NEVER
            at = -1
            for j in range(len(seq) - 1):
                option = self.join.get((seq[j], seq[j + 1]), NEVER)
                if option[0] < rank:
                    rank, target, at = option[0], option[1], j
            if at < 0:
                break
            seq[at : at + 2] = [target]
        self.seen[word] = tuple(seq)
        return self.seen[word]

    def _plain(self, text: str) -> Iterator[int]:
        for word in self.word_re.findall(text):
            yield from self._ids_of(word)

    def encode(self, text: str) -> list[int]:
        return list(self._encode(text))

    def _encode(self, text: str) -> Iterator[int]:
        start = 0
        if self.special_re is not None:
            for hit in self.special_re.finditer(text):
                yield from self._plain(text[start : hit.start()])
                yield self.index[hit.group().encode("utf-8")]
                start = hit.end()
        yield from self._plain(text[start:])

    def _settled(self, text: str) -> int:
        """Where `text` may be cut: before a pre-token that starts after a non-space character, with at least two
        pre-tokens after it, outside special tokens and their possible beginnings."""
        limit = len(text)
        for sp in self.specials:
            for k in range(min(len(sp), len(text)), 0, -1):
                if text.endswith(sp[:k]):
                    limit = min(limit, len(text) - k)
                    break
        if self.special_re is not None:
            for hit in self.special_re.finditer(text):
                if hit.start() < limit < hit.end():
                    limit = hit.start()
        lo = 0
        if self.special_re is not None:
            for hit in self.special_re.finditer(text, 0, limit):
                lo = hit.end()
        marks = [m.start() for m in self.word_re.finditer(text, lo, limit)]
        for mark in reversed(marks[1:-2]):
            if not text[mark - 1].isspace():
                return mark
        return lo

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        carry = ""
        for piece in iterable:
            carry += piece
            if len(carry) < 1024:
                continue
            cut = self._settled(carry)
            if cut:
                yield from self._encode(carry[:cut])
                carry = carry[cut:]
        yield from self._encode(carry)

    def decode(self, ids: list[int]) -> str:
        return b"".join(self.table[i] for i in ids).decode("utf-8", errors="replace")
