"""Honest: a correct trainer that always pre-tokenizes in a process pool sized by os.cpu_count(). Graded with
CS336_SANDBOX_CPUS=96 (a big grading host), it starts 96 processes; that must cost no points."""

import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from cs336_basics import adapters as _reference
from cs336_basics.pretokenize import GPT2_PATTERN
from cs336_basics.train import _count_range, bpe_merges, chunk_boundaries

EXPECTED_CPUS = int(os.environ.get("EXPECTED_CPUS", "0"))


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    workers = os.cpu_count() or 1
    specials = list(dict.fromkeys(special_tokens))
    path = os.fspath(input_path)
    bounds = chunk_boundaries(path, specials, 2 * workers)
    jobs = [(path, a, b, specials, GPT2_PATTERN) for a, b in zip(bounds, bounds[1:])]
    words = Counter()
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


get_tokenizer = _reference.get_tokenizer
