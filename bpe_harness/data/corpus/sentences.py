"""Sentence-level dressing of a batch: headlines and bullet lists (webtext), commas and other inner punctuation,
brackets and quoted spans, sentence ends and paragraph breaks, and dialogue with its speech tags (tinystories)."""

from __future__ import annotations

import numpy as np

from bpe_harness.data.corpus.draft import DOC_END, Draft
from bpe_harness.data.corpus.draws import cumulative, draw
from bpe_harness.data.corpus.state import State
from bpe_harness.data.corpus.tokens import capitalize


class Ends:
    """What closes each sentence: its punctuation index, its separator, an optional prefix (a bullet, an opening
    quote) and ``end`` (punctuation + separator) that ``close_sentences`` attaches to the last word."""

    __slots__ = ("punct_index", "sep", "prefix", "end")

    def __init__(self, punct_index: np.ndarray, sep: np.ndarray, prefix: np.ndarray, end: np.ndarray):
        self.punct_index, self.sep, self.prefix, self.end = punct_index, sep, prefix, end


def headlines_and_lists(state: State, draft: Draft) -> None:
    """Headlines: a document's first sentence in Title Case, its own paragraph. Lists: paragraphs of several
    sentences, one per line."""
    params, rng, shape = state.params, state.rng, draft.shape
    if params.p_headline:
        draft.headline = shape.doc_first & ~shape.doc_last & (rng.random(shape.n_sentences) < params.p_headline)
        headline_tokens = np.flatnonzero(draft.headline[shape.tok_sent])
        capitalize(state.tables, draft, headline_tokens)
        draft.plain[headline_tokens] = False
    if params.p_list:
        listed_paragraph = rng.random(shape.n_paragraphs) < params.p_list
        many = shape.sentences_per_paragraph[shape.sent_par] > 1
        draft.listed = listed_paragraph[shape.sent_par] & ~draft.headline & many


def inner_punctuation(state: State, draft: Draft) -> None:
    """Commas (and ; : - runs) after some words, and bracketed or quoted spans inside some sentences."""
    shape = draft.shape
    headline_token = draft.headline[shape.tok_sent]
    comma = (state.rng.random(shape.n_tokens) < state.params.p_comma) & ~shape.last_tok & ~headline_token
    spans = _bracket_spans(state, draft) if state.params.p_paren else None
    if spans is not None:
        comma[spans[1]] = False
    chosen = np.flatnonzero(comma)
    if chosen.size:
        inner = state.inner[draw(state.rng, state.inner_cum, chosen.size)]
        _append_to_words(state, draft, chosen, inner)
    if spans is not None:
        a_abs, b_abs, kind = spans
        op = np.array(["(", '"', "'", "["], dtype=object)[kind]
        cl = np.array([")", '"', "'", "]"], dtype=object)[kind]
        pieces = draft.pieces
        pieces[a_abs] = [o + p for o, p in zip(op.tolist(), pieces[a_abs].tolist(), strict=False)]
        pieces[b_abs] = [p[:-1] + c + " " for p, c in zip(pieces[b_abs].tolist(), cl.tolist(), strict=False)]


def _bracket_spans(state: State, draft: Draft) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(first token, last token, kind) of a span of 1-5 words inside some sentences: ( ), " ", ' ' or [ ]."""
    rng, shape = state.rng, draft.shape
    cand = (rng.random(shape.n_sentences) < state.params.p_paren) & (shape.sentence_len >= 5) & ~draft.headline
    chosen = np.flatnonzero(cand)
    if not chosen.size:
        return None
    ua, ub = rng.random(chosen.size), rng.random(chosen.size)
    length = shape.sentence_len[chosen]
    a = 1 + (ua * (length - 3)).astype(np.int64)  # 1 .. L-3
    span = (ub * 5).astype(np.int64)  # 0 .. 4
    b = np.minimum(a + span, length - 2)
    a_abs, b_abs = shape.sentence_start[chosen] + a, shape.sentence_start[chosen] + b
    kind = draw(rng, cumulative([60, 25, 8, 7]), chosen.size)
    return a_abs, b_abs, kind


def _append_to_words(state: State, draft: Draft, at: np.ndarray, suffix: np.ndarray) -> None:
    """Replace the space after the words at ``at`` by ``suffix`` (vectorised for words no stage has touched)."""
    pieces, plain = draft.pieces, draft.plain
    untouched = plain[at]
    untouched_at, touched_at = at[untouched], at[~untouched]
    pieces[untouched_at] = state.tables.words_array[draft.table_rank[untouched_at]] + suffix[untouched]
    pieces[touched_at] = [
        p[:-1] + s for p, s in zip(pieces[touched_at].tolist(), suffix[~untouched].tolist(), strict=False)
    ]


def sentence_ends(state: State, draft: Draft) -> Ends:
    """Punctuation and separators: a sentence separator, a paragraph break at a paragraph's end, a line break in a
    list, the document delimiter at a document's end; headlines lose their punctuation, list items get bullets."""
    params, rng, shape = state.params, state.rng, draft.shape
    headline, listed, n_sentences = draft.headline, draft.listed, shape.n_sentences
    punct_index = draw(rng, state.punct_cum, n_sentences)
    punct = state.punct[punct_index]
    sep = state.sentence_sep[draw(rng, state.sentence_sep_cum, n_sentences)]
    paragraph_sep = state.paragraph_sep[draw(rng, state.paragraph_sep_cum, n_sentences)]
    sep = np.where(shape.par_last, paragraph_sep, sep)
    if params.p_list:
        sep = np.where(listed & ~shape.par_last, "\n", sep)
    sep[shape.doc_last] = DOC_END  # (np.where with a "\x00" scalar would strip the NUL)
    if headline.any():
        punct[headline] = ""
        sep[headline] = np.where(rng.random(int(headline.sum())) < 0.7, "\n\n", "\n")
    prefix = np.full(n_sentences, "", dtype=object)
    if listed.any():
        sent_par, n_paragraphs = shape.sent_par, shape.n_paragraphs
        listed_at = np.flatnonzero(listed)
        pos = listed_at - np.searchsorted(sent_par, sent_par[listed_at])  # index within paragraph
        bullet_kind = draw(rng, cumulative([40, 25, 10, 25]), n_paragraphs)[sent_par[listed_at]]
        no_punct = rng.random(n_paragraphs)[sent_par[listed_at]] < 0.5
        prefix[listed_at] = [
            ("- ", "* ", "+ ")[s] if s < 3 else f"{k + 1}. "
            for s, k in zip(bullet_kind.tolist(), pos.tolist(), strict=False)
        ]
        punct[listed_at[no_punct]] = ""
    return Ends(punct_index, sep, prefix, punct + sep)


