"""What the implementation returns, checked in the worker before it is sent back: exact types, ids in range, so a
wrong type fails with a sentence naming the call and the position instead of a strange diff in the test."""

from __future__ import annotations

from collections.abc import Iterable


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) or type(x).__module__ == "numpy" and hasattr(x, "__index__")


def _preview(x: object) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def check_ids(ids: object, where: str) -> list[int]:
    """`ids` as a list of ints in 0..2**32-1, or AssertionError naming what is wrong and where."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise AssertionError(f"{where} returned {type(ids).__name__} {_preview(ids)}; expected a list of int token ids")
    out = list(ids)
    for i, x in enumerate(out):
        if not _is_int(x):
            raise AssertionError(
                f"{where} returned a {type(x).__name__} at position {i} ({_preview(x)}); token ids must be ints"
            )
        if not 0 <= int(x) < 1 << 32:
            raise AssertionError(f"{where} returned {int(x)} at position {i}; token ids are in 0..2**32-1")
    return [int(x) for x in out]


def check_text(text: object, where: str) -> str:
    if type(text) is not str:
        raise AssertionError(f"{where} returned {type(text).__name__} {_preview(text)}; expected str")
    return text


def check_training_result(result: object) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """(vocab, merges) as exactly dict[int, bytes] and list[tuple[bytes, bytes]], or AssertionError saying why."""
    where = "run_train_bpe()"
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise AssertionError(f"{where} returned {type(result).__name__}; expected a (vocab, merges) pair")
    vocab, merges = result
    if not isinstance(vocab, dict):
        raise AssertionError(f"{where}: vocab is a {type(vocab).__name__}; expected dict[int, bytes]")
    checked_vocab = {}
    for k, v in vocab.items():
        if not _is_int(k) or not isinstance(v, bytes) or not 0 <= int(k) < 1 << 32:
            raise AssertionError(
                f"{where}: vocab entry {_preview(k)}: {_preview(v)} is ({type(k).__name__}, {type(v).__name__}); "
                "expected (int id, bytes token)"
            )
        checked_vocab[int(k)] = bytes(v)
    if isinstance(merges, (str, bytes)) or not isinstance(merges, Iterable):
        raise AssertionError(f"{where}: merges is a {type(merges).__name__}; expected list[tuple[bytes, bytes]]")
    checked = []
    for i, m in enumerate(merges):
        if not (isinstance(m, tuple | list) and len(m) == 2 and all(isinstance(p, bytes) for p in m)):
            raise AssertionError(f"{where}: merges[{i}] is {_preview(m)}; expected a (bytes, bytes) pair")
        checked.append((bytes(m[0]), bytes(m[1])))
    return checked_vocab, checked
