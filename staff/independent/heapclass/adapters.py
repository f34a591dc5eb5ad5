"""The two adapter functions for `--impl`, as a student's tests/adapters.py would write them."""

from .tokenizer import Tokenizer
from .train_bpe import train_bpe


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    return train_bpe(input_path, vocab_size, special_tokens, **kwargs)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Tokenizer(vocab, merges, special_tokens, pattern=pattern)
