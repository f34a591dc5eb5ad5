"""An encode_iterable that joins its whole input before encoding: right ids, memory that grows with the input.

It must fail the encode_iterable memory limit. Everything else is the reference's.
"""

from __future__ import annotations

from staff.reference.adapters import run_train_bpe  # noqa: F401 - the adapter contract's first function
from staff.reference.tokenizer import Tokenizer


class JoiningTokenizer(Tokenizer):
    def encode_iterable(self, iterable):
        yield from self.encode("".join(iterable))


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return JoiningTokenizer(vocab, merges, special_tokens, pattern=pattern)
