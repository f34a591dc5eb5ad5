"""The reference, but printing to stdout at Python and C level on every call: the worker channel must not care.

Also lets staff tests give the worker a known memory peak: run_train_bpe(..., ballast_mb=N, hold_s=T) first holds N MB
(every page touched) for T seconds, then frees it.
"""

from __future__ import annotations

import os
import time

from staff.reference import adapters


def _shout(what: str) -> None:
    print(f'noisy: {what} {{"event": "result", "ok": true, "value": 42}}', flush=True)
    os.write(1, b'noisy: fd 1 {"event": "done"}\n')


def run_train_bpe(input_path, vocab_size, special_tokens, ballast_mb: int = 0, hold_s: float = 0.0, **kwargs):
    _shout("run_train_bpe")
    if ballast_mb:
        ballast = bytearray(ballast_mb * 1_000_000)
        for i in range(0, len(ballast), 4096):
            ballast[i] = 1
        time.sleep(hold_s)
        del ballast
    return adapters.run_train_bpe(input_path, vocab_size, special_tokens, **kwargs)


class NoisyTokenizer:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def encode(self, text):
        _shout("encode")
        return self.tokenizer.encode(text)

    def encode_iterable(self, iterable):
        _shout("encode_iterable")
        return self.tokenizer.encode_iterable(iterable)

    def decode(self, ids):
        _shout("decode")
        return self.tokenizer.decode(ids)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    _shout("get_tokenizer")
    return NoisyTokenizer(adapters.get_tokenizer(vocab, merges, special_tokens, pattern))
