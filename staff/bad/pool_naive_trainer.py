"""The naive trainer (recount every pair after every merge), run in a process pool started with `forkserver`.

Its CPU time is spent in grandchildren of the worker that have exited by the time the call returns, where neither
psutil nor the worker's own children accounting can see it. The speed limit must still catch it: a call that
started processes is charged wall time. The tokenizer is the reference's.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from staff.bad import naive_trainer
from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(naive_trainer.run_train_bpe, str(input_path), vocab_size, list(special_tokens)).result()
