"""Pseudo-words for the corpus generator's unbounded vocabulary tail: an injective map from a pseudo-index to a word
of one or more syllables plus an optional coda, so the number of distinct words keeps growing with corpus size.

`pseudo_word(t)` computes one with Python integers; `pseudo_words(array)` gives the same words for many indices
with exact int64 arithmetic. Changing the inventory or the map changes every generated corpus: bump
GENERATOR_VERSION (corpus/state.py) and rebuild the fixtures.
"""

from __future__ import annotations

import numpy as np

# Syllable inventory for pseudo-words.  Onsets are consonant runs, nuclei vowel
# runs (no 'y' in nuclei), codas word-final consonant runs: the split into maximal
# consonant/vowel runs recovers the syllables, so rank -> word is injective.
_ONSETS = (
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "y",
    "z",
    "bl",
    "br",
    "ch",
    "cl",
    "cr",
    "dr",
    "fl",
    "fr",
    "gl",
    "gr",
    "pl",
    "pr",
    "sc",
    "sh",
    "sk",
    "sl",
    "sm",
    "sn",
    "sp",
    "st",
    "str",
    "sw",
    "th",
    "tr",
    "wh",
)
_NUCLEI = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "oa", "ie", "au")
_CODAS = ("", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "ck", "sh", "th", "rt", "ll", "nt", "rs", "x")
_SYLLABLES = tuple(o + n for o in _ONSETS for n in _NUCLEI)
_N_SYLLABLES = len(_SYLLABLES)
_N_CODAS = len(_CODAS)
_SCRAMBLE = 2654435761  # prime; coprime with every level size (primes 2, 3, 11, 13)


def pseudo_word(t: int) -> str:
    """Injective map pseudo-index -> pseudo-word (1+ syllables plus an optional coda)."""
    level = 1
    size = _N_SYLLABLES * _N_CODAS
    while t >= size:
        t -= size
        level += 1
        size *= _N_SYLLABLES
    t = (t * _SCRAMBLE + 7919) % size
    t, coda = divmod(t, _N_CODAS)
    parts = []
    for _ in range(level):
        t, s = divmod(t, _N_SYLLABLES)
        parts.append(_SYLLABLES[s])
    parts.append(_CODAS[coda])
    return "".join(parts)


_LEVEL_SIZES = [_N_SYLLABLES**L * _N_CODAS for L in (1, 2, 3)]
_LEVEL_START = [
    0,
    _LEVEL_SIZES[0],
    _LEVEL_SIZES[0] + _LEVEL_SIZES[1],
    _LEVEL_SIZES[0] + _LEVEL_SIZES[1] + _LEVEL_SIZES[2],
]
_SYLLABLE_ARRAY = np.array(_SYLLABLES, dtype=object)
_CODA_ARRAY = np.array(_CODAS, dtype=object)


def pseudo_words(t: np.ndarray) -> np.ndarray:
    """Vectorized ``_pseudo_word`` (object array of str); same results, exact int64 math.

    Levels 1-3 (pseudo-index < ~3.4e9) are computed with numpy: the scrambled index
    ``idx * _SCRAMBLE + 7919`` stays below 2**63 there.  Deeper levels fall back to the
    scalar function (Python ints)."""
    t = np.asarray(t, dtype=np.int64)
    out = np.empty(t.size, dtype=object)
    for level in (1, 2, 3):
        lo, hi = _LEVEL_START[level - 1], _LEVEL_START[level]
        sel = np.flatnonzero((t >= lo) & (t < hi))
        if not sel.size:
            continue
        x = ((t[sel] - lo) * _SCRAMBLE + 7919) % _LEVEL_SIZES[level - 1]
        x, coda = np.divmod(x, _N_CODAS)
        x, d = np.divmod(x, _N_SYLLABLES)
        w = _SYLLABLE_ARRAY[d]
        for _ in range(level - 1):
            x, d = np.divmod(x, _N_SYLLABLES)
            w = w + _SYLLABLE_ARRAY[d]
        out[sel] = w + _CODA_ARRAY[coda]
    deep = np.flatnonzero(t >= _LEVEL_START[3])
    if deep.size:
        out[deep] = [pseudo_word(v) for v in t[deep].tolist()]
    return out
