"""Hostile: every call sleeps forever; graded on the whole public suite, which must still finish well inside 10 minutes."""

import time


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    time.sleep(10**9)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    time.sleep(10**9)
