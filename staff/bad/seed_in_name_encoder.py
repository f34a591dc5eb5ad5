"""A slow encoder that answers the encoding-speed test from text it generated in advance, from a seed it found in the
name of another test's input file.

The attack assumes a harness that names a fresh input after its seed (`.cache/limits/fresh/<stem>-<seed>-<pid>.txt`) and
draws the encoding-speed text as `generate_text(seed + attempt, 97_000)`: at import (within the import allowance) this
module lists that folder and generates both attempts' texts, and its tokenizer encodes them with the reference when it
is built, so the timed encode() is a look-up. Any other text goes through the naive encoder (every merge for every
pre-token: far too slow). Its honest twin is staff.bad.naive_encoder. With inputs drawn from a secret (no seed in any
name), it gains nothing.
"""

from __future__ import annotations

import re

from bpe_harness.data.corpus import generate_text
from bpe_harness.settings import cache_dir
from staff.bad.naive_encoder import NaiveEncoder
from staff.reference.adapters import run_train_bpe  # noqa: F401 - the adapter contract's first function

ENCODING_SPEED_CHARS = 97_000
_NAME = re.compile(r"-(\d+)-\d+\.txt$")


def _texts_ahead() -> list[str]:
    texts = []
    for path in (cache_dir() / "limits").rglob("*.txt"):
        found = _NAME.search(path.name)
        if found:
            texts += [generate_text(int(found.group(1)) + attempt, ENCODING_SPEED_CHARS) for attempt in range(2)]
    return texts


TEXTS_AHEAD = _texts_ahead()


class SeedReadingEncoder(NaiveEncoder):
    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        super().__init__(vocab, merges, special_tokens, pattern)
        self.known = {text: self.reference.encode(text) for text in TEXTS_AHEAD}

    def encode(self, text: str) -> list[int]:
        if text in self.known:
            return list(self.known[text])
        return super().encode(text)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return SeedReadingEncoder(vocab, merges, special_tokens, pattern)
