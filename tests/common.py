"""What the graded tests share: fixture paths, the tokenizer vocabularies they use, and the expected ids.

"tinystories" is the kit's tokenizer vocab: the reference's training on tinystories_sample (tests/snapshots), the
vocab and merges most tokenizer tests give get_tokenizer. Everything here is computed in the test process from the
kit's data and tiktoken; nothing here runs the implementation under test (tests do that through the
`run_train_bpe` and `get_tokenizer` fixtures, which call it in its worker process).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import NamedTuple

from bpe_harness.data.encodings import encoding_for_vocab, get_encoding, vocab_and_merges
from bpe_harness.plugin.divergence import assert_ids_equal
from bpe_harness.plugin.snapshots import SnapshotStore, TrainingSnapshot
from bpe_harness.rules import EOT, GPT2_PATTERN, split_on_specials, vocab_layout

FIXTURES = Path(__file__).parent / "fixtures"
CORPORA = FIXTURES / "corpora"
SAMPLES = FIXTURES / "samples"
SNAPSHOTS = Path(__file__).parent / "snapshots"
TINYSTORIES = "tinystories_sample"  # the training snapshot whose vocab and merges the tokenizer tests use
STREAM_VOCAB = FIXTURES / "stream_vocab.json"  # the stream tests' vocab: merges at every tricky boundary


def sample_path(name: str) -> Path:
    """A handwritten sample (fixtures/samples) or a generated corpus (fixtures/corpora), by name."""
    handwritten = SAMPLES / f"{name}.txt"
    return handwritten if handwritten.exists() else CORPORA / f"{name}.txt"


def read_sample(name: str) -> str:
    with open(sample_path(name), encoding="utf-8", newline="") as f:
        return f.read()


class Trained(NamedTuple):
    vocab: dict[int, bytes]
    merges: list[tuple[bytes, bytes]]


@cache
def tinystories() -> Trained:
    """The vocab and merges of the reference's training on tinystories_sample (vocab_size 1000, special
    <|endoftext|>): specials, bytes, then merges. The tokenizer tests use it."""
    snap = SnapshotStore(SNAPSHOTS, update=False).load_training(TINYSTORIES)
    return Trained(vocab_layout(snap.special_tokens, snap.merges), snap.merges)


@cache
def tinystories_tiktoken(special_tokens: tuple[str, ...] = (EOT,)):
    """tiktoken, set up to give exactly the ids a tokenizer with the tinystories vocab and these specials must give."""
    return encoding_for_vocab(TINYSTORIES, tinystories().vocab, GPT2_PATTERN, list(special_tokens))


def tinystories_tokenizer(get_tokenizer, special_tokens=(EOT,)):
    """The implementation's tokenizer for the tinystories vocab (special_tokens=(): none at all)."""
    vocab, merges = tinystories()
    return get_tokenizer(vocab, merges, list(special_tokens) or None)


def tinystories_ids(text: str, special_ids: dict[str, int]) -> list[int]:
    """The ids a correct tokenizer with the tinystories vocab gives `text` when its special tokens have the ids in
    `special_ids` (longest match first; a special missing from the vocab gets the id the tokenizer chose for it)."""
    plain, ids = tinystories_tiktoken(special_tokens=()), []
    for segment, is_special in split_on_specials(text, special_ids):
        ids += [special_ids[segment]] if is_special else plain.encode_ordinary(segment)
    return ids


def tinystories_id(token: bytes) -> int:
    """The id of `token` in the tinystories vocab."""
    return next(i for i, t in tinystories().vocab.items() if t == token)


def assert_tinystories_ids(actual, expected, text: str, what: str) -> None:
    """assert_ids_equal for a tokenizer with the tinystories vocab: a difference is shown as its tokens."""
    __tracebackhide__ = True
    assert_ids_equal(actual, expected, text, tinystories().vocab, what)


@cache
def stream_vocab() -> Trained:
    """The stream tests' vocab: the reference's training on corpora/stream_vocab.txt (vocab_size 1000,
    <|endoftext|>), a corpus full of whitespace runs of every kind, contractions, digit groups and special tokens, so
    a cut in the wrong place changes the ids (staff/tests/test_stream_vocab.py proves it)."""
    snap = TrainingSnapshot.parse(STREAM_VOCAB.read_text(encoding="utf-8"))
    return Trained(vocab_layout(snap.special_tokens, snap.merges), snap.merges)


@cache
def stream_tiktoken():
    """tiktoken over the stream vocab, no special tokens: the true ids of plain text."""
    return encoding_for_vocab("stream_vocab", stream_vocab().vocab, GPT2_PATTERN, [])


def stream_ids(text: str, special_ids: dict[str, int]) -> list[int]:
    """The ids a correct tokenizer with the stream vocab gives `text` when its special tokens have these ids."""
    plain, ids = stream_tiktoken(), []
    for segment, is_special in split_on_specials(text, special_ids):
        ids += [special_ids[segment]] if is_special else plain.encode_ordinary(segment)
    return ids


class Real(NamedTuple):
    vocab: dict[int, bytes]
    merges: list[tuple[bytes, bytes]]
    special_tokens: list[str]
    pattern: str


@cache
def real_vocab(name: str) -> Real:
    """The vocab, merges, special tokens and pattern of a real tiktoken encoding (o200k_base, cl100k_base, gpt2)."""
    vocab, merges, specials = vocab_and_merges(name)
    return Real(vocab, merges, list(specials), get_encoding(name)._pat_str)


def real_tokenizer(get_tokenizer, name: str):
    """The implementation's tokenizer for a real encoding (its own vocab, merges, specials and regex)."""
    vocab, merges, specials, pattern = real_vocab(name)
    return get_tokenizer(vocab, merges, specials, pattern=pattern)
