"""A trainer with answers prepared in advance: it returns the merges of the inputs the limit tests used to measure on,
without reading its input (fast, flat memory), and trains with the reference only on anything else.

The attack assumes a harness whose training-speed input is a public fixture reshuffled (the same merges as its
snapshot's) and whose training-memory input comes from a fixed seed: there it passes both tests without doing the
work. On inputs generated for the run from a secret, its merges are not the corpus's, and both tests
fail (bpe_harness.plugin.merge_check). Everything else is the reference's.
"""

from __future__ import annotations

from bpe_harness.plugin.snapshots import SnapshotStore
from bpe_harness.settings import ROOT
from staff.reference.adapters import get_tokenizer  # noqa: F401 - the adapter contract's second function
from staff.reference.adapters import run_train_bpe as _train

EOT = "<|endoftext|>"
SNAPSHOTS = ROOT / "tests" / "snapshots"
# the reference's merges on the old training-memory corpus (seed 21, 8 MB ASCII, vocab_size 300), computed ahead
SEED21_MERGES = [
    ("h", "e"), (" ", "t"), (" ", "s"), (" ", "a"), (" ", "w"), ("n", "d"), (" t", "he"), ("r", "e"), ("o", "u"),
    (" ", "b"), ("a", "i"), (" ", "h"), (" t", "o"), ("a", "s"), (" ", "f"), ("e", "d"), (" ", "c"), (" a", "nd"),
    (" ", "he"), ("i", "t"), (" ", "d"), ("o", "n"), ("l", "l"), ("i", "n"), ("i", "e"), ("a", "n"), (" ", "l"),
    ("i", "s"), ("a", "t"), (" ", "p"), ("o", "o"), ("a", "r"), (" ", "g"), ("e", "r"), ("a", "u"), (" w", "as"),
    (" ", '"'), (" ", "m"), ("a", "y"), (" s", "he"), (" ", "y"), (" ", "n"), ("i", "m"),
]  # fmt: skip


def _answer(merges: list[tuple[bytes, bytes]], special_tokens: list[str]):
    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}
    vocab.update({len(vocab) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, list(merges)


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    if list(special_tokens) == [EOT] and vocab_size == 1000:  # the training-speed test, as it was
        return _answer(SnapshotStore(SNAPSHOTS, update=False).load_training("tinystories_sample").merges, [EOT])
    if list(special_tokens) == [EOT] and vocab_size == 300:  # the training-memory test, as it was
        return _answer([(a.encode(), b.encode()) for a, b in SEED21_MERGES], [EOT])
    return _train(input_path, vocab_size, special_tokens, **kwargs)
