"""The reference at scale: parallel pre-tokenization gives the same result for any worker count, and
bpe_harness.tools.encode_corpus writes exactly tokenizer.encode(text) as a .npy, in parallel and streamed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bpe_harness.rules import EOT
from bpe_harness.settings import ROOT
from bpe_harness.tools import encode_corpus
from staff.reference import train as reference_train
from staff.reference.tokenizer import Tokenizer, save_vocab_and_merges

CORPORA = ROOT / "tests" / "fixtures" / "corpora"


def _read_exact(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


@pytest.fixture(scope="module")
def trained():
    return reference_train.train_bpe(CORPORA / "tinystories_sample.txt", 600, [EOT])


def test_training_identical_for_any_worker_count(monkeypatch):
    """A small fixture forced through the chunked, multi-process path (PARALLEL_MIN_BYTES=0): 1, 2 and 3 workers
    must give the serial result, merges and vocab alike (the fixture has CRLF documents: newlines must be read the
    same way in both paths)."""
    corpus = CORPORA / "tinystories_sample.txt"
    serial = reference_train.train_bpe(corpus, 700, [EOT])
    monkeypatch.setattr(reference_train, "PARALLEL_MIN_BYTES", 0)
    chunks = reference_train.chunk_boundaries(str(corpus), [EOT], 12)
    assert len(chunks) > 5, "the fixture must really be cut into several chunks"
    for workers in (1, 2, 3):
        vocab, merges = reference_train.train_bpe(corpus, 700, [EOT], num_workers=workers)
        assert merges == serial[1], f"merges differ with num_workers={workers}"
        assert vocab == serial[0], f"vocab differs with num_workers={workers}"


def test_chunk_boundaries_start_at_special_tokens():
    corpus = CORPORA / "documents.txt"
    data = corpus.read_bytes()
    bounds = reference_train.chunk_boundaries(str(corpus), [EOT], 10)
    assert bounds[0] == 0 and bounds[-1] == len(data) and bounds == sorted(set(bounds))
    assert all(data.startswith(EOT.encode(), b) for b in bounds[1:-1])


def test_progress_bar_goes_to_stderr(capsys):
    reference_train.train_bpe(CORPORA / "ties_tuple_not_concat.txt", 270, [EOT], progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "merge" in captured.err


@pytest.mark.parametrize("workers", [1, 2])
def test_encode_corpus_equals_encode(tmp_path, trained, workers):
    vocab, merges = trained
    vocab_path, merges_path = tmp_path / "vocab.json", tmp_path / "merges.json"
    save_vocab_and_merges(vocab, merges, vocab_path, merges_path)
    corpus = CORPORA / "webtext_sample.txt"  # mixed text: CRLF, non-ASCII, many documents
    out = tmp_path / "ids.npy"
    stats = encode_corpus.encode_file(
        corpus, out, vocab_path, merges_path, [EOT], impl="reference", workers=workers, chunk_bytes=16 << 10
    )
    assert stats["chunks"] > 4
    ids = np.load(out)
    assert ids.dtype == np.uint16
    text = _read_exact(corpus)
    assert ids.tolist() == Tokenizer(vocab, merges, [EOT]).encode(text)
    with pytest.raises(FileExistsError):
        encode_corpus.encode_file(corpus, out, vocab_path, merges_path, [EOT], impl="reference")


def test_encode_corpus_cli_without_specials_streams(tmp_path, trained):
    """No special token to cut at: one process, encode_iterable; still exactly encode(text)."""
    vocab, merges = trained
    vocab_path, merges_path = tmp_path / "vocab.json", tmp_path / "merges.json"
    save_vocab_and_merges(vocab, merges, vocab_path, merges_path)
    corpus, out = CORPORA / "blank_lines.txt", tmp_path / "ids.npy"
    argv = [
        str(corpus),
        str(out),
        "--vocab",
        str(vocab_path),
        "--merges",
        str(merges_path),
        "--impl",
        "reference",
        "--chunk-mb",
        "0.01",
        "--quiet",
    ]
    assert encode_corpus.main(argv) == 0
    expected = Tokenizer(vocab, merges).encode(_read_exact(corpus))
    assert np.load(out).tolist() == expected
    assert encode_corpus.main(argv) == 1, "must refuse to overwrite without --force"
    assert encode_corpus.main([*argv, "--force"]) == 0


def test_chunks_never_split_overlapping_specials(tmp_path):
    """With "<|a|>" and "<|a|><|a|>", a cut between the two halves of the longer token would change the ids."""
    path = tmp_path / "c.txt"
    path.write_text(("x" * 50 + "<|a|><|a|><|a|>") * 40, encoding="utf-8")
    data = path.read_bytes()
    specials = ["<|a|>", "<|a|><|a|>"]
    ranges = encode_corpus.special_token_chunks(path, specials, chunk_bytes=30)
    assert len(ranges) > 10
    for start, _ in ranges[1:]:
        assert data[start - 50 : start] == b"x" * 50, f"cut at {start} is inside a run of special tokens"


# Words written for this test: 2-, 3- and 4-byte UTF-8 characters, so a byte offset lands mid-character often.
_MULTIBYTE_WORDS = [
    "日本語",
    "の",
    "中文",
    "한국어",
    "Ελληνικά",
    "русский",
    "😀",
    "👍🏽",
    "café",
    "naïve",
    "hello",
    " world",
    "🇫🇷",
    "हिन्दी",
    "עברית",
    "a",
    "b",
]


def _multibyte_corpus(path: Path, docs: int = 600, seed: int = 0) -> Path:
    import random

    rng = random.Random(seed)
    texts = [" ".join(rng.choice(_MULTIBYTE_WORDS) for _ in range(rng.randint(1, 40))) for _ in range(docs)]
    path.write_bytes(EOT.join(texts).encode("utf-8"))
    return path


def test_chunking_exact_on_multibyte_text(tmp_path, monkeypatch):
    """Non-ASCII text larger than the chunk size, cut for 1-4 workers: every cut must be exactly where a special
    token starts (byte offsets, not offsets in text decoded from a block that began mid-character), and training
    must give the unchunked result."""
    corpus = _multibyte_corpus(tmp_path / "multibyte.txt")
    data = corpus.read_bytes()
    serial = reference_train.train_bpe(corpus, 400, [EOT])
    monkeypatch.setattr(reference_train, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(reference_train, "CHUNK_BYTES", 4096)
    assert len(data) > 10 * reference_train.CHUNK_BYTES
    bounds = reference_train.chunk_boundaries(str(corpus), [EOT], 16)
    assert len(bounds) > 10, "the corpus must really be cut into several chunks"
    off = [b for b in bounds[1:-1] if not data.startswith(EOT.encode(), b)]
    assert not off, (
        f"{len(off)} of {len(bounds) - 2} cuts are not at a special token; first at byte {off[0]}: "
        f"{data[off[0] - 8 : off[0] + 16]!r}"
    )
    for workers in (1, 2, 3, 4):
        vocab, merges = reference_train.train_bpe(corpus, 400, [EOT], num_workers=workers)
        first = next((i for i, (a, b) in enumerate(zip(merges, serial[1], strict=False)) if a != b), None)
        assert merges == serial[1], f"num_workers={workers}: merges differ from serial, first at index {first}"
        assert vocab == serial[0], f"vocab differs with num_workers={workers}"


def test_encode_corpus_chunks_exact_on_multibyte_text(tmp_path):
    """encode_corpus cuts by searching bytes too: on non-ASCII text every range starts at a special token."""
    corpus = _multibyte_corpus(tmp_path / "multibyte.txt")
    data = corpus.read_bytes()
    ranges = encode_corpus.special_token_chunks(corpus, [EOT], chunk_bytes=1000)
    assert len(ranges) > 20
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False)), "ranges must tile the file"
    off = [s for s, _ in ranges[1:] if not data.startswith(EOT.encode(), s)]
    assert not off, f"range starts not at a special token, first at byte {off[0]}: {data[off[0] - 8 : off[0] + 16]!r}"
