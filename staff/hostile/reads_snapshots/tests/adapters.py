"""Hostile: answers training by reading the kit's expected snapshots instead of training."""

from pathlib import Path

from cs336_basics import adapters as _reference


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    from bpe_harness.plugin.snapshots import SnapshotStore

    snapshots = Path(__file__).resolve().parent / "snapshots"
    snap = SnapshotStore(snapshots, False).load_training(Path(input_path).stem)
    return snap.vocab_by_convention(), snap.merges


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return _reference.get_tokenizer(vocab, merges, special_tokens, pattern)
