"""Hostile: slow like slow_in_process, but every answer is remembered in a world-readable file in /tmp, keyed by the
input's sha256, so a second attempt on the same input would be instant (in another worker, even as another uid).
Speed attempts run in fresh workers on fresh inputs: the memo never hits, and it fails like its twin."""

import hashlib
import json
import os
from pathlib import Path

from cs336_basics.tokenizer import Tokenizer
from cs336_basics.train import train_bpe

REPEAT = 40
MEMO = Path("/tmp/cs336-memo")


def _memo(key):
    try:
        return json.loads((MEMO / key).read_text())
    except (OSError, ValueError):
        return None


def _remember(key, value):
    try:
        MEMO.mkdir(exist_ok=True)
        os.chmod(MEMO, 0o777)
    except OSError:
        pass  # made by an earlier worker (another uid): still writable by all
    try:
        (MEMO / key).write_text(json.dumps(value))
        os.chmod(MEMO / key, 0o666)
    except OSError:
        pass


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    key = hashlib.sha256(Path(input_path).read_bytes()).hexdigest() + f"-{vocab_size}"
    known = _memo(key)
    if known is None:
        for _ in range(REPEAT):
            vocab, merges = train_bpe(input_path, vocab_size, special_tokens)
        known = {"vocab": {i: t.hex() for i, t in vocab.items()}, "merges": [[a.hex(), b.hex()] for a, b in merges]}
        _remember(key, known)
    vocab = {int(i): bytes.fromhex(t) for i, t in known["vocab"].items()}
    return vocab, [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in known["merges"]]


class MemoTokenizer:
    def __init__(self, *args):
        self.args, self.tokenizer = args, Tokenizer(*args)

    def encode(self, text):
        key = hashlib.sha256(text.encode()).hexdigest()
        known = _memo(key)
        if known is None:
            for _ in range(REPEAT):
                known = Tokenizer(*self.args).encode(text)
            _remember(key, known)
        return known

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return MemoTokenizer(vocab, merges, special_tokens, pattern)
