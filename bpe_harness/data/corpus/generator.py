"""One batch of documents, stage by stage. The stages run in this fixed order because each draws from the
generator's streams in turn: reordering them, or a draw inside them, changes every corpus (bump GENERATOR_VERSION)."""

from __future__ import annotations

from bpe_harness.data.corpus.decorations import decorate
from bpe_harness.data.corpus.draft import Batch, Shape
from bpe_harness.data.corpus.sentences import (
    close_sentences,
    headlines_and_lists,
    inner_punctuation,
    quotes,
    sentence_ends,
)
from bpe_harness.data.corpus.state import State
from bpe_harness.data.corpus.tokens import proper_nouns, token_kinds, vocabulary_words


def batch(state: State) -> Batch:
    """The next ``docs_per_batch`` documents of this generator's stream."""
    shape = Shape(state)  # documents -> paragraphs -> sentences -> tokens
    draft = vocabulary_words(state, shape)
    token_kinds(state, draft)  # names, numbers, URLs
    proper_nouns(state, draft)
    headlines_and_lists(state, draft)
    inner_punctuation(state, draft)
    ends = sentence_ends(state, draft)
    quotes(state, draft, ends)
    close_sentences(state, draft, ends)
    docs = draft.documents()
    decorate(state, draft, docs)  # openers, closers, code blocks, mixed segments
    return draft.finish(docs, state.tables.first_word_id)
