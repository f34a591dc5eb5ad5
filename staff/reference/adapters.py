"""The reference behind the two adapter functions, so `--impl reference` grades the answer key itself."""

from __future__ import annotations

from .tokenizer import Tokenizer
from .train import train_bpe


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    return train_bpe(input_path, vocab_size, special_tokens, **kwargs)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Tokenizer(vocab, merges, special_tokens, pattern=pattern)
