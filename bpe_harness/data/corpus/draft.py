"""A batch of documents while it is made: its skeleton (``Shape``: how many paragraphs, sentences and words each
document has, and which belongs to which), the text of every token (``Draft``), and the finished ``Batch``.

Text is built as one piece per token (a word and the separator after it), so each stage replaces or extends pieces
with vectorised numpy operations, and the documents are one ``join`` at the end."""

from __future__ import annotations

import numpy as np

from bpe_harness.data.corpus.draws import draw
from bpe_harness.data.corpus.state import State

DOC_END = "\x00"  # internal document delimiter, never emitted


class Batch:
    """Finished documents, with what the distinct-word counter (tracker.py) needs to know about their words."""

    __slots__ = ("docs", "doc_token_end", "ranks", "marks", "extras")

    def __init__(self, docs, doc_token_end, ranks, marks, extras):
        self.docs = docs  # list[str]
        self.doc_token_end = doc_token_end  # token end offset per doc (np.int64)
        self.ranks = ranks  # rank per token, -1 where the token is not a vocab word
        self.marks = marks  # list of (doc_idx array, word-id array)
        self.extras = extras  # list of (doc_idx, text) whose words are counted by regex


class Shape:
    """The batch's skeleton: counts drawn per document, paragraph and sentence, and the index maps between them
    (``sent_par``: the paragraph of each sentence, ``tok_doc``: the document of each token, ...)."""

    def __init__(self, state: State):
        params, rng = state.params, state.rng
        n_docs = self.n_docs = params.docs_per_batch
        paragraphs_per_doc = draw(rng, state.par_cum, n_docs) + params.par_min
        n_paragraphs = self.n_paragraphs = int(paragraphs_per_doc.sum())
        self.sentences_per_paragraph = draw(rng, state.sent_cum, n_paragraphs) + params.sent_min
        n_sentences = self.n_sentences = int(self.sentences_per_paragraph.sum())
        self.sentence_len = draw(rng, state.len_cum, n_sentences) + params.len_min
        n_tokens = self.n_tokens = int(self.sentence_len.sum())
        par_doc = np.repeat(np.arange(n_docs), paragraphs_per_doc)
        self.sent_par = np.repeat(np.arange(n_paragraphs), self.sentences_per_paragraph)
        self.sent_doc = par_doc[self.sent_par]
        sentence_end = np.cumsum(self.sentence_len)
        self.sentence_start = sentence_end - self.sentence_len
        self.sentence_last = sentence_end - 1
        self.par_last = np.ones(n_sentences, bool)
        self.par_last[:-1] = self.sent_par[1:] != self.sent_par[:-1]
        self.doc_last = np.ones(n_sentences, bool)
        self.doc_last[:-1] = self.sent_doc[1:] != self.sent_doc[:-1]
        self.doc_first = np.ones(n_sentences, bool)
        self.doc_first[1:] = self.doc_last[:-1]
        self.tok_sent = np.repeat(np.arange(n_sentences), self.sentence_len)
        self.tok_doc = self.sent_doc[self.tok_sent]
        self.doc_token_end = sentence_end[self.doc_last]
        self.first_tok = np.zeros(n_tokens, bool)
        self.first_tok[self.sentence_start] = True
        self.last_tok = np.zeros(n_tokens, bool)
        self.last_tok[self.sentence_last] = True


class Draft:
    """The batch's text, one piece per token, and the word bookkeeping gathered on the way.

    ``plain[i]`` says ``pieces[i]`` is still ``words[ranks[i]] + " "`` (stages that change a piece clear it), so the
    last stages can rebuild untouched pieces by vectorised concatenation. ``headline`` and ``listed`` mark sentences;
    ``cast`` holds each document's three recurring names (tinystories)."""

    def __init__(self, shape: Shape, ranks: np.ndarray, table_rank: np.ndarray, pieces: np.ndarray, plain: np.ndarray):
        self.shape = shape
        self.ranks = ranks
        self.table_rank = table_rank
        self.pieces = pieces
        self.plain = plain
        self.marks: list = []  # (doc index array, word-id array)
        self.extras: list = []  # (doc index, text whose \p{L}+ words are counted)
        self.rank_marks: list = []  # (doc index, table rank) of words used outside the token stream
        self.cast: np.ndarray | None = None
        self.headline = np.zeros(shape.n_sentences, bool)
        self.listed = np.zeros(shape.n_sentences, bool)

    def documents(self) -> list[str]:
        docs = "".join(self.pieces.tolist()).split(DOC_END)
        docs.pop()
        assert len(docs) == self.shape.n_docs
        return docs

    def finish(self, docs: list[str], first_word_id: np.ndarray) -> Batch:
        if self.rank_marks:
            rank_mark_array = np.array(self.rank_marks, dtype=np.int64)
            self.marks.append((rank_mark_array[:, 0], first_word_id[rank_mark_array[:, 1]]))
        return Batch(docs, self.shape.doc_token_end, self.ranks, self.marks, self.extras)
