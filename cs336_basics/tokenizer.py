"""Encoding and decoding with a trained BPE vocabulary. Write the `Tokenizer` methods here (README.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def _todo(method: str) -> NotImplementedError:
    return NotImplementedError(
        f"write Tokenizer.{method}() in cs336_basics/tokenizer.py (see README.md, 'What to build')"
    )


class Tokenizer:
    def __init__(
        self,
        vocab: dict[int, bytes],
        merges: list[tuple[bytes, bytes]],
        special_tokens: list[str] | None = None,
        pattern: str | None = None,
    ):
        """Build a tokenizer from a vocab (id -> bytes), merges in creation order, optional special tokens, and an
        optional pre-tokenization regex (None means the GPT-2 pattern)."""
        raise _todo("__init__")

    @classmethod
    def from_files(cls, vocab_filepath: str, merges_filepath: str, special_tokens: list[str] | None = None):
        """Load a vocab and merges you saved after training (any format you choose) and build a Tokenizer."""
        raise _todo("from_files")

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`."""
        raise _todo("encode")

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        """Lazily yield the ids of "".join(iterable), reading the input a piece at a time (e.g. a file handle)."""
        raise _todo("encode_iterable")

    def decode(self, ids: list[int]) -> str:
        """Text of `ids`; byte sequences that are not valid UTF-8 become U+FFFD."""
        raise _todo("decode")
