"""Corpora and special-token sets for the hidden tests, all drawn from one secret seed.

Why this exists: public snapshots can be hard-coded; these inputs cannot, because they are generated fresh for every
grading run from a seed only the staff report shows. Each case mixes what trips real solutions: special tokens glued
between letters, next to digits, whitespace and punctuation, overlapping specials, multilingual text, CRLF line
endings, whitespace runs, and vocab sizes that vary.
"""

from __future__ import annotations

import os
import random
import secrets
from dataclasses import dataclass

from bpe_harness.data.corpus import generate_text

SEED_ENV = "CS336_HIDDEN_SEED"
SPECIAL_POOL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<pad>",
    "[SEP]",
    "<s>",
    "</s>",
    "###",
    "@@",
    "<|endoftext|><|endoftext|>",
    "<|fim|>",
    "$$",
]
MULTILINGUAL = [
    "naïve café",
    "Grüße aus Köln",
    "привет мир",
    "日本語のテキスト",
    "中文分词测试",
    "مرحبا بالعالم",
    "שלום",
    "ελληνικά",
    "한국어 문장",
    "emoji 🙂🚀",
    "e\u0301tude",
    "ǅemal",
    "१२३ हिंदी",
]
PUNCT = [".", ",", "!", "?", "...", "--", "'s", "'ll", '"', "(", ")", ";", ":", "'", "`"]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\n\n", "   \n", " \r\n ", "\u00a0", "\u3000"]


def hidden_seed() -> int:
    """The run's secret seed: $CS336_HIDDEN_SEED (set by the staff grader), else a fresh random one."""
    value = os.environ.get(SEED_ENV)
    if not hasattr(hidden_seed, "cached"):
        hidden_seed.cached = int(value) if value else secrets.randbits(32)
    return hidden_seed.cached


@dataclass
class Case:
    text: str
    specials: list[str]
    vocab_size: int


def _glue(rng: random.Random, specials: list[str]) -> str:
    """A short piece where a special token sits between letters, digits, spaces or punctuation."""
    s = rng.choice(specials) if specials else ""
    left = rng.choice(["ab", "x", "9", "42", " ", "\n", "\r\n", ".", "!", "é", "日", "'s", "  "])
    right = rng.choice(["cd", "y", "7", "13", " ", "\n", "\r\n", ",", "?", "ü", "本", "'ll", "\t"])
    return left + s + right


def make_case(seed: int, index: int, size: int = 6000, with_specials: bool = True) -> Case:
    rng = random.Random(seed * 1000 + index)
    specials = rng.sample(SPECIAL_POOL, rng.randint(1, 4)) if with_specials else []
    if with_specials and rng.random() < 0.5 and "<|endoftext|>" not in specials:
        specials.append("<|endoftext|>")  # generate_text separates documents with it
    base = generate_text(
        rng.randrange(1 << 30),
        size,
        style=rng.choice(["tinystories", "webtext"]),
        separator=rng.choice(specials) + "\n" if specials else "\n",
    )
    pieces = []
    for word in base.split(" "):
        pieces.append(word)
        r = rng.random()
        if r < 0.04 and specials:
            pieces.append(_glue(rng, specials))
        elif r < 0.08:
            pieces.append(rng.choice(MULTILINGUAL))
        elif r < 0.12:
            pieces.append(rng.choice(PUNCT) + rng.choice(SPACES))
        elif r < 0.14:
            pieces.append(str(rng.randrange(10 ** rng.randint(1, 6))))
    text = rng.choice([" ", " ", "  "]).join(pieces)
    if rng.random() < 0.6:
        text = text.replace("\n", "\r\n")
    vocab_size = 256 + len(specials) + rng.randint(30, 400)
    return Case(text, specials, vocab_size)


def probe_texts(seed: int, case: Case, n: int = 6) -> list[str]:
    """Texts to encode with a trained vocab: slices of the corpus, glued specials, unseen multilingual text."""
    rng = random.Random(seed ^ 0x5EED)
    out = []
    for _ in range(n):
        start = rng.randrange(max(1, len(case.text) - 400))
        piece = case.text[start : start + rng.randint(20, 400)]
        out.append(piece + _glue(rng, case.specials) + rng.choice(MULTILINGUAL) + rng.choice(SPACES))
    out.append("".join(_glue(rng, case.specials) for _ in range(8)))
    return out
