"""Per-document decoration, after the sentences are joined: story openers and closers (tinystories), indented code
blocks (webtext), and with ``mixed=True`` the foreign text, emoji, code, CRLF line ends and unusual spaces."""

from __future__ import annotations

import unicodedata

import numpy as np
import regex

from bpe_harness.data.corpus.draft import Draft
from bpe_harness.data.corpus.draws import Scalar
from bpe_harness.data.corpus.fragments import code
from bpe_harness.data.corpus.state import State
from bpe_harness.data.corpus.word_lists import (
    CLOSER_WORDS,
    EMOJI,
    FOREIGN,
    FOREIGN_LANGS,
    NAMES,
    OPENER_SLOTS,
    OPENER_WORDS,
    TINY_ADJ,
    TINY_CLOSERS,
    TINY_NOUN,
    TINY_OPENERS,
    TINY_PLACE,
    TINY_VERB,
)

_P_MIX_SEGMENT = 0.07  # share of documents (mixed=True) with a foreign/emoji/code segment
_P_MIX_SPACES = 0.04  # share with CRLF line ends (1.5%), tabs, U+00A0 or U+3000 for spaces


def decorate(state: State, draft: Draft, docs: list[str]) -> None:
    """Decorate ``docs`` in place, in a fixed order of draws: openers and closers, code blocks, mixed segments."""
    params, n_docs = state.params, draft.shape.n_docs
    if params.p_opener or params.p_closer:
        _openers_and_closers(state, draft, docs)
    if params.p_code:
        stream = state.stream
        for d in np.flatnonzero(stream.uniforms(n_docs) < params.p_code).tolist():
            snippet = code(state.tables, stream)
            docs[d] = _insert_block(docs[d], snippet, stream)
            if state.track:
                draft.extras.append((d, snippet))
    if state.mixed:
        mix_draws = state.mix_stream.uniforms(2 * n_docs).reshape(n_docs, 2)
        for d in np.flatnonzero((mix_draws[:, 0] < _P_MIX_SEGMENT) | (mix_draws[:, 1] < _P_MIX_SPACES)).tolist():
            docs[d] = _mix(state, docs[d], d, draft.extras, float(mix_draws[d, 0]), float(mix_draws[d, 1]))


def _openers_and_closers(state: State, draft: Draft, docs: list[str]) -> None:
    """ "Once upon a time, Tom ..." before some stories and "The end." after some, with the document's cast."""
    params, track, extras = state.params, state.track, draft.extras
    assert draft.cast is not None  # openers and closers are tinystories', whose names stage draws the cast
    cast = draft.cast.tolist()
    n_docs = draft.shape.n_docs
    decoration_draws = state.stream.uniforms(n_docs * 10).reshape(n_docs, 10).tolist()
    n_openers, n_closers = len(TINY_OPENERS), len(TINY_CLOSERS)
    for d, r in enumerate(decoration_draws):
        a, b = NAMES[cast[d][0]], NAMES[cast[d][1]]
        if r[0] < params.p_opener:
            t = int(r[2] * n_openers)
            slots = (
                TINY_ADJ[int(r[3] * len(TINY_ADJ))],
                TINY_NOUN[int(r[4] * len(TINY_NOUN))],
                TINY_PLACE[int(r[5] * len(TINY_PLACE))],
                TINY_VERB[int(r[6] * len(TINY_VERB))],
            )
            o = TINY_OPENERS[t].format(A=a, B=b, adj=slots[0], noun=slots[1], place=slots[2], verb=slots[3])
            docs[d] = o + (" " if r[7] < 0.7 else "\n") + docs[d]
            if track:
                extras.append((d, OPENER_WORDS[t]))
                extras.extend((d, x) for x, used in zip((a, b) + slots, OPENER_SLOTS[t], strict=False) if used)
        if r[1] < params.p_closer:
            t = int(r[8] * n_closers)
            docs[d] = docs[d] + ("\n" if r[9] < 0.6 else " ") + TINY_CLOSERS[t].format(A=a, B=b)
            if track:
                extras.append((d, CLOSER_WORDS[t]))
                extras.extend((d, x) for x, k in ((a, "{A}"), (b, "{B}")) if k in TINY_CLOSERS[t])


