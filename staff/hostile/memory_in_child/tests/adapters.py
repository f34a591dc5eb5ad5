"""Hostile: the hoarding trainer (a list of every pre-token occurrence, ~3 x the training memory budget) run in a
forked child that sends back only the merges, so the worker's own memory stays flat. The whole tree is charged."""

import json
import os
from collections import Counter

import regex

from cs336_basics import adapters as _reference
from cs336_basics.pretokenize import GPT2_PATTERN, special_splitter, split_on_specials
from cs336_basics.train import bpe_merges


def _hoarding_train(input_path, vocab_size, specials):
    text = open(input_path, "rb").read().decode("utf-8")
    occurrences = []  # one entry per occurrence instead of a count per distinct pre-token
    for segment, is_special in split_on_specials(text, special_splitter(specials)):
        if not is_special:
            occurrences.extend(piece.encode("utf-8") for piece in regex.findall(GPT2_PATTERN, segment))
    merges, _ = bpe_merges(Counter(occurrences), vocab_size - 256 - len(specials))
    return merges


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    specials = list(dict.fromkeys(special_tokens))
    read, write = os.pipe()
    if os.fork() == 0:
        os.close(read)
        merges = _hoarding_train(str(input_path), vocab_size, specials)
        with os.fdopen(write, "w") as out:
            json.dump([[a.hex(), b.hex()] for a, b in merges], out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as incoming:
        merges = [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in json.load(incoming)]
    os.wait()
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges


get_tokenizer = _reference.get_tokenizer
