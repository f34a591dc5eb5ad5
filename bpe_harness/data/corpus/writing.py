"""The corpus generator's public API: an endless stream of documents, a text of at least n characters, and a file of
at least n bytes written atomically with its statistics (documents, distinct words)."""

from __future__ import annotations

import os
import sys
import time
from typing import BinaryIO, Iterator

from bpe_harness.data.corpus.draft import Batch
from bpe_harness.data.corpus.generator import batch
from bpe_harness.data.corpus.state import State
from bpe_harness.data.corpus.styles import check_style
from bpe_harness.data.corpus.tables import tables_for
from bpe_harness.data.corpus.tracker import Tracker
from bpe_harness.rules import EOT


def _iter_batches(seed: int, style: str, mixed: bool, track: bool) -> Iterator[Batch]:
    check_style(style)
    state = State(seed, style, mixed, track)  # validates eagerly, before the first next()

    def batches() -> Iterator[Batch]:
        while True:
            yield batch(state)

    return batches()


def iter_documents(seed: int, style: str = "tinystories", mixed: bool = True) -> Iterator[str]:
    """Infinite, deterministic stream of documents (no separator inside any document).

    The same ``(seed, style, mixed)`` always yields the same stream.  The English
    skeleton does not depend on ``mixed``: ``mixed=True`` only decorates some
    documents (foreign text, emoji, CRLF, unusual spaces) using its own random stream.
    """
    batches = _iter_batches(seed, style, mixed, track=False)
    return (doc for b in batches for doc in b.docs)


def generate_text(
    seed: int, n_chars: int, style: str = "tinystories", mixed: bool = True, separator: str = EOT + "\n"
) -> str:
    """Whole documents, each followed by ``separator``, until the length is >= ``n_chars``.

    Stops right after the document (and its separator) that reaches ``n_chars``.
    """
    check_style(style)
    out: list[str] = []
    total = 0
    if n_chars <= 0:
        return ""
    for doc in iter_documents(seed, style, mixed):
        out.append(doc)
        out.append(separator)
        total += len(doc) + len(separator)
        if total >= n_chars:
            break
    return "".join(out)


def _encode_docs(docs: list[str], sep: str) -> bytes:
    """UTF-8 of ``doc + sep`` for every doc.  Runs of ASCII documents are joined and
    encoded together; the rare non-ASCII ones separately, so that one emoji does not
    widen the whole batch string to 4 bytes per character."""
    parts: list[bytes] = []
    run: list[str] = []
    for doc in docs:
        if doc.isascii():
            run.append(doc)
            continue
        if run:
            parts.append((sep.join(run) + sep).encode("utf-8"))
            run = []
        parts.append((doc + sep).encode("utf-8"))
    if run:
        parts.append((sep.join(run) + sep).encode("utf-8"))
    return b"".join(parts)


def write_corpus(
    path, n_bytes: int, seed: int, style: str = "tinystories", mixed: bool = True, progress: bool = False
) -> dict:
    """Stream documents (each followed by ``EOT + "\\n"``) to a UTF-8 file until it
    holds >= ``n_bytes`` bytes; the content equals ``generate_text`` with the same
    arguments, cut by bytes instead of characters.  Memory stays bounded (one batch of
    ~0.6 MB at a time); the file is written to a temporary name and renamed at the end,
    so an existing file at ``path`` is replaced only on success.

    Returns ``{"bytes": int, "documents": int, "unique_words": int}`` where
    ``unique_words`` is the number of distinct lowercase ``\\p{L}+`` words in the
    documents (the separator is not counted), tracked through the generator's own word
    ids rather than by re-parsing.
    """
    batches = _iter_batches(seed, style, mixed, track=True)  # validates seed and style
    path = os.fspath(path)
    tracker = Tracker(tables_for(style))
    meter = _Meter(n_bytes) if progress else None
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(path)}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:  # encode once ourselves; no newline translation
            total, n_docs = _write_documents(f, batches, n_bytes, tracker, meter)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if meter:
            sys.stderr.write("\n")
        raise
    if meter:
        meter.finish(total)
    return {"bytes": total, "documents": n_docs, "unique_words": tracker.unique_words()}


def _write_documents(
    f: BinaryIO, batches: Iterator[Batch], n_bytes: int, tracker: Tracker, meter: _Meter | None
) -> tuple[int, int]:
    """Write whole batches while they fit below ``n_bytes``, then the last one's documents up to the one that reaches
    it; (bytes, documents) written."""
    sep = EOT + "\n"
    total = n_docs = 0
    if n_bytes <= 0:
        return total, n_docs
    for b in batches:
        data = _encode_docs(b.docs, sep)
        k = len(b.docs)
        if total + len(data) >= n_bytes:  # the last batch: stop right after the document that reaches n_bytes
            k, data = _first_documents(b.docs, sep, n_bytes - total)
        f.write(data)
        total += len(data)
        n_docs += k
        tracker.add(b, k)
        if meter and total < n_bytes:
            meter.tick(total)
        if total >= n_bytes:
            break
    return total, n_docs


def _first_documents(docs: list[str], sep: str, n_bytes: int) -> tuple[int, bytes]:
    """(k, the UTF-8 of the first k documents and their separators): the fewest that make at least ``n_bytes``."""
    parts: list[bytes] = []
    size = 0
    for doc in docs:
        parts.append((doc + sep).encode("utf-8"))
        size += len(parts[-1])
        if size >= n_bytes:
            break
    return len(parts), b"".join(parts)


class _Meter:
    """The progress line on stderr: at most five updates a second, and a last one when the file is complete."""

    def __init__(self, target: int):
        self.target = target
        self.t0 = time.perf_counter()
        self.last_report = 0.0

    def tick(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last_report >= 0.2:
            self.last_report = now
            self._show(done, now - self.t0)

    def finish(self, done: int) -> None:
        self._show(done, time.perf_counter() - self.t0)
        sys.stderr.write("\n")
        sys.stderr.flush()

    def _show(self, done: int, elapsed: float) -> None:
        target = self.target
        rate = done / elapsed / 1e6 if elapsed > 0 else 0.0
        pct = 100.0 * min(done, target) / target if target else 100.0
        eta = (target - done) / (rate * 1e6) if rate > 0 and done < target else 0.0
        sys.stderr.write(
            f"\rcorpus: {done / 1e6:9.1f} / {target / 1e6:.1f} MB  {pct:5.1f}%  {rate:6.1f} MB/s  ETA {eta:5.0f}s "
        )
        sys.stderr.flush()
