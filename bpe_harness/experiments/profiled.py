"""An adapter module wrapping another implementation so that its trainer runs under cProfile, in the worker.

Interim plumbing for `train --profile` until the worker has a profiling operation: the worker imports this module
as its --impl; it loads the real implementation named by $CS336_PROFILE_IMPL (same --impl values) and writes the
profile (plain JSON from `profiling.profile_call`) to $CS336_PROFILE_OUT. Nothing here runs in the parent process.
"""

from __future__ import annotations

import json
import os

from bpe_harness.experiments.profiling import profile_call
from bpe_harness.impl import load_adapters
from bpe_harness.vocab_io import write_atomic

_label, _inner = load_adapters(os.environ["CS336_PROFILE_IMPL"])


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    result, profile = profile_call(_inner.run_train_bpe, input_path, vocab_size, special_tokens, **kwargs)
    write_atomic(os.environ["CS336_PROFILE_OUT"], json.dumps(profile))
    return result


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return _inner.get_tokenizer(vocab, merges, special_tokens, pattern)

