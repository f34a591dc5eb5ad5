"""Hostile: dereferences a null pointer (SIGSEGV) in every call."""

import ctypes


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    ctypes.string_at(0)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    ctypes.string_at(0)
