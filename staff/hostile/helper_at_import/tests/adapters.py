"""Hostile: a helper process forked at import does every call's work (slowly, as slow_in_process does), so the worker
itself spends almost no CPU while it waits. Charging the whole process tree makes it exactly as slow as its twin."""

import json
import os
import socket

from cs336_basics.tokenizer import Tokenizer
from cs336_basics.train import train_bpe

REPEAT = 40
_ours, _theirs = socket.socketpair()


def _serve(sock):
    stream = sock.makefile("rw")
    for line in stream:
        request = json.loads(line)
        if request["op"] == "train":
            for _ in range(REPEAT):
                vocab, merges = train_bpe(request["path"], request["vocab_size"], request["specials"])
            reply = {"vocab": {i: t.hex() for i, t in vocab.items()}, "merges": [[a.hex(), b.hex()] for a, b in merges]}
        else:
            vocab = {int(i): bytes.fromhex(t) for i, t in request["vocab"].items()}
            merges = [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in request["merges"]]
            for _ in range(REPEAT):
                ids = Tokenizer(vocab, merges, request["specials"], request["pattern"]).encode(request["text"])
            reply = {"ids": ids}
        stream.write(json.dumps(reply) + "\n")
        stream.flush()


if os.fork() == 0:  # the helper: lives as long as the worker, serves its requests
    _ours.close()
    _serve(_theirs)
    os._exit(0)
_theirs.close()
_stream = _ours.makefile("rw")


def _ask(request):
    _stream.write(json.dumps(request) + "\n")
    _stream.flush()
    reply = json.loads(_stream.readline())
    sum(range(300_000))  # a little CPU of its own, so a meter of this process alone shows a tiny, plausible figure
    return reply


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    reply = _ask({"op": "train", "path": str(input_path), "vocab_size": vocab_size, "specials": list(special_tokens)})
    vocab = {int(i): bytes.fromhex(t) for i, t in reply["vocab"].items()}
    return vocab, [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in reply["merges"]]


class HelpedTokenizer:
    def __init__(self, vocab, merges, special_tokens, pattern):
        self.request = {"op": "encode", "vocab": {i: t.hex() for i, t in vocab.items()},
                        "merges": [[a.hex(), b.hex()] for a, b in merges], "specials": special_tokens,
                        "pattern": pattern}
        self.tokenizer = Tokenizer(vocab, merges, special_tokens, pattern)

    def encode(self, text):
        return _ask({**self.request, "text": text})["ids"]

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return HelpedTokenizer(vocab, merges, special_tokens, pattern)
