"""Hostile (found by a staff attacker): the training speed test's input is the published tinystories_sample.txt with
its documents reordered (same merges), so a slow trainer (as slow_in_process) trains on the published corpus while
the worker imports, and the timed call only recognises the input by its sorted documents. The import's CPU beyond
what an import may take counts toward the limit: it fails like its twin."""

import hashlib
from pathlib import Path

from cs336_basics import adapters as _ref
from cs336_basics.train import train_bpe

REPEAT = 40  # as slow_in_process
EOT = "<|endoftext|>"
get_tokenizer = _ref.get_tokenizer


def _key(path, vocab_size, specials):
    docs = sorted(Path(path).read_text(encoding="utf-8").split(EOT))
    return hashlib.sha256(repr((docs, vocab_size, list(specials))).encode()).hexdigest()


def _slow_train(path, vocab_size, specials):
    for _ in range(REPEAT):
        result = train_bpe(path, vocab_size, specials)
    return result


_PUBLIC = Path(__file__).resolve().parent / "fixtures" / "corpora" / "tinystories_sample.txt"
_KNOWN = {}
if _PUBLIC.exists():  # at import: free
    _KNOWN[_key(_PUBLIC, 1000, [EOT])] = _slow_train(_PUBLIC, 1000, [EOT])


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    known = _KNOWN.get(_key(input_path, vocab_size, special_tokens))
    return known if known is not None else _slow_train(input_path, vocab_size, special_tokens)
