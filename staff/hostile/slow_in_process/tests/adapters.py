"""Honest but slow: the reference's work done REPEAT times per call, in the worker itself. The twin of
helper_at_import and memoised_retry: whatever they gain over this one is a hole in the accounting."""

from cs336_basics.tokenizer import Tokenizer
from cs336_basics.train import train_bpe

REPEAT = 40  # about 2 x the training limit, and well over the encoding limit (a cold cache each time)


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    for _ in range(REPEAT):
        result = train_bpe(input_path, vocab_size, special_tokens)
    return result


class SlowTokenizer:
    def __init__(self, *args):
        self.args, self.tokenizer = args, Tokenizer(*args)

    def encode(self, text):
        for _ in range(REPEAT):
            ids = Tokenizer(*self.args).encode(text)
        return ids

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return SlowTokenizer(vocab, merges, special_tokens, pattern)
