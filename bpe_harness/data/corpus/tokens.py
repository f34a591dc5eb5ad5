"""The tokens of a batch: a vocabulary word for every token, capitalised at sentence starts; then the kinds of token
that replace some words (the cast's names, numbers, URLs) and the capitalised proper nouns."""

from __future__ import annotations

import numpy as np

from bpe_harness.data.corpus.draft import Draft, Shape
from bpe_harness.data.corpus.draws import cumulative, draw
from bpe_harness.data.corpus.fragments import url, web_number
from bpe_harness.data.corpus.pseudo_words import pseudo_words
from bpe_harness.data.corpus.state import State
from bpe_harness.data.corpus.tables import TABLE_SIZE, Tables, cap
from bpe_harness.data.corpus.word_lists import NAMES

_NO_DIGITS = str.maketrans("", "", "0123456789")


def vocabulary_words(state: State, shape: Shape) -> Draft:
    """A word drawn from the style's Zipf law for every token; sentence-initial words capitalised."""
    tables = state.tables
    ranks = tables.sample(state.rng, shape.n_tokens)
    table_rank = np.minimum(ranks, TABLE_SIZE - 1)
    pieces = tables.words_spaced[table_rank]
    pieces[shape.sentence_start] = tables.capitalized_spaced[table_rank[shape.sentence_start]]
    plain = ranks < TABLE_SIZE  # pieces[i] == words[ranks[i]] + " " (cleared when modified)
    plain[shape.sentence_start] = False
    tail = np.flatnonzero(ranks >= TABLE_SIZE)
    if tail.size:
        pieces[tail] = pseudo_words(ranks[tail] - TABLE_SIZE + tables.pseudo_offset) + " "
        ts = tail[shape.first_tok[tail]]
        pieces[ts] = [cap(p) for p in pieces[ts].tolist()]
    return Draft(shape, ranks, table_rank, pieces, plain)


def token_kinds(state: State, draft: Draft) -> None:
    """One uniform per token picks its kind: a name below ``p_name``, then a number, then a URL, else the word."""
    params = state.params
    kind_draw = state.rng.random(draft.shape.n_tokens)
    if params.p_name:
        _names(state, draft, kind_draw < params.p_name)
    lo = params.p_name
    if params.p_num:
        _numbers(state, draft, (kind_draw >= lo) & (kind_draw < lo + params.p_num))
    lo += params.p_num
    if params.p_url:
        shape = draft.shape
        _urls(state, draft, (kind_draw >= lo) & (kind_draw < lo + params.p_url) & ~shape.first_tok & ~shape.last_tok)


def _replaced(draft: Draft, chosen_tokens: np.ndarray) -> None:
    draft.ranks[chosen_tokens] = -1
    draft.plain[chosen_tokens] = False


def _names(state: State, draft: Draft, chosen: np.ndarray) -> None:
    """Each document's cast of three names (drawn 6:3:1), some possessive ("Tom's")."""
    rng, tables, tok_doc, n_docs = state.rng, state.tables, draft.shape.tok_doc, draft.shape.n_docs
    cast = draw(rng, np.arange(1, len(NAMES) + 1, dtype=np.float64), n_docs * 3).reshape(n_docs, 3)
    draft.cast = cast
    chosen_tokens = np.flatnonzero(chosen)
    pick = draw(rng, cumulative([6, 3, 1]), chosen_tokens.size)
    name_index = cast[tok_doc[chosen_tokens], pick]
    poss = rng.random(chosen_tokens.size) < state.params.p_poss
    draft.pieces[chosen_tokens] = np.where(
        poss, tables.possessive_names_spaced[name_index], tables.names_spaced[name_index]
    )
    _replaced(draft, chosen_tokens)
    draft.marks.append((tok_doc[chosen_tokens], tables.name_word_id[name_index]))
    if poss.any():
        possessive_docs = tok_doc[chosen_tokens[poss]]
        draft.marks.append((possessive_docs, np.full(possessive_docs.size, tables.s_word_id)))


def _numbers(state: State, draft: Draft, chosen: np.ndarray) -> None:
    """Small numbers (tinystories); small numbers, years and the rarer kinds of ``web_number`` (webtext)."""
    stream = state.stream
    chosen_tokens = np.flatnonzero(chosen)
    draws = stream.uniforms(2 * chosen_tokens.size).reshape(2, -1).tolist()
    if state.params.name == "tinystories":
        texts = [
            str(1 + int(v * 10)) if k < 0.7 else str(11 + int(v * 90)) if k < 0.92 else str(100 + int(v * 1900))
            for k, v in zip(*draws, strict=False)
        ]
    else:
        texts = [
            str(1 + int(v * 99)) if k < 0.22 else str(1950 + int(v * 80)) if k < 0.33 else web_number(stream, k)
            for k, v in zip(*draws, strict=False)
        ]
    draft.pieces[chosen_tokens] = [s + " " for s in texts]
    _replaced(draft, chosen_tokens)
    if state.track:
        token_docs = draft.shape.tok_doc[chosen_tokens].tolist()
        draft.extras.extend(
            (d, s.translate(_NO_DIGITS)) for d, s in zip(token_docs, texts, strict=False) if s.lower() != s.upper()
        )


def _urls(state: State, draft: Draft, chosen: np.ndarray) -> None:
    """URLs, e-mail addresses and handles, never first or last in a sentence."""
    chosen_tokens = np.flatnonzero(chosen)
    texts = []
    for d in draft.shape.tok_doc[chosen_tokens].tolist():
        acc: list[int] = []
        text, fixed = url(state.tables, state.stream, acc)
        texts.append(text + " ")
        if state.track:
            draft.rank_marks.extend((d, r) for r in acc)
            if fixed:
                draft.extras.append((d, fixed))
    draft.pieces[chosen_tokens] = texts
    _replaced(draft, chosen_tokens)


def proper_nouns(state: State, draft: Draft) -> None:
    """Capitalise a share of the words beyond the hand-written head (webtext's proper nouns)."""
    if state.params.p_proper:
        rng, n_tokens = state.rng, draft.shape.n_tokens
        chosen_tokens = np.flatnonzero(
            (rng.random(n_tokens) < state.params.p_proper) & (draft.ranks >= state.tables.n_head)
        )
        capitalize(state.tables, draft, chosen_tokens)
        draft.plain[chosen_tokens] = False


def capitalize(tables: Tables, draft: Draft, idx: np.ndarray) -> None:
    """Capitalize the tokens at ``idx`` (table lookup for vocabulary words)."""
    r = draft.ranks[idx]
    h = (r >= 0) & (r < TABLE_SIZE)
    draft.pieces[idx[h]] = tables.capitalized_spaced[r[h]]
    o = idx[~h]
    if o.size:
        draft.pieces[o] = [cap(p) for p in draft.pieces[o].tolist()]
