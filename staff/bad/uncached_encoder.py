"""Slow but correct: the reference tokenizer without its pre-token cache (every occurrence of " the" is merged again).

A common first solution. It passes the graded encoding speed limit but is several times slower than the reference on
real text, where a few thousand distinct pre-tokens make up most occurrences: the leaderboard's slow-but-correct
staff entry. Training is the reference's.
"""

from __future__ import annotations

from staff.reference.adapters import run_train_bpe  # noqa: F401 - the adapter contract's first function
from staff.reference.tokenizer import Tokenizer


class UncachedTokenizer(Tokenizer):
    def _encode_plain(self, text: str, out: list[int]) -> None:
        for piece in self._pretoken.findall(text):
            out.extend(self._merge_pretoken(piece))


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return UncachedTokenizer(vocab, merges, special_tokens, pattern=pattern)
