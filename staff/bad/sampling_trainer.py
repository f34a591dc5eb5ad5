"""Fast but wrong: trains on the first half of the corpus only (cut at a special token), a tempting shortcut.

It is about twice as fast as the reference and its merges differ, so the leaderboard's gate must refuse it with
the graded suite's "merges differ at merge #N" message. The tokenizer is the reference's.
"""

from __future__ import annotations

import os
import tempfile

from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function
from staff.reference.train import chunk_boundaries, train_bpe


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    path = os.fspath(input_path)
    bounds = chunk_boundaries(path, list(special_tokens), 2)
    with open(path, "rb") as f:
        head = f.read(bounds[1] if len(bounds) > 2 else os.path.getsize(path))
    with tempfile.TemporaryDirectory() as tmp:
        sample = os.path.join(tmp, "sample.txt")
        with open(sample, "wb") as f:
            f.write(head)
        return train_bpe(sample, vocab_size, special_tokens, **kwargs)
