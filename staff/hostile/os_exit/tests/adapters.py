"""Hostile: leaves the process with exit code 0 in the middle of every call (nbgrader counted what came after)."""

import os


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    os._exit(0)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    os._exit(0)
