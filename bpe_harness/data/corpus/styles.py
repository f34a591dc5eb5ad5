"""The two document styles, as parameters: the Zipf law of their words, how many paragraphs, sentences and words
they draw, and the share of every kind of token, punctuation and separator (see the package's docstring)."""

from __future__ import annotations

from bpe_harness.data.corpus.word_lists import TINY_HEAD, WEB_HEAD

STYLES = ("tinystories", "webtext")


class StyleParams:
    """A style's parameters (attributes named by the keywords): word law, lengths, shares of each kind of token."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def tiny_style() -> StyleParams:
    return StyleParams(
        name="tinystories",
        index=0,
        head=TINY_HEAD,
        s1=1.1,
        k_break=1500,
        s2=1.9,
        q=2.7,
        docs_per_batch=1000,
        par_min=2,
        par_w=[3, 5, 6, 6, 5, 4, 3, 2, 1],  # 2..10 paragraphs
        sent_min=1,
        sent_w=[4, 6, 6, 4, 2, 1],  # 1..6 sentences
        len_min=3,
        len_w=[3, 5, 8, 10, 11, 10, 9, 7, 5, 4, 3, 2, 1, 1],  # 3..16 words
        p_name=0.05,
        p_poss=0.12,
        p_num=0.004,
        p_url=0.0,
        p_proper=0.0,
        p_comma=0.06,
        inner=[", ", "; ", ": ", " - ", "  ", ", "],
        inner_w=[80, 3, 2, 4, 6, 5],
        punct=[".", "!", "?", "...", "!!"],
        punct_w=[78, 12, 8, 1.5, 0.5],
        sent_sep=[" ", "  "],
        sent_sep_w=[97, 3],
        par_sep=["\n", "\n\n", "\n\n\n", "\n\n\n\n", "\n\n\n\n\n", " \n", "\n ", "  \n"],
        par_sep_w=[66, 17, 4, 3, 2, 4, 3, 1],
        p_quote=0.22,
        p_paren=0.0,
        p_headline=0.0,
        p_list=0.0,
        p_code=0.0,
        p_opener=0.65,
        p_closer=0.35,
    )


def web_style() -> StyleParams:
    return StyleParams(
        name="webtext",
        index=1,
        head=WEB_HEAD,
        s1=1.1,
        k_break=12000,
        s2=1.6,
        q=2.0,
        docs_per_batch=400,
        par_min=1,
        par_w=[2, 3, 4, 4, 4, 3, 3, 2, 2, 1, 1, 1],  # 1..12
        sent_min=1,
        sent_w=[3, 4, 4, 3, 2, 1, 1],  # 1..7
        len_min=4,
        len_w=[1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 6, 6, 6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1],  # 4..35
        p_name=0.0,
        p_poss=0.0,
        p_num=0.02,
        p_url=0.002,
        p_proper=0.22,
        p_comma=0.07,
        inner=[", ", "; ", ": ", " - ", " -- ", "  ", ", "],
        inner_w=[80, 4, 3, 4, 2, 2, 5],
        punct=[".", "!", "?", "...", "?!"],
        punct_w=[90, 3, 5, 1.5, 0.5],
        sent_sep=[" ", "  "],
        sent_sep_w=[96, 4],
        par_sep=["\n\n", "\n", "\n\n\n", " \n\n", "\n\n\n\n"],
        par_sep_w=[60, 30, 5, 3, 2],
        p_quote=0.04,
        p_paren=0.08,
        p_headline=0.4,
        p_list=0.08,
        p_code=0.05,
        p_opener=0.0,
        p_closer=0.0,
    )


STYLE_FACTORIES = {"tinystories": tiny_style, "webtext": web_style}


def check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
