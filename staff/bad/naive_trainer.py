"""The lecture's naive BPE trainer: recount every pair over the whole corpus after every merge (staff/naive.py).

Correct merges, O(merges x corpus) time: it must fail the training speed limit. The tokenizer is the reference's.
"""

from __future__ import annotations

from pathlib import Path

from staff.naive import naive_merges
from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    specials = list(dict.fromkeys(special_tokens))
    text = Path(input_path).read_bytes().decode("utf-8")
    merges = naive_merges(text, vocab_size - 256 - len(specials), specials)
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges
