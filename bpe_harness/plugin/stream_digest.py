"""The ids a correct encode_iterable must produce for a generated corpus, kept as digests, and the message that
says where a streamed result first differs.

The expected ids are tiktoken's for the whole file (specials allowed), reduced to a count, a sha256 and one digest
per block of ids (bpe_harness.protocol.BLOCK), computed once per run for the corpus generated for it. The worker
digests the ids it streams the same way and keeps only the first block that differs, so a 16 MB stream is compared
without holding its ids; a mismatch is shown in that block, with the `>>id<<` rendering of plugin/divergence.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bpe_harness.plugin.divergence import SHOW, first_divergence, show_ids
from bpe_harness.plugin.generated_inputs import FreshCorpus, read_exact_text
from bpe_harness.protocol import BLOCK, block_digests, pack_ids

__all__ = ["ExpectedStream", "assert_stream_equal", "expected_ids"]


@dataclass(frozen=True)
class ExpectedStream:
    """The ids a correct encode_iterable must produce for a corpus, as digests (computed here, with tiktoken)."""

    count: int
    sha256: str
    head: list[int]
    blocks: list[str]

    @classmethod
    def of(cls, source: FreshCorpus, encoding, special_tokens: list[str]) -> ExpectedStream:
        def compute() -> ExpectedStream:
            allowed = set(special_tokens)
            ids = source.repeated(lambda text: encoding.encode(text, allowed_special=allowed))
            return cls(len(ids), hashlib.sha256(pack_ids(ids)).hexdigest(), ids[:16], block_digests(ids))

        return source.memo(f"expected-ids:{encoding.name}:{id(encoding)}:" + "\0".join(special_tokens), compute)


def expected_ids(path: Path, encoding, special_tokens: list[str]) -> list[int]:
    """tiktoken's ids for the whole file (specials allowed): the ground truth encode_iterable is compared with."""
    text = read_exact_text(path)
    return encoding.encode(text, allowed_special=set(special_tokens))


def assert_stream_equal(got, expected: ExpectedStream, path: Path, encoding, special_tokens, vocab) -> None:
    """The streamed ids are the expected ones; otherwise say where the first wrong id is, in ids and in the text."""
    __tracebackhide__ = True
    if got.count == expected.count and got.sha256 == expected.sha256:
        return
    raise AssertionError(_stream_mismatch(got, expected, path, encoding, special_tokens, vocab))


def _stream_mismatch(got, expected: ExpectedStream, path: Path, encoding, special_tokens, vocab) -> str:
    if got.first_bad is None:
        return (
            f"encode_iterable produced {got.count:,} ids (sha256 {got.sha256[:16]}...), expected "
            f"{expected.count:,} (sha256 {expected.sha256[:16]}...)"
        )
    block, actual = got.first_bad
    ids = expected_ids(path, encoding, special_tokens)
    start = block * BLOCK
    wanted = ids[start : start + BLOCK]
    i = first_divergence(actual, wanted)
    i = 0 if i is None else i
    lo, hi = max(0, i - SHOW), i + SHOW + 1
    context = b"".join(vocab.get(t, b"") for t in wanted[max(0, i - 12) : i + 12]).decode("utf-8", "replace")
    return (
        f"encode_iterable produced {got.count:,} ids, expected {expected.count:,} (tiktoken, same vocab); the first "
        f"difference is at id #{start + i:,}, in this text: {context!r}\n"
        f"  expected: {show_ids(wanted, lo, hi, i, vocab)}\n  got:      {show_ids(actual, lo, hi, i, vocab)}\n"
        "Streaming must give exactly encode(''.join(chunks)): a cut between chunks must not change pre-tokenization "
        "(a run of whitespace, for example, splits differently when text follows it)."
    )
