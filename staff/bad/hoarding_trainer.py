"""A trainer that keeps every pre-token occurrence in a list before counting them (`findall` over the whole text).

Right merges, memory that grows with the number of occurrences rather than distinct pre-tokens: it must fail the
training memory limit. The merging itself and the tokenizer are the reference's.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import regex

from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function
from staff.reference.pretokenize import GPT2_PATTERN, special_splitter, split_on_specials
from staff.reference.train import bpe_merges


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    specials = list(dict.fromkeys(special_tokens))
    text = Path(input_path).read_bytes().decode("utf-8")
    occurrences = []  # the mistake: one entry per occurrence instead of a count per distinct pre-token
    for segment, is_special in split_on_specials(text, special_splitter(specials)):
        if not is_special:
            occurrences.extend(piece.encode("utf-8") for piece in regex.findall(GPT2_PATTERN, segment))
    merges, _ = bpe_merges(Counter(occurrences), vocab_size - 256 - len(specials))
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges
