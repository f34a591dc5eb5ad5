"""A style's vocabulary and the law its words are drawn by: the hand-written head words, then pseudo-words for
every later rank; Zipf-Mandelbrot weights in an alias table (exact for the first ``TABLE_SIZE`` ranks, log-spaced
bins beyond, up to 2**40), and word ids for counting distinct words. Built once per style and process."""

from __future__ import annotations

import math

import numpy as np
import regex

from bpe_harness.data.corpus.draws import Scalar
from bpe_harness.data.corpus.pseudo_words import pseudo_words
from bpe_harness.data.corpus.styles import STYLE_FACTORIES, STYLES, StyleParams
from bpe_harness.data.corpus.word_lists import NAMES, SPEECH_VERBS

TABLE_SIZE = 1 << 17  # ranks with a precomputed string
_MAX_RANK = 1 << 40  # effectively unbounded tail
WORD_RE = regex.compile(r"\p{L}+")


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


class Tables:
    """Per-style precomputed tables (built lazily, cached for the process)."""

    def __init__(self, params: StyleParams):
        self.params = params
        size = TABLE_SIZE
        head = list(dict.fromkeys(params.head))  # drop accidental duplicates, keep order
        self.n_head = len(head)
        taken = {w.lower() for w in head}
        candidates = pseudo_words(np.arange(size, dtype=np.int64)).tolist()  # more than enough
        words = list(head)
        t = 0
        while len(words) < size:
            w = candidates[t]
            t += 1
            if w not in taken:
                words.append(w)
        self.pseudo_offset = t  # tail rank r >= H uses pseudo index r - H + pseudo_offset
        self.words = words
        self.words_spaced = np.array([w + " " for w in words], dtype=object)
        self.capitalized_spaced = np.array([cap(w) + " " for w in words], dtype=object)
        self.words_array = np.array(words, dtype=object)

        # Zipf weights: exact for ranks < H, log-spaced bins beyond (uniform inside a
        # bin).  Computed with Python floats (libm), never numpy's SIMD transcendental
        # ufuncs, whose last-ulp results differ between CPUs.
        # Zipf-Mandelbrot: weight(rank r) = (r + q) ** -s1 up to the break k, then
        # continued with exponent s2 (continuous at k).
        s1, k, s2, q = params.s1, params.k_break, params.s2, params.q
        scale = float(k + q) ** (s2 - s1)
        w = [(r + q) ** -s1 if r <= k else scale * (r + q) ** -s2 for r in range(1, size + 1)]
        edges = [size + 1]
        while edges[-1] < _MAX_RANK:
            edges.append(min(_MAX_RANK, max(edges[-1] + 1, int(edges[-1] * 1.02))))
        c = scale / (s2 - 1.0)
        w += [
            c * ((lo - 0.5 + q) ** (1.0 - s2) - (hi - 0.5 + q) ** (1.0 - s2))
            for lo, hi in zip(edges[:-1], edges[1:], strict=False)
        ]
        self.alias_p, self.alias_j = _alias_table(w)
        self._alias_p_list, self._alias_j_list = self.alias_p.tolist(), self.alias_j.tolist()
        self.n_alias = len(w)
        self.edges = np.array(edges, dtype=np.int64)  # 1-based rank bin edges
        self.names_spaced = np.array([n + " " for n in NAMES], dtype=object)
        self.possessive_names_spaced = np.array([n + "'s " for n in NAMES], dtype=object)
        self.names_array = np.array(NAMES, dtype=object)

        # Word-id space for cheap unique-word counting.
        self.word_ids: dict[str, int] = {}
        parts = []
        for i, wd in enumerate(words):
            if i >= self.n_head:  # pseudo-words are lowercase ASCII letters
                parts.append((self._word_id(wd),))
            else:
                parts.append(tuple(self._word_id(p.lower()) for p in WORD_RE.findall(wd)))
        self.parts = parts
        self.first_word_id = np.array([p[0] if p else -1 for p in parts], dtype=np.int64)
        self.name_word_id = np.array([self._word_id(n.lower()) for n in NAMES], dtype=np.int64)
        self.s_word_id = self._word_id("s")
        self.speech_verb_word_ids = {
            v: tuple(self._word_id(p) for p in v.split()) for vs in SPEECH_VERBS.values() for v in vs
        }

    def _word_id(self, w: str) -> int:
        i = self.word_ids.get(w)
        if i is None:
            i = self.word_ids[w] = len(self.word_ids)
        return i

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n 0-based word ranks (alias method; exact IEEE ops only)."""
        size = TABLE_SIZE
        x = rng.random(n) * self.n_alias
        j = x.astype(np.int64)
        rejected = np.flatnonzero(x - j >= self.alias_p[j])
        j[rejected] = self.alias_j[j[rejected]]
        tail = np.flatnonzero(j >= size)
        if tail.size:
            b = j[tail] - size
            lo = self.edges[b]
            width = self.edges[b + 1] - lo
            v = rng.random(tail.size)
            j[tail] = lo - 1 + (v * width).astype(np.int64)
        return j

    def sample_head(self, stream: Scalar) -> int:
        """One rank < H drawn from the same law restricted to the table (scalar stream)."""
        ap, aj, n = self._alias_p_list, self._alias_j_list, self.n_alias
        while True:
            x = stream.uniform() * n
            j = int(x)
            if x - j >= ap[j]:
                j = aj[j]
            if j < TABLE_SIZE:
                return j


def _alias_table(w: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for weights ``w`` (Python floats, deterministic)."""
    n = len(w)
    f = n / math.fsum(w)
    p = [x * f for x in w]
    alias = list(range(n))
    small = [i for i in range(n) if p[i] < 1.0]
    large = [i for i in range(n) if p[i] >= 1.0]
    while small and large:
        s_, l_ = small.pop(), large.pop()
        alias[s_] = l_
        p[l_] = (p[l_] + p[s_]) - 1.0
        (small if p[l_] < 1.0 else large).append(l_)
    for i in small + large:
        p[i] = 1.0
    return np.array(p, dtype=np.float64), np.array(alias, dtype=np.int64)


_TABLE_CACHE: dict[str, Tables] = {}


def tables_for(style: str) -> Tables:
    if style not in STYLE_FACTORIES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    t = _TABLE_CACHE.get(style)
    if t is None:
        t = _TABLE_CACHE[style] = Tables(STYLE_FACTORIES[style]())
    return t
