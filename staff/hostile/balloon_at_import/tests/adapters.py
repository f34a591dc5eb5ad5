"""Hostile (found by a staff attacker): a 320 MB balloon filled at import raises the worker's level before the call;
the trainer frees it first, then hoards every pre-token occurrence in the room it left, so its memory never rises
above that level. The peak counts from the lowest level the call fell to: it fails like staff/bad/hoarding_trainer."""

from collections import Counter

import regex

from cs336_basics import adapters as _reference
from cs336_basics.pretokenize import GPT2_PATTERN, special_splitter, split_on_specials
from cs336_basics.train import bpe_merges

_balloon = [b"x" * (64 << 20) for _ in range(5)]  # 320 MB, resident (large blocks: mmap'd, given back on free)
get_tokenizer = _reference.get_tokenizer


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _balloon.clear()  # munmap: RSS drops by 320 MB before any hoarding
    specials = list(dict.fromkeys(special_tokens))
    text = open(input_path, "rb").read().decode("utf-8")
    occurrences = []  # one entry per occurrence instead of a count per distinct pre-token
    for segment, is_special in split_on_specials(text, special_splitter(specials)):
        if not is_special:
            occurrences.extend(piece.encode("utf-8") for piece in regex.findall(GPT2_PATTERN, segment))
    merges, _ = bpe_merges(Counter(occurrences), vocab_size - 256 - len(specials))
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges
