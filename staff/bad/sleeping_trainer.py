"""A trainer that waits forever without using the CPU (a deadlock, a forgotten join): its call must stop at its time
limit even though it used no CPU, on a quiet machine (staff/tests/test_busy_machine.py)."""

from __future__ import annotations

import time

from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    while True:
        time.sleep(60)
