"""Hostile: five children of 1.3 GB each (each under the 2 GB per-process cap): a tree far larger than the machine
can spare. The tree's cap stops all of them; results.json is still written."""

import os
import time

from cs336_basics import adapters as _reference

CHILDREN, EACH = 5, 1300 << 20


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    for _ in range(CHILDREN):
        if os.fork() == 0:
            hoard = bytearray(b"\x01") * EACH  # written, so resident
            time.sleep(600)
            os._exit(len(hoard) & 1)
    time.sleep(600)


get_tokenizer = _reference.get_tokenizer
