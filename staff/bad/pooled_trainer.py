"""A correct trainer that always pre-tokenizes in a process pool (one process per core), whatever the corpus size.

The reference goes parallel only above PARALLEL_MIN_BYTES; this variant shows how the leaderboard credits a pool
(wall time is charged when it is below CPU time) and that its memory is reported separately. Merging and the
tokenizer are the reference's.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function
from staff.reference.pretokenize import GPT2_PATTERN
from staff.reference.train import _count_range, bpe_merges, chunk_boundaries


def run_train_bpe(input_path, vocab_size, special_tokens, num_workers=None, **kwargs):
    specials = list(dict.fromkeys(special_tokens))
    path = os.fspath(input_path)
    workers = num_workers or os.cpu_count() or 1
    bounds = chunk_boundaries(path, specials, 2 * workers)
    jobs = [(path, a, b, specials, GPT2_PATTERN) for a, b in zip(bounds, bounds[1:], strict=False)]
    words: Counter[bytes] = Counter()
    with ProcessPoolExecutor(workers) as pool:
        for part in pool.map(_count_range, jobs):
            for piece, n in part.items():
                words[piece.encode("utf-8")] += n
    merges, _ = bpe_merges(words, vocab_size - 256 - len(specials))
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges
