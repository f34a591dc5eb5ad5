"""Hostile but correct: the reference's answers, after flooding stdout and stderr (Python and fd level)."""

import os
import sys

from cs336_basics import adapters as _reference

LINE = "flood " * 1000 + "\n"


def _flood():
    for _ in range(2000):  # ~12 MB per stream per call
        sys.stdout.write(LINE)
        sys.stderr.write(LINE)
    os.write(1, LINE.encode() * 100)
    os.write(2, LINE.encode() * 100)


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _flood()
    return _reference.run_train_bpe(input_path, vocab_size, special_tokens, **kwargs)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    _flood()
    return _reference.get_tokenizer(vocab, merges, special_tokens, pattern)
