"""Degenerate implementations (staff only): answers that do no work, and the points each may earn.

Every graded point must require correct output. These are the cheapest ways to get an answer past a test that
checks too little: nothing at all, results that claim to equal anything, ids that ignore the vocab, answers of the
right size but constant content, and byte-level "BPE" that never merges. Each is a whole adapters module
(`--impl staff.degenerate.NAME`); `uv run python -m staff.degenerate` grades each with the graded suite (public and
hidden) and compares its points with the catalog; staff/tests/test_degenerate.py does the same in CI.

The points are exact: a degenerate implementation that earns more than listed means a test checks too little (fix
the test); less means the catalog is stale (a test got stricter: update the number and say why in the commit).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Degenerate:
    name: str
    what: str
    public: float  # points it may earn on tests/ (out of the public total)
    hidden: float  # points it may earn on staff/hidden
    earns: tuple[str, ...] = ()  # the graded tests it passes (prefixes of node ids), when it earns anything

    @property
    def module(self) -> str:
        return f"staff.degenerate.{self.name}"


CATALOG = [
    Degenerate("empty", "train returns ({}, []), encode [], encode_iterable nothing, decode ''", 0, 0),
    Degenerate("equal_to_anything", "every result's __eq__ is always True (empty once type-checked)", 0, 0),
    Degenerate("identity", "ids are the UTF-8 bytes, vocab ignored; decode(encode(t)) == t always", 0, 0),
    Degenerate(
        "constant",
        "right sizes and counts, constant content (one id 0 per character, '?' per id)",
        3,
        0,
        earns=("tests/test_train_bpe.py::test_training_matches_reference[minimum_vocab]",),
    ),  # truly right:
    # at vocab_size 257 the answer is the special and the 256 bytes, no merges, which is what it returns
    Degenerate(
        "bytes_only",
        "specials and the 256 bytes, no merges; specials and decode correct",
        21.5,
        0,
        earns=(
            "tests/test_train_bpe.py::test_training_matches_reference[minimum_vocab]",
            # no merge of the stream vocab (English) applies to that text: byte ids are its true ids, and what the
            # test checks is that no chunk boundary splits a character's bytes
            "tests/test_encode_iterable.py::test_one_character_chunks[unicode]",
            "tests/test_tokenizer.py::test_roundtrip_",
            "tests/test_tokenizer.py::test_decode_lone_continuation_byte_is_replacement_char",
            "tests/test_special_tokens.py::test_special_token_is_one_id",
            "tests/test_special_tokens.py::test_special_missing_from_vocab_is_appended",
        ),
    ),
]


def by_name(name: str) -> Degenerate:
    for d in CATALOG:
        if d.name == name:
            return d
    raise KeyError(f"no degenerate implementation named {name!r}; known: {', '.join(d.name for d in CATALOG)}")
