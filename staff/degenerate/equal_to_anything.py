"""Degenerate: every result claims to equal anything (`__eq__` always True). The worker's type checks
(worker/result_checks.py) turn ids into a plain list of int and a vocab into a plain dict before anything is compared,
and refuse a str subclass from decode, so what arrives is an empty result. Must score 0."""


class Anything(list):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = None


class AnyDict(dict):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = None


class AnyStr(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    return AnyDict(), Anything()


class Tokenizer:
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        pass

    def encode(self, text):
        return Anything()

    def encode_iterable(self, iterable):
        return Anything()

    def decode(self, ids):
        return AnyStr("")


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return Tokenizer(vocab, merges, special_tokens, pattern)
