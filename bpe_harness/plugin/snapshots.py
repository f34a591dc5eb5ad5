"""Readable, diffable snapshots of expected training output (JSON, one merge or token per line; never pickle).

A token is written as a JSON string when its bytes are valid UTF-8 (so ' the' reads as " the"), and as
{"hex": "e4bd"} when they are not (a partial multi-byte character). Both forms are lossless.

Snapshots are written only from the reference (`--impl reference --snapshot-update`); the graded tests read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bpe_harness.data.vocab_io import token_from_json, token_to_json


def _line(value) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass
class TrainingSnapshot:
    """What training on one corpus must produce: merges in order and the vocab as a multiset of tokens."""

    corpus: str
    vocab_size: int
    special_tokens: list[str]
    merges: list[tuple[bytes, bytes]]
    vocab_tokens: list[bytes]  # sorted

    def render(self) -> str:
        header = {"corpus": self.corpus, "vocab_size": self.vocab_size, "special_tokens": self.special_tokens}
        lines = ["{"]
        lines += [f"  {_line(k)}: {_line(v)}," for k, v in header.items()]
        merges = [_line([token_to_json(a), token_to_json(b)]) for a, b in self.merges]
        lines.append('  "merges": [' + ("" if merges else "],"))
        if merges:
            lines += [f"    {m}," for m in merges[:-1]] + [f"    {merges[-1]}", "  ],"]
        vocab = [_line(token_to_json(t)) for t in self.vocab_tokens]
        lines.append('  "vocab": [')
        lines += [f"    {v}," for v in vocab[:-1]] + [f"    {vocab[-1]}", "  ]", "}"]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> TrainingSnapshot:
        data = json.loads(text)
        return cls(
            corpus=data["corpus"],
            vocab_size=data["vocab_size"],
            special_tokens=data["special_tokens"],
            merges=[(token_from_json(a), token_from_json(b)) for a, b in data["merges"]],
            vocab_tokens=[token_from_json(t) for t in data["vocab"]],
        )

    @classmethod
    def from_training(cls, corpus: str, vocab_size: int, special_tokens, vocab, merges) -> TrainingSnapshot:
        return cls(corpus, vocab_size, list(special_tokens), list(merges), sorted(vocab.values()))

    def vocab_by_convention(self) -> dict[int, bytes]:
        """An id assignment for tokenizer tests: special tokens, then the 256 bytes, then one id per merge."""
        from bpe_harness.rules import vocab_layout

        return vocab_layout(self.special_tokens, self.merges)


class SnapshotStore:
    def __init__(self, directory: Path, update: bool):
        self.directory = Path(directory)
        self.update = update

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def load_training(self, name: str) -> TrainingSnapshot:
        path = self.path(name)
        if not path.exists():
            raise FileNotFoundError(
                f"snapshot {path} is missing; staff rebuild it with `uv run pytest --impl reference --snapshot-update`"
            )
        return TrainingSnapshot.parse(path.read_text(encoding="utf-8"))

    def training(self, name: str, produced: TrainingSnapshot) -> TrainingSnapshot:
        """The expected snapshot; in update mode, `produced` is written first and becomes the expectation."""
        if self.update:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.path(name).write_text(produced.render(), encoding="utf-8")
        return self.load_training(name)
