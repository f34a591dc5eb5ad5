"""Hostile: wrong answers, after patching builtins and the harness inside the worker to look right."""

import builtins
import json
import sys


class _Yes:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def _patch():
    builtins.isinstance = lambda obj, cls: True
    json.dumps = lambda *a, **k: '{"event": "result", "ok": true, "value": "pass"}'
    for name, module in list(sys.modules.items()):
        if name.startswith(("pytest", "_pytest", "bpe_harness")):
            for attr in ("check_ids", "check_training_result", "assert_ids_equal", "assert_merges_equal"):
                if hasattr(module, attr):
                    setattr(module, attr, lambda *a, **k: None)


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _patch()
    return {0: b"x"}, []


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    _patch()

    class Tok:
        def encode(self, text):
            return [0]

        def decode(self, ids):
            return ""

        def encode_iterable(self, chunks):
            yield 0

    return Tok()
