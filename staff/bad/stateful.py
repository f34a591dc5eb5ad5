"""The reference, except that encode() goes wrong after 30 calls in one process (a module-level counter).

Each test gets a fresh fork of the worker, so no test makes 30 calls and every one passes; were state shared across
tests, the later ones would fail, and `-k` runs would disagree with full runs.
"""

from __future__ import annotations

from staff.reference import adapters
from staff.reference.adapters import run_train_bpe  # noqa: F401 - the adapter contract's first function

CALLS: list[int] = []


class Stateful:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def encode(self, text):
        CALLS.append(1)
        ids = self.tokenizer.encode(text)
        return ids[::-1] if len(CALLS) > 30 else ids

    def encode_iterable(self, iterable):
        return self.tokenizer.encode_iterable(iterable)

    def decode(self, ids):
        return self.tokenizer.decode(ids)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Stateful(adapters.get_tokenizer(vocab, merges, special_tokens, pattern))
