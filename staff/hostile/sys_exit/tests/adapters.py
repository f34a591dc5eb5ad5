"""Hostile: raises SystemExit(0) in the middle of every call."""

import sys


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    sys.exit(0)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    sys.exit(0)
