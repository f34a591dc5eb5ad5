"""Hostile but correct: the reference's answers, after starting a detached grandchild that outlives the worker."""

import os
import time

from cs336_basics import adapters as _reference


def _detach():
    if os.fork() == 0:  # child: start a grandchild in its own session, then vanish so it is orphaned
        os.setsid()
        if os.fork() == 0:
            time.sleep(10**9)
        os._exit(0)


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _detach()
    return _reference.run_train_bpe(input_path, vocab_size, special_tokens, **kwargs)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    _detach()
    return _reference.get_tokenizer(vocab, merges, special_tokens, pattern)
