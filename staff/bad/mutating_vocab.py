"""The reference behind a get_tokenizer that adds its special tokens to the vocab dict it was given (as 7 of 19
real solutions do). Every test still passes (each call gets its own copies), but the summary must warn about it."""

from __future__ import annotations

from staff.reference.adapters import get_tokenizer as reference_tokenizer
from staff.reference.adapters import run_train_bpe  # noqa: F401 - the adapter contract's first function


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    for special in special_tokens or []:
        if special.encode() not in vocab.values():
            vocab[len(vocab)] = special.encode()
    return reference_tokenizer(vocab, merges, special_tokens, pattern)