def _mix(state: State, doc: str, d: int, extras: list, u: float, u2: float) -> str:
    """Document ``d`` with a foreign, emoji or code segment (``u < _P_MIX_SEGMENT``) and unusual line ends or spaces
    (``u2 < _P_MIX_SPACES``), drawn from the mixed stream only."""
    mix_stream = state.mix_stream
    if u < _P_MIX_SEGMENT:  # a non-English / emoji / code segment
        k = mix_stream.uniform()
        if k < 0.55:
            lang = mix_stream.pick(FOREIGN_LANGS)
            pool = FOREIGN[lang]
            start, n = mix_stream.below(len(pool)), 1 + mix_stream.below(3)
            sents = [pool[(start + j) % len(pool)] for j in range(n)]  # distinct sentences
            if lang == "vi":
                sents = [unicodedata.normalize("NFD", s) if mix_stream.uniform() < 0.4 else s for s in sents]
            joiner = "" if lang in ("zh", "ja") else ("\u3000" if mix_stream.uniform() < 0.1 else " ")
            seg = joiner.join(sents)
            if mix_stream.uniform() < 0.6:
                doc = _insert_block(doc, seg, mix_stream)
            else:
                doc = _insert_inline(doc, seg, mix_stream)
            extras.append((d, seg))
        elif k < 0.9:
            n = 1 + mix_stream.below(4)
            for _ in range(n):
                e = mix_stream.pick(EMOJI)
                e = e * (1 + mix_stream.below(3)) if mix_stream.uniform() < 0.2 else e
                doc = _insert_inline(doc, e, mix_stream)
        else:
            snippet = code(state.tables, mix_stream)
            doc = _insert_block(doc, snippet, mix_stream)
            extras.append((d, snippet))
        if mix_stream.uniform() < 0.3 and doc.count(". ") > 0:  # curly quotes / guillemets
            pair = mix_stream.pick((("\u201c", "\u201d"), ("\u2018", "\u2019"), ("\u00ab", "\u00bb")))
            doc = regex.sub(r'"([^"\n]*)"', lambda m: pair[0] + m.group(1) + pair[1], doc)
    if u2 < 0.015:
        doc = doc.replace("\n", "\r\n")
    elif u2 < 0.025:
        doc = _replace_spaces(doc, "\t", mix_stream)
    elif u2 < 0.035:
        doc = _replace_spaces(doc, "\u00a0", mix_stream)
    elif u2 < _P_MIX_SPACES:
        doc = _replace_spaces(doc, "\u3000", mix_stream)
    return doc


def _insert_block(doc: str, block: str, stream: Scalar) -> str:
    """Insert ``block`` as its own paragraph at a random line break (or the end)."""
    block = block.rstrip("\n")
    nl = doc.count("\n")
    k = stream.below(nl + 1)
    if k == nl:
        return doc + "\n\n" + block
    pos = -1
    for _ in range(k + 1):
        pos = doc.index("\n", pos + 1)
    return doc[:pos] + "\n\n" + block + "\n" + doc[pos:]


def _insert_inline(doc: str, seg: str, stream: Scalar) -> str:
    """Insert ``seg`` after a random sentence end (". "), or at the end of the doc."""
    n = doc.count(". ")
    k = stream.below(n + 1)
    if k == n:
        return doc + " " + seg
    pos = -1
    for _ in range(k + 1):
        pos = doc.index(". ", pos + 1)
    return doc[: pos + 2] + seg + " " + doc[pos + 2 :]


def _replace_spaces(doc: str, ch: str, stream: Scalar) -> str:
    """Replace ~15% of the single spaces of ``doc`` by ``ch``."""
    parts = doc.split(" ")
    if len(parts) < 2:
        return doc
    seps = np.full(len(parts) - 1, " ", dtype=object)
    seps[stream.uniforms(len(parts) - 1) < 0.15] = ch
    out = np.empty(2 * len(parts) - 1, dtype=object)
    out[0::2] = parts
    out[1::2] = seps
    return "".join(out.tolist())
