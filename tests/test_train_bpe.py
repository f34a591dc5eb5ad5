"""BPE training: exact merges (in order) and vocab, compared with snapshots of the reference's output."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bpe_harness.plugin.divergence import assert_merges_equal, assert_vocab_built_from, assert_vocab_matches, explained
from bpe_harness.plugin.snapshots import TrainingSnapshot
from tests.common import CORPORA, EOT, FIXTURES

MULTI_SPECIALS = ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|pad|>"]


@dataclass
class Case:
    name: str
    corpus: str
    vocab_size: int
    special_tokens: list[str] = field(default_factory=lambda: [EOT])
    why: str = ""


CASES = [
    Case("tinystories_sample", "corpora/tinystories_sample.txt", 1000, why="English stories, <|endoftext|> between"),
    Case("webtext_sample", "corpora/webtext_sample.txt", 1500, why="diverse text: numbers, URLs, code, scripts"),
    Case("multilingual", "samples/multilingual.txt", 557, why="many scripts: \\p{L} is not [a-zA-Z]; partial UTF-8"),
    Case("multi_special", "corpora/multi_special.txt", 600, MULTI_SPECIALS, why="specials adjacent, at both ends"),
    Case("blank_lines", "corpora/blank_lines.txt", 500, why="blank-line runs: pre-tokenize the text, not lines"),
    Case("ties_bytes_not_unicode", "corpora/ties_bytes_not_unicode.txt", 259, why="ties compare bytes, not unicode"),
    Case("ties_tuple_not_concat", "corpora/ties_tuple_not_concat.txt", 260, why="ties compare (a, b), not a+b"),
    Case("ties_greatest_not_first", "corpora/ties_greatest_not_first.txt", 262, why="ties pick the greatest pair"),
    Case("minimum_vocab", "corpora/tinystories_sample.txt", 257, why="vocab_size = 256 + 1 special: no merges"),
]


@pytest.mark.points(3)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_training_matches_reference(run_train_bpe, snapshots, case):
    path = FIXTURES / case.corpus
    vocab, merges = run_train_bpe(path, case.vocab_size, case.special_tokens)
    produced = TrainingSnapshot.from_training(case.corpus, case.vocab_size, case.special_tokens, vocab, merges)
    expected = snapshots.training(case.name, produced)
    with explained(f"case {case.name}: {case.why}"):
        assert_merges_equal(merges, expected.merges, path, case.special_tokens)
        assert_vocab_matches(vocab, expected.vocab_tokens, case.vocab_size)


@pytest.mark.points(3)
def test_vocab_has_specials_and_every_byte(run_train_bpe):
    vocab, merges = run_train_bpe(CORPORA / "multi_special.txt", 300, MULTI_SPECIALS)
    tokens = set(vocab.values())
    missing = [s for s in MULTI_SPECIALS if s.encode() not in tokens]
    assert not missing, f"special tokens missing from the vocab: {missing}"
    missing_bytes = [b for b in range(256) if bytes([b]) not in tokens]
    assert not missing_bytes, (
        f"single-byte tokens missing from the vocab, e.g. {[bytes([b]) for b in missing_bytes[:5]]}"
    )
    assert_vocab_built_from(vocab, merges, MULTI_SPECIALS, 300)


@pytest.mark.points(3)
def test_no_token_spans_a_special(run_train_bpe):
    """Specials are removed before counting, so no learned token holds a piece of one (the corpus has no other '<|')."""
    vocab, merges = run_train_bpe(CORPORA / "multi_special.txt", 600, MULTI_SPECIALS)
    assert_vocab_built_from(vocab, merges, MULTI_SPECIALS, 600)  # an empty or made-up vocab has no leaks either
    specials = {s.encode() for s in MULTI_SPECIALS}
    leaked = sorted(t for t in vocab.values() if t not in specials and (b"<|" in t or b"|>" in t))
    assert not leaked, (
        f"learned tokens contain pieces of special tokens, e.g. {leaked[:5]}: split the text on special tokens "
        "and count pairs only inside the pieces between them"
    )