def quotes(state: State, draft: Draft, ends: Ends) -> None:
    """Quoted sentences in three forms: '"..," A said.', 'A said, "..."' and '"..."' (speech tags need a cast)."""
    params, rng, shape = state.params, state.rng, draft.shape
    if not params.p_quote:
        return
    quoted = np.flatnonzero((rng.random(shape.n_sentences) < params.p_quote) & ~draft.headline & ~draft.listed)
    if not quoted.size:
        return
    form = draw(rng, cumulative([45, 30, 25]), quoted.size)  # 0: "..," A said.  1: A said, "..."  2: "..."
    quote_punct = ends.punct_index[quoted]
    quote_prefix = np.full(quoted.size, '"', dtype=object)
    quote_end = state.quote_close[quote_punct] + ends.sep[quoted]
    if params.p_name:
        _speech_tags(state, draft, ends, quoted, form, quote_prefix, quote_end)
    ends.prefix[quoted] = quote_prefix
    ends.end[quoted] = quote_end


def _speech_tags(
    state: State,
    draft: Draft,
    ends: Ends,
    quoted: np.ndarray,
    form: np.ndarray,
    quote_prefix: np.ndarray,
    quote_end: np.ndarray,
) -> None:
    """'Tom said' after (form 0) or before (form 1) the quote: a cast member and a verb that fits the punctuation."""
    rng, tables = state.rng, state.tables
    quote_punct = ends.punct_index[quoted]
    assert draft.cast is not None  # drawn by the names stage, which runs whenever p_name is set
    speaker = draft.cast[draft.shape.sent_doc[quoted], draw(rng, cumulative([6, 3, 1]), quoted.size)]
    verb_index = (rng.random(quoted.size) * state.verb_count[quote_punct]).astype(np.int64)
    tag = tables.names_array[speaker] + " " + state.verb_table[quote_punct, verb_index]  # "Tom said"
    tag_after, tag_before = np.flatnonzero(form == 0), np.flatnonzero(form == 1)
    quote_end[tag_after] = (
        state.quote_close_before_tag[quote_punct[tag_after]] + tag[tag_after] + "." + ends.sep[quoted[tag_after]]
    )
    quote_prefix[tag_before] = tag[tag_before] + ', "'
    if state.track:
        tagged = np.flatnonzero(form < 2)
        verb_ids = state.verb_word_id_table[quote_punct[tagged], verb_index[tagged]]  # (n, 2), -1 padded
        tagged_docs = draft.shape.sent_doc[quoted[tagged]]
        draft.marks.append((tagged_docs, tables.name_word_id[speaker[tagged]]))
        present = verb_ids.ravel() >= 0
        draft.marks.append((np.repeat(tagged_docs, 2)[present], verb_ids.ravel()[present]))


def close_sentences(state: State, draft: Draft, ends: Ends) -> None:
    """Put each sentence's prefix before its first word and its end after its last word."""
    shape, pieces = draft.shape, draft.pieces
    has_pre = np.flatnonzero(ends.prefix != "")
    if has_pre.size:
        prefixed_at = shape.sentence_start[has_pre]
        pieces[prefixed_at] = [
            x + p for x, p in zip(ends.prefix[has_pre].tolist(), pieces[prefixed_at].tolist(), strict=False)
        ]
    _append_to_words(state, draft, shape.sentence_last, ends.end)
