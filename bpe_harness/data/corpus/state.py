"""One generator's state: its style's tables, its three random streams and the style's cumulative draw tables.

The streams are separate so that one kind of decision cannot shift another: ``rng`` draws the token skeleton in
bulk, ``stream`` the per-document decisions (numbers, URLs, openers, code), ``mix_stream`` only what ``mixed=True``
adds, so the English text is the same with and without it."""

from __future__ import annotations

import numpy as np

from bpe_harness.data.corpus.draws import Scalar, cumulative
from bpe_harness.data.corpus.tables import tables_for
from bpe_harness.data.corpus.word_lists import SPEECH_VERBS

GENERATOR_VERSION = 1  # seeds the streams: bump it whenever the output changes on purpose, and rebuild the fixtures


class State:
    """What stays from one batch to the next; ``track`` asks for the word bookkeeping ``write_corpus`` counts with."""

    def __init__(self, seed: int, style: str, mixed: bool, track: bool = False):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.tables = tables_for(style)
        self.params = self.tables.params
        seeds = np.random.SeedSequence([int(seed), self.params.index, GENERATOR_VERSION])
        a, b, c = seeds.spawn(3)
        self.rng = np.random.Generator(np.random.PCG64(a))
        self.stream = Scalar(np.random.Generator(np.random.PCG64(b)))
        self.mix_stream = Scalar(np.random.Generator(np.random.PCG64(c)))
        self.mixed = bool(mixed)
        self.track = track
        params = self.params
        self.par_cum = cumulative(params.par_w)
        self.sent_cum = cumulative(params.sent_w)
        self.len_cum = cumulative(params.len_w)
        self.inner_cum = cumulative(params.inner_w)
        self.inner = np.array(params.inner, dtype=object)
        self.punct_cum = cumulative(params.punct_w)
        self.punct = np.array(params.punct, dtype=object)
        # dialogue: closing quote after the sentence punctuation, speech verbs by punctuation
        keys = ["!" if "!" in p else ("?" if "?" in p else ".") for p in params.punct]
        self.quote_close = np.array([p + '"' for p in params.punct], dtype=object)
        self.quote_close_before_tag = np.array(
            [(',"' if p == "." else p + '"') + " " for p in params.punct], dtype=object
        )
        width = max(len(v) for v in SPEECH_VERBS.values())
        self.verb_count = np.array([len(SPEECH_VERBS[k]) for k in keys], dtype=np.float64)
        self.verb_table = np.array(
            [list(SPEECH_VERBS[k]) + [""] * (width - len(SPEECH_VERBS[k])) for k in keys], dtype=object
        )
        verb_ids = np.full((len(keys), width, 2), -1, dtype=np.int64)
        for a, k in enumerate(keys):
            for b, v in enumerate(SPEECH_VERBS[k]):
                ids = self.tables.speech_verb_word_ids[v]
                verb_ids[a, b, : len(ids)] = ids
        self.verb_word_id_table = verb_ids
        self.sentence_sep_cum = cumulative(params.sent_sep_w)
        self.sentence_sep = np.array(params.sent_sep, dtype=object)
        self.paragraph_sep_cum = cumulative(params.par_sep_w)
        self.paragraph_sep = np.array(params.par_sep, dtype=object)
