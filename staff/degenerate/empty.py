"""Degenerate: does nothing. Training returns ({}, []), encode returns [], encode_iterable yields nothing, decode
returns "". Must score 0 (public and hidden)."""


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    return {}, []


class Tokenizer:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        pass

    def encode(self, text):
        return []

    def encode_iterable(self, iterable):
        yield from ()

    def decode(self, ids):
        return ""


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Tokenizer(vocab, merges, special_tokens, pattern)
