"""What the graded tests share: fixture paths, the tokenizer vocabularies they use, and the expected ids.

Everything here is computed in the test process from the kit's own data and tiktoken; nothing here calls the
implementation under test (tests do that through the `impl` fixture).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bpe_harness.encodings import encoding_for_vocab, get_encoding, vocab_and_merges
from bpe_harness.rules import EOT, GPT2_PATTERN, split_on_specials, vocab_layout
from bpe_harness.snapshots import SnapshotStore

FIXTURES = Path(__file__).parent / "fixtures"
CORPORA = FIXTURES / "corpora"
SAMPLES = FIXTURES / "samples"
SNAPSHOTS = Path(__file__).parent / "snapshots"
OWN_VOCAB = "tinystories_sample"  # training snapshot whose merges the tokenizer tests use


def sample_path(name: str) -> Path:
    """A handwritten sample (fixtures/samples) or a generated corpus (fixtures/corpora), by name."""
    handwritten = SAMPLES / f"{name}.txt"
    return handwritten if handwritten.exists() else CORPORA / f"{name}.txt"


def read_sample(name: str) -> str:
    with open(sample_path(name), encoding="utf-8", newline="") as f:
        return f.read()


@cache
def own_vocab() -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """(vocab, merges) of the reference's training on tinystories_sample: specials, bytes, then merges."""
    snap = SnapshotStore(SNAPSHOTS, update=False).load_training(OWN_VOCAB)
    return vocab_layout(snap.special_tokens, snap.merges), snap.merges


@cache
def own_expected(special_tokens: tuple[str, ...] = (EOT,)):
    """tiktoken, set up to give exactly the ids a tokenizer with the own vocab and these specials must give."""
    vocab, _ = own_vocab()
    return encoding_for_vocab(OWN_VOCAB, vocab, GPT2_PATTERN, list(special_tokens))


@cache
def real_vocab(name: str) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]], list[str], str]:
    """(vocab, merges, special tokens, pattern) of a real tiktoken encoding (o200k_base, cl100k_base, gpt2)."""
    vocab, merges, specials = vocab_and_merges(name)
    return vocab, merges, list(specials), get_encoding(name)._pat_str


def real_tokenizer(impl, name: str):
    """The implementation's tokenizer for a real encoding (its own vocab, merges, specials and regex)."""
    vocab, merges, specials, pattern = real_vocab(name)
    return impl.tokenizer(vocab, merges, specials, pattern=pattern)


def own_tokenizer(impl, special_tokens=(EOT,)):
    """The implementation's tokenizer for the own vocab (None: no special tokens at all)."""
    vocab, merges = own_vocab()
    return impl.tokenizer(vocab, merges, list(special_tokens) or None)


def own_expected_ids(text: str, special_ids: dict[str, int]) -> list[int]:
    """The ids a correct tokenizer with the own vocab gives `text` when its special tokens have the ids in
    `special_ids` (longest match first; a special missing from the vocab gets the id the tokenizer chose for it)."""
    plain, ids = own_expected(special_tokens=()), []
    for segment, is_special in split_on_specials(text, special_ids):
        ids += [special_ids[segment]] if is_special else plain.encode_ordinary(segment)
    return ids


def own_id(token: bytes) -> int:
    """The id of `token` in the own vocab."""
    return next(i for i, t in own_vocab()[0].items() if t == token)
