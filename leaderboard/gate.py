"""The correctness gate before any timing: the implementation trains on the kit's generated corpora and must give
the committed snapshots' merges and vocab, and must encode held-out text to the ids tiktoken computes from a
snapshot's merges. The comparisons are the graded suite's own (`bpe_harness.plugin.divergence`), so a refusal reads
like a failing graded test and names it."""

from __future__ import annotations

import hashlib

from bpe_harness.client import Client
from bpe_harness.data.encodings import encoding_for_vocab
from bpe_harness.plugin.divergence import assert_ids_equal, assert_merges_equal, assert_text_equal, assert_vocab_matches
from bpe_harness.plugin.snapshots import SnapshotStore
from bpe_harness.protocol import pack_ids
from bpe_harness.rules import EOT, GPT2_PATTERN
from bpe_harness.settings import ROOT
from bpe_harness.tools.progress import ProgressLine
from leaderboard.calls import call
from leaderboard.errors import GateFailure
from leaderboard.inputs import Spec

FIXTURES = ROOT / "tests" / "fixtures"
SNAPSHOTS = ROOT / "tests" / "snapshots"

# Gate cases: cases of tests/test_train_bpe.py named by their snapshot, which records the case itself (corpus under
# tests/fixtures, vocab_size, special tokens) next to the expected answer: nothing of a case is written twice.
GATE_TRAINING = (
    "tinystories_sample",
    "webtext_sample",
    "ties_bytes_not_unicode",
    "ties_tuple_not_concat",
    "ties_greatest_not_first",
)
GATE_ENCODE = ("tinystories_sample", "corpora/held_out.txt")  # (snapshot whose merges give the vocab, text)


def gate(impl: Client, spec: Spec, progress: ProgressLine) -> list[str]:
    """Correctness on the kit's own inputs; GateFailure with the graded suite's message on the first problem. The
    names of the checks passed."""
    store = SnapshotStore(SNAPSHOTS, update=False)
    passed = [_gate_training(impl, spec, progress, store, name) for name in GATE_TRAINING]
    return passed + _gate_encoding(impl, spec, progress, store)


def _gate_training(impl: Client, spec: Spec, progress: ProgressLine, store: SnapshotStore, name: str) -> str:
    progress.step(f"gate: train {name}")
    expected = store.load_training(name)
    corpus, vocab_size, specials = expected.corpus, expected.vocab_size, list(expected.special_tokens)
    vocab, merges = call(f"run_train_bpe() on {corpus}", impl.train, FIXTURES / corpus, vocab_size, specials, spec=spec)
    try:
        assert_merges_equal(merges, expected.merges, FIXTURES / corpus, specials)
        assert_vocab_matches(vocab, expected.vocab_tokens, vocab_size)
    except AssertionError as e:
        raise GateFailure(
            f"training on {corpus} (vocab_size={vocab_size}) is not right:\n{e}\n"
            f"(the graded test: uv run pytest 'tests/test_train_bpe.py::"
            f"test_training_matches_reference[{name}]')"
        ) from None
    return f"train:{name}"


def _gate_encoding(impl: Client, spec: Spec, progress: ProgressLine, store: SnapshotStore) -> list[str]:
    snap_name, text_file = GATE_ENCODE
    progress.step("gate: encode held-out text")
    snap = store.load_training(snap_name)
    vocab = snap.vocab_by_convention()
    with open(FIXTURES / text_file, encoding="utf-8", newline="") as f:
        text = f.read()
    expected = encoding_for_vocab("gate", vocab, GPT2_PATTERN, [EOT]).encode(text, allowed_special="all")
    tok = call("get_tokenizer()", impl.tokenizer, vocab, snap.merges, [EOT], spec=spec)
    ids = call(f"encode() of {text_file}", tok.encode, text, spec=spec)
    back = call("decode()", tok.decode, ids, spec=spec)
    summary = call(f"encode_iterable(open({text_file}))", tok.encode_iterable_file, FIXTURES / text_file, spec=spec)
    try:
        assert_ids_equal(ids, expected, text, vocab, f"encode() of {text_file}")
        assert_text_equal(back, text, "decode(encode(text))")
        if summary.sha256 != hashlib.sha256(pack_ids(expected)).hexdigest():
            raise AssertionError(
                f"encode_iterable(open({text_file})) yielded {summary.count} ids, not the "
                f"{len(expected)} ids of encode(whole text) (first ids: {summary.head[:8]})"
            )
    except AssertionError as e:
        raise GateFailure(
            f"encoding is not right:\n{e}\n(the graded tests: uv run pytest tests/test_tokenizer.py "
            "tests/test_encode_iterable.py)"
        ) from None
    return ["encode:held_out", "decode:held_out", "encode_iterable:held_out"]
