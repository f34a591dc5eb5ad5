"""Counting the distinct words of a written corpus (``write_corpus``'s ``unique_words``) without re-parsing it: the
vocabulary ranks each batch drew and the word ids its stages marked, O(distinct words) memory."""

from __future__ import annotations

import numpy as np

from bpe_harness.data.corpus.draft import Batch
from bpe_harness.data.corpus.pseudo_words import pseudo_words
from bpe_harness.data.corpus.tables import TABLE_SIZE, WORD_RE, Tables

_TAIL_BITMAP = 1 << 24  # tail ranks below this are tracked in a bool array, above in a set


class Tracker:
    """Distinct-word bookkeeping for ``write_corpus``: O(distinct words) memory, no
    re-parsing of the text (vocabulary ranks and precomputed word ids)."""

    def __init__(self, tables: Tables):
        self.tables = tables
        self.seen_rank = np.zeros(TABLE_SIZE, bool)
        self.seen_word_id = np.zeros(1 << 12, bool)
        self.extra_words: set[str] = set()
        self.tail_low: np.ndarray | None = None  # bool[_TAIL_BITMAP], allocated on demand
        self.tail_high: set[int] = set()  # rare very deep ranks

    def _mark_word_ids(self, w: np.ndarray) -> None:
        if w.size == 0:
            return
        m = int(w.max()) + 1
        if m > self.seen_word_id.size:
            grown = np.zeros(max(m, 2 * self.seen_word_id.size), bool)
            grown[: self.seen_word_id.size] = self.seen_word_id
            self.seen_word_id = grown
        self.seen_word_id[w] = True

    def add(self, batch: Batch, n_docs: int) -> None:
        if n_docs <= 0:
            return
        n_tokens = int(batch.doc_token_end[n_docs - 1])
        r = batch.ranks[:n_tokens]
        r = r[r >= 0]
        head = r < TABLE_SIZE
        self.seen_rank[r[head]] = True
        t = r[~head]
        if t.size:
            if self.tail_low is None:
                self.tail_low = np.zeros(_TAIL_BITMAP, bool)
            low = t < _TAIL_BITMAP
            self.tail_low[t[low]] = True
            if not low.all():
                self.tail_high.update(t[~low].tolist())
        for dd, ww in batch.marks:
            self._mark_word_ids(ww[dd < n_docs])
        word_ids = self.tables.word_ids
        extra_ids = []
        for text in {t for d, t in batch.extras if d < n_docs}:  # order-free: only a count is kept
            for w in WORD_RE.findall(text):
                w = w.lower()
                i = word_ids.get(w)
                if i is None:
                    self.extra_words.add(w)
                else:
                    extra_ids.append(i)
        if extra_ids:
            self._mark_word_ids(np.array(extra_ids, dtype=np.int64))

    def unique_words(self) -> int:
        ids = [i for r in np.flatnonzero(self.seen_rank).tolist() for i in self.tables.parts[r]]
        tail = np.flatnonzero(self.tail_low) if self.tail_low is not None else np.zeros(0, np.int64)
        tail = np.concatenate([tail, np.array(sorted(self.tail_high), dtype=np.int64)])
        # Tail pseudo-words are distinct from each other (injective map) but may equal a
        # hand-written word or an extra word: resolve by string, in bounded chunks.
        word_ids, extra, tail_only = self.tables.word_ids, self.extra_words, 0
        off = self.tables.pseudo_offset - TABLE_SIZE
        for a in range(0, tail.size, 1 << 18):
            for w in pseudo_words(tail[a : a + (1 << 18)] + off).tolist():
                i = word_ids.get(w)
                if i is not None:
                    ids.append(i)
                elif w not in extra:
                    tail_only += 1
        self._mark_word_ids(np.array(ids, dtype=np.int64))
        return int(self.seen_word_id.sum()) + len(extra) + tail_only
