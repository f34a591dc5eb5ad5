"""Random helpers that consume only ``numpy.random.Generator.random()`` doubles and derive everything else with exact
IEEE arithmetic (multiply, truncate, compare, ``searchsorted``), so a corpus is the same on every CPU."""

from __future__ import annotations

from typing import Iterator

import numpy as np


def cumulative(weights) -> np.ndarray:
    return np.cumsum(np.asarray(weights, dtype=np.float64))


def draw(rng: np.random.Generator, cum: np.ndarray, n: int) -> np.ndarray:
    """n indices distributed according to the cumulative weight table ``cum``."""
    idx = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    return np.minimum(idx, len(cum) - 1)


def _uniform_stream(rng: np.random.Generator) -> Iterator[float]:
    while True:
        yield from rng.random(4096).tolist()


class Scalar:
    """Buffered scalar uniform stream for per-document Python-level decisions.

    ``below(n)`` is ``int(u * n)`` for a uniform ``u``: since ``u <= 1 - 2**-53``, IEEE round-to-nearest keeps
    ``u * n < n`` for every ``n < 2**53``, so no clamping is needed."""

    __slots__ = ("uniform", "_rng")

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self.uniform = _uniform_stream(rng).__next__

    def below(self, n: int) -> int:
        return int(self.uniform() * n)

    def pick(self, seq):
        return seq[int(self.uniform() * len(seq))]

    def uniforms(self, n: int) -> np.ndarray:
        """n uniforms straight from the underlying generator (deterministic, like uniform())."""
        return self._rng.random(n)
