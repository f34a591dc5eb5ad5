"""Degenerate: BPE without the pair encoding. Training returns the specials and the 256 bytes and no merges, whatever
the size asked; encode handles special tokens correctly (longest first, appended when missing) but never merges: one
id per byte; decode is correct. It earns only the points of what it really does right: the no-merges training case,
special tokens given alone, decoding, and round trips through its own (correct, unmerged) ids."""

from __future__ import annotations

import regex


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    tokens = [*(s.encode("utf-8") for s in special_tokens), *(bytes([b]) for b in range(256))]
    return dict(enumerate(tokens)), []


class Tokenizer:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        self.vocab = dict(vocab)
        self.ids = {}
        for i, token in sorted(self.vocab.items(), reverse=True):
            self.ids[token] = i
        self.specials = sorted(dict.fromkeys(special_tokens or []), key=len, reverse=True)
        for s in self.specials:
            if s.encode("utf-8") not in self.ids:
                new = max(self.vocab, default=-1) + 1
                self.vocab[new], self.ids[s.encode("utf-8")] = s.encode("utf-8"), new
        self.splitter = regex.compile("(" + "|".join(map(regex.escape, self.specials)) + ")") if self.specials else None

    def encode(self, text):
        out = []
        parts = self.splitter.split(text) if self.splitter else [text]
        for k, part in enumerate(parts):
            if k % 2:
                out.append(self.ids[part.encode("utf-8")])
            else:
                out.extend(self.ids[bytes([b])] for b in part.encode("utf-8"))
        return out

    def encode_iterable(self, iterable):
        yield from self.encode("".join(iterable))

    def decode(self, ids):
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Tokenizer(vocab, merges, special_tokens, pattern)
