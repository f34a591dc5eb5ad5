"""Are a training's merges the right ones for a corpus? Checked at chosen steps, without a trainer in the harness.

Why this exists: the limit tests train on text generated for the run, so no snapshot holds the answer, and the
handout ships no reference trainer (it would be the assignment's answer). But an answer can be checked where it
cannot be found cheaply: the state after the first i merges is what tiktoken gives each distinct pre-token with those
merges as its ranks, and merge i must then be the most frequent adjacent pair (ties: the greatest). Checking one step
costs one recount of the pairs, the naive trainer's work for one merge; the tests check every step of a short
training, else the first, the last and a few steps drawn from the run's secret, so a list prepared for another
corpus (a public fixture's merges), or made from a part of the corpus, fails, and no one can know in advance which
steps are checked.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence

import numpy as np
import tiktoken

__all__ = ["assert_merges_hold", "steps_to_check"]

_WHOLE = r"(?s).+"  # each distinct pre-token is encoded as one piece


EVERY_STEP_UP_TO = 64  # a training with at most this many merges is checked at every step (~0.03 s per step per MB)


def steps_to_check(merges: int, seed: int, drawn: int = 6) -> list[int]:
    """Every step of a short training; else the first and the last merge, and `drawn` steps in between drawn from
    `seed`. Why every step: the early merges of generated text hardly depend on its seed (a list made for another
    seed of the training-memory corpus agrees at 25 to 37 of its 43 steps), so a few drawn steps can all miss the
    ones where a list prepared ahead is wrong."""
    if merges <= 0:
        return []
    if merges <= EVERY_STEP_UP_TO:
        return list(range(merges))
    inner = range(1, merges - 1)
    picked = random.Random(seed).sample(inner, min(drawn, len(inner)))
    return sorted({0, merges - 1, *picked})


def pair_counts(words: Counter, merges: Sequence[tuple[bytes, bytes]], step: int) -> tuple[dict, dict[int, bytes]]:
    """The adjacent pair counts after the first `step` merges ({(id, id): count}) and the bytes of each id."""
    ranks = {bytes([b]): b for b in range(256)}
    for i, (a, b) in enumerate(merges[:step]):
        ranks.setdefault(a + b, 256 + i)
    token = {rank: t for t, rank in ranks.items()}
    encoding = tiktoken.Encoding("merge-check", pat_str=_WHOLE, mergeable_ranks=ranks, special_tokens={})
    pieces = list(words)
    encoded = [encoding.encode_ordinary(piece) for piece in pieces]  # (the batch call costs a thread task each)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    flat = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64, count=int(lengths.sum()))
    weight = np.repeat(np.fromiter((words[p] for p in pieces), dtype=np.int64, count=len(pieces)), lengths)
    inside = np.ones(max(0, len(flat) - 1), dtype=bool)  # a pair never spans two pre-tokens
    inside[(np.cumsum(lengths) - 1)[:-1]] = False
    keys = flat[:-1][inside] * (1 << 32) + flat[1:][inside]
    unique, where = np.unique(keys, return_inverse=True)
    totals = np.bincount(where, weights=weight[:-1][inside]).astype(np.int64)
    return {(int(k) >> 32, int(k) & 0xFFFFFFFF): int(n) for k, n in zip(unique, totals, strict=True)}, token


def assert_merges_hold(merges, words: Counter, steps: Sequence[int], what: str) -> None:
    """At each of `steps`, the merge made is the most frequent pair of the corpus whose pre-tokens are `words`
    ({str: occurrences}), ties going to the greatest pair; else an AssertionError naming the step and both pairs."""
    __tracebackhide__ = True
    merges = [tuple(m) for m in merges]
    for step in steps:
        counts, token = pair_counts(words, merges, step)
        if not counts:
            raise AssertionError(f"{what}: after {step} merges no pair is left to merge, yet merge #{step} is listed")
        most = max(counts.values())
        want = max((token[a], token[b]) for (a, b), n in counts.items() if n == most)
        if merges[step] == want:
            continue
        made = {(token[a], token[b]): n for (a, b), n in counts.items()}.get(merges[step], 0)
        raise AssertionError(
            f"{what}: merge #{step} is {merges[step]!r}, which occurs {made:,} times at that point; the most frequent "
            f"pair then is {want!r} ({most:,} times; ties go to the greatest pair).\n"
            "These merges are not this corpus's: the text was generated for this run, so only training on the whole "
            "of it gives them (an answer prepared in advance, or training on part of the file, does not). Run "
            "`uv run pytest tests/test_train_bpe.py` first: it shows the first wrong merge with its counts."
        )
