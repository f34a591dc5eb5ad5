"""A submission that would cheat if it were ever imported into the test process: at import it replaces the
harness's comparisons with ones that always pass, and leaves a note saying which process imported it.

Its functions raise NotImplementedError, so every graded test must fail: the test process never imports it, and in
the worker the patched comparisons are never used. CS336_SABOTEUR_NOTES names the file the notes go to.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("CS336_SABOTEUR_NOTES"):
    with open(os.environ["CS336_SABOTEUR_NOTES"], "a", encoding="utf-8") as notes:
        notes.write(f"imported in pid {os.getpid()}, pytest loaded: {'_pytest' in sys.modules}\n")
try:
    import bpe_harness.plugin.divergence as compare
except ImportError:  # the worker refuses graded code's imports of the harness (worker/allowed_imports.py)
    pass
else:
    compare.assert_ids_equal = compare.assert_merges_equal = compare.assert_text_equal = lambda *a, **k: None
    compare.assert_vocab_matches = lambda *a, **k: None


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    raise NotImplementedError("saboteur: nothing here")


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    raise NotImplementedError("saboteur: nothing here")
