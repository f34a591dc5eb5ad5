"""Hostile: ignores SIGTERM (and SIGINT), then sleeps forever in every call."""

import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    time.sleep(10**9)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    time.sleep(10**9)
