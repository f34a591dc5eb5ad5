"""An encode_iterable that yields a little, then never yields again (an endless loop waiting for a cut point).

The streaming memory test must stop it once it stops making progress, long before its overall timeout.
"""

from __future__ import annotations

from staff.reference.adapters import run_train_bpe  # noqa: F401 - the adapter contract's first function
from staff.reference.tokenizer import Tokenizer


class HangingStream(Tokenizer):
    def encode_iterable(self, iterable):
        yield from super().encode_iterable(iter(list(iterable)[:50]))
        while True:
            pass


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return HangingStream(vocab, merges, special_tokens, pattern=pattern)
