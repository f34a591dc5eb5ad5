"""Test inputs shared by the graded tests: fixture paths, and tokenizers built once per run.

Tokenizers are built inside the test that first asks for one (not in a fixture), so an unimplemented or crashing
tokenizer fails that test with its own message instead of erroring during setup.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bpe_harness.compare import GPT2_PATTERN
from bpe_harness.encodings import encoding_for_vocab, get_encoding, vocab_and_merges
from bpe_harness.snapshots import SnapshotStore

FIXTURES = Path(__file__).parent / "fixtures"
CORPORA = FIXTURES / "corpora"
SAMPLES = FIXTURES / "samples"
EOT = "<|endoftext|>"
OWN_VOCAB = "tinystories_sample"  # training snapshot whose merges the tokenizer tests use


def sample_path(name: str) -> Path:
    """A handwritten sample (fixtures/samples) or a generated corpus (fixtures/corpora), by name."""
    handwritten = SAMPLES / f"{name}.txt"
    return handwritten if handwritten.exists() else CORPORA / f"{name}.txt"


def read_sample(name: str) -> str:
    with open(sample_path(name), encoding="utf-8", newline="") as f:
        return f.read()


class Tokenizers:
    """Builds each tokenizer the first time a test asks, then reuses it (one construction per vocab per run)."""

    def __init__(self, impl, snapshots: SnapshotStore):
        self.impl, self.snapshots, self._built = impl, snapshots, {}

    def own_vocab(self):
        """(vocab, merges) from the reference's training on tinystories_sample, ids in merge order."""
        snap = self.snapshots.load_training(OWN_VOCAB)
        return snap.vocab_by_convention(), snap.merges

    def own(self, special_tokens=(EOT,)):
        key = ("own", tuple(special_tokens))
        if key not in self._built:
            vocab, merges = self.own_vocab()
            self._built[key] = self.impl.tokenizer(vocab, merges, list(special_tokens) or None)
        return self._built[key]

    def own_expected(self, special_tokens=(EOT,)):
        """tiktoken, set up to give the ids the own-vocab tokenizer must give."""
        vocab, _ = self.own_vocab()
        return encoding_for_vocab(OWN_VOCAB, vocab, GPT2_PATTERN, list(special_tokens))

    def real(self, name: str):
        if name not in self._built:
            vocab, merges, specials = vocab_and_merges(name)
            self._built[name] = self.impl.tokenizer(vocab, merges, list(specials), pattern=get_encoding(name)._pat_str)
        return self._built[name]


@pytest.fixture(scope="session")
def tokenizers(impl, snapshots) -> Tokenizers:
    return Tokenizers(impl, snapshots)
