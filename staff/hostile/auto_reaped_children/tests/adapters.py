"""Hostile (found by a staff attacker): slow like slow_in_process, but every repetition but the last runs in a forked
child while SIGCHLD is ignored, so the kernel reaps the children itself and their CPU reaches no parent's figures.
The call waited far longer than its tree's CPU: it is charged its wall time, and fails like its twin."""

import os
import signal

from cs336_basics.tokenizer import Tokenizer
from cs336_basics.train import train_bpe

REPEAT_TRAIN, REPEAT_ENCODE = 30, 20


def _hidden(work, times):
    """work() run `times` times, each in an auto-reaped child (its CPU is charged to nobody)."""
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        for _ in range(times):
            if os.fork() == 0:
                work()
                os._exit(0)
            try:
                os.waitpid(-1, 0)  # with SIG_IGN: blocks until the child is gone, then ECHILD
            except ChildProcessError:
                pass
    finally:
        signal.signal(signal.SIGCHLD, old)


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _hidden(lambda: train_bpe(input_path, vocab_size, special_tokens), REPEAT_TRAIN - 1)
    return train_bpe(input_path, vocab_size, special_tokens)  # the last repetition, in the worker itself


class SlowTokenizer:
    def __init__(self, *args):
        self.args, self.tokenizer = args, Tokenizer(*args)

    def encode(self, text):
        _hidden(lambda: Tokenizer(*self.args).encode(text), REPEAT_ENCODE - 1)
        return Tokenizer(*self.args).encode(text)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return SlowTokenizer(vocab, merges, special_tokens, pattern)
