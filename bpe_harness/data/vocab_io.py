"""The kit's one reader and writer of a trained tokenizer on disk: vocab and merges as hex JSON, plus readable copies.

    vocab.json   {"0": "3c7c656e...", "1": "00", ...}   id -> hex of the token's bytes (hex keeps every byte exact)
    merges.json  [["20", "74"], ["6865", "6c6c6f"], ...] merges in creation order, each side as hex

These are the files `tools.encode_corpus` reads (--vocab/--merges) and `experiments train` writes. For people,
`write_readable` adds vocab.txt (`id<TAB>token`) and merges.txt (`left<TAB>right`), one per line, each token as a
JSON string when its bytes are valid UTF-8 and as {"hex": ...} when not (the snapshot convention): lossless,
greppable, and a space or newline inside a token stays visible (" the", "\\n").

Every file is written to a temporary name in the same directory and renamed into place, so a crash or a full disk
never leaves a half-written file under the real name.
"""

from __future__ import annotations

import json

from bpe_harness.files import write_atomically

Vocab = dict[int, bytes]
Merges = list[tuple[bytes, bytes]]


def token_to_json(token: bytes) -> str | dict[str, str]:
    """A token as JSON: a string when its bytes are valid UTF-8, else {"hex": ...} (lossless; the snapshots' form)."""
    try:
        return token.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": token.hex()}


def token_from_json(value: object) -> bytes:
    """The inverse of token_to_json; ValueError for anything else."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and set(value) == {"hex"}:
        return bytes.fromhex(value["hex"])
    raise ValueError(f"not a snapshot token: {value!r}")


class VocabFormatError(ValueError):
    """A vocab or merges file that is not in the kit's format (says which file and where)."""


def vocab_to_json(vocab: Vocab) -> str:
    return json.dumps({str(i): bytes(t).hex() for i, t in sorted(vocab.items())})


def merges_to_json(merges: Merges) -> str:
    return json.dumps([[bytes(a).hex(), bytes(b).hex()] for a, b in merges])


def save_vocab_and_merges(vocab: Vocab, merges: Merges, vocab_path, merges_path) -> None:
    """Write the two hex JSON files (atomically)."""
    write_atomically(vocab_path, vocab_to_json(vocab))
    write_atomically(merges_path, merges_to_json(merges))


def load_vocab(vocab_path) -> Vocab:
    data = _load_json(vocab_path)
    if not isinstance(data, dict):
        raise VocabFormatError(f"{vocab_path}: expected a JSON object {{id: hex}}, got {type(data).__name__}")
    vocab = {}
    for key, value in data.items():
        try:
            vocab[int(key)] = bytes.fromhex(value)
        except (ValueError, TypeError):
            raise VocabFormatError(f"{vocab_path}: entry {key!r}: {value!r} is not an id with a hex string") from None
    return vocab


def load_merges(merges_path) -> Merges:
    data = _load_json(merges_path)
    if not isinstance(data, list):
        raise VocabFormatError(f"{merges_path}: expected a JSON list [[hex, hex], ...], got {type(data).__name__}")
    merges = []
    for k, pair in enumerate(data):
        try:
            a, b = pair
            merges.append((bytes.fromhex(a), bytes.fromhex(b)))
        except (ValueError, TypeError):
            raise VocabFormatError(f"{merges_path}: merge {k}: {pair!r} is not a pair of hex strings") from None
    return merges


def load_vocab_and_merges(vocab_path, merges_path) -> tuple[Vocab, Merges]:
    return load_vocab(vocab_path), load_merges(merges_path)


def _load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except UnicodeDecodeError as e:
        raise VocabFormatError(f"{path}: not UTF-8 JSON ({e})") from None
    except json.JSONDecodeError as e:
        raise VocabFormatError(f"{path}: not valid JSON ({e})") from None


def token_text(token: bytes) -> str:
    """One token for people: a JSON string if its bytes are UTF-8, else {"hex": "..."}."""
    return json.dumps(token_to_json(bytes(token)), ensure_ascii=False)


def write_readable(vocab: Vocab, merges: Merges, vocab_txt, merges_txt) -> None:
    """vocab.txt (`id<TAB>token`) and merges.txt (`left<TAB>right`), one entry per line."""
    write_atomically(vocab_txt, "".join(f"{i}\t{token_text(t)}\n" for i, t in sorted(vocab.items())))
    write_atomically(merges_txt, "".join(f"{token_text(a)}\t{token_text(b)}\n" for a, b in merges))
