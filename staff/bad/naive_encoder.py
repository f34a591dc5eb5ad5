"""A naive encoder: for every pre-token, loop over every merge in order (no rank lookup, no cache).

Correct ids, O(pre-tokens x merges) time: it must fail the encoding speed limit. Training, decoding and
encode_iterable are the reference's.
"""

from __future__ import annotations

import regex

from staff.reference.adapters import run_train_bpe  # noqa: F401 - the adapter contract's first function
from staff.reference.pretokenize import GPT2_PATTERN, special_splitter, split_on_specials
from staff.reference.tokenizer import Tokenizer


class NaiveEncoder:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        self.reference = Tokenizer(vocab, merges, special_tokens, pattern=pattern)
        self.merges = list(merges)
        self.ids: dict[bytes, int] = {}
        for i, token in sorted(self.reference.vocab.items(), reverse=True):
            self.ids[token] = i  # the lowest id of a duplicated token wins, as in the reference
        self.specials = list(dict.fromkeys(special_tokens or []))
        self.pattern = regex.compile(pattern or GPT2_PATTERN)

    def _merge(self, piece: str) -> list[bytes]:
        parts = [bytes([b]) for b in piece.encode("utf-8")]
        for a, b in self.merges:  # every merge, for every pre-token
            i = 0
            while i < len(parts) - 1:
                if parts[i] == a and parts[i + 1] == b:
                    parts[i : i + 2] = [a + b]
                else:
                    i += 1
        return parts

    def encode(self, text: str) -> list[int]:
        out = []
        for segment, is_special in split_on_specials(text, special_splitter(self.specials)):
            if is_special:
                out.append(self.ids[segment.encode("utf-8")])
                continue
            for piece in self.pattern.findall(segment):
                out.extend(self.ids[p] for p in self._merge(piece))
        return out

    def encode_iterable(self, iterable):
        return self.reference.encode_iterable(iterable)

    def decode(self, ids):
        return self.reference.decode(ids)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return NaiveEncoder(vocab, merges, special_tokens, pattern)
