"""Byte-level BPE training. Write `train_bpe` here (README.md, "What to build")."""

from __future__ import annotations

import os


def train_bpe(
    input_path: str | os.PathLike,
    vocab_size: int,
    special_tokens: list[str],
    **kwargs,
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Train a byte-level BPE tokenizer on the UTF-8 text file at `input_path`.

    Returns (vocab, merges): vocab maps ids 0..vocab_size-1 to token bytes (special tokens, the 256 single bytes,
    one entry per merge); merges lists the merged pairs in the order they were made.
    """
    raise NotImplementedError("write train_bpe() in cs336_basics/train_bpe.py (see README.md, 'What to build')")
