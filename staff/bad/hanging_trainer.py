"""A trainer that never returns (an endless loop): the limit tests must stop it, fail that test, and go on."""

from __future__ import annotations

from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    n = 0
    while True:
        n += 1
