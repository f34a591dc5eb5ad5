"""Hostile but correct: the reference's answers, after writing a perfect-score results.json everywhere it can."""

import json
from pathlib import Path

from cs336_basics import adapters as _reference

FAKE = json.dumps({"score": 1000, "tests": [{"name": "everything", "score": 1000, "max_score": 1}]})


def _plant():
    here = Path(__file__).resolve()
    targets = [Path.cwd(), Path.home(), Path("/tmp"), Path("/autograder/results"), *here.parents]
    targets += [p.parent for p in Path("/tmp").glob("cs336-judge-*/private/*")]
    for folder in targets:
        for name in ("results.json", "verdicts.jsonl", "manifest.json"):
            try:
                (folder / name).write_text(FAKE)
            except OSError:
                pass


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _plant()
    return _reference.run_train_bpe(input_path, vocab_size, special_tokens, **kwargs)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    _plant()
    return _reference.get_tokenizer(vocab, merges, special_tokens, pattern)
