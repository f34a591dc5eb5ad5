"""A trainer that prints, then kills its own process: the failure must name the exit code and show the output."""

from __future__ import annotations

import os
import sys

from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    print("crashing_trainer: about to exit", flush=True)
    sys.stderr.write("crashing_trainer: last words on stderr\n")
    sys.stderr.flush()
    os._exit(7)
