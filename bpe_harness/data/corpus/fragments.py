"""The pieces of text that are not vocabulary words: numbers, dates, prices, URLs, e-mail addresses, handles,
identifiers and code snippets. Each draws from the caller's scalar stream only, so decorations cannot shift the
English skeleton drawn by the token stream."""

from __future__ import annotations

from bpe_harness.data.corpus.draws import Scalar
from bpe_harness.data.corpus.tables import Tables, cap
from bpe_harness.data.corpus.word_lists import CODE_SNIPPETS, MONTHS, TLDS


def digits(stream: Scalar, n: int) -> str:
    """n random decimal digits, the first non-zero."""
    u = stream.uniform
    s = str(1 + int(u() * 9))
    while len(s) < n:
        s += f"{int(u() * 1e12):012d}"
    return s[:n]


def web_number(stream: Scalar, k: float) -> str:
    """Numbers of the less common kinds (k >= 0.33; small ints and years are inlined)."""
    u = stream.uniform
    if k < 0.42:
        return f"{int(digits(stream, 4 + int(u() * 7))):,}"
    if k < 0.48:
        return digits(stream, 6 + int(u() * 14))
    if k < 0.55:
        return f"{int(u() * 1000)}.{digits(stream, 1 + int(u() * 4))}"
    if k < 0.64:
        return f"{int(u() * 100)}%" if u() < 0.6 else f"{int(u() * 100)}.{int(u() * 10)}%"
    if k < 0.74:
        x = u()
        if x < 0.4:
            return f"${1 + int(u() * 999)}"
        if x < 0.8:
            return f"${int(digits(stream, 1 + int(u() * 6))):,}.{int(u() * 100):02d}"
        return f"${1 + int(u() * 99)}.{int(u() * 10)} {stream.pick(('million', 'billion'))}"
    if k < 0.80:
        return f"{1990 + int(u() * 40)}-{1 + int(u() * 12):02d}-{1 + int(u() * 28):02d}"
    if k < 0.84:
        return f"{1 + int(u() * 12)}/{1 + int(u() * 28)}/{1990 + int(u() * 40)}"
    if k < 0.88:
        return f"{stream.pick(MONTHS)} {1 + int(u() * 28)}, {1990 + int(u() * 40)}"
    if k < 0.92:
        return f"{1 + int(u() * 12)}:{int(u() * 60):02d}" + stream.pick(("", "", " a.m.", " p.m.", "pm"))
    if k < 0.95:
        n = 1 + int(u() * 99)
        suf = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suf}"
    if k < 0.97:
        return f"{int(u() * 10)}.{int(u() * 30)}.{int(u() * 20)}"
    if k < 0.99:
        return f"{100 + int(u() * 900)}-{digits(stream, 4)}"
    return f"{1 + int(u() * 20)}-{21 + int(u() * 80)}"


def ident(tables: Tables, stream: Scalar, acc: list[int] | None = None) -> str:
    """A lowercase identifier word from the vocabulary table (letters only); its rank
    is appended to ``acc`` (for word counting).

    Uses only ``stream`` (the caller's scalar stream), never the token stream, so that
    ``mixed`` decorations cannot shift the English skeleton."""
    for _ in range(8):
        r = tables.sample_head(stream)
        w = tables.words[r]
        if w.isascii() and w.isalpha():
            break
    else:
        r = tables.n_head + stream.below(5000)
        w = tables.words[r]
    if acc is not None:
        acc.append(r)
    return w.lower()


def url(tables: Tables, stream: Scalar, acc: list[int]) -> tuple[str, str]:
    """(URL, e-mail or handle; its non-identifier letters, e.g. "https www com html")."""
    k = stream.uniform()
    if k < 0.6:
        path = "/".join(ident(tables, stream, acc) for _ in range(1 + stream.below(3)))
        t = stream.below(6)
        tail = (
            "",
            "",
            f"-{stream.below(100000)}",
            ".html",
            f"?id={digits(stream, 1 + stream.below(9))}" if t == 4 else "",
            "/",
        )[t]
        scheme = stream.pick(("https://", "https://www.", "http://", "www."))
        tld = stream.pick(TLDS)
        return (
            f"{scheme}{ident(tables, stream, acc)}.{tld}/{path}{tail}",
            f"{scheme} {tld} {('', '', '', 'html', 'id', '')[t]}",
        )
    if k < 0.85:
        tld = stream.pick(TLDS)
        return f"{ident(tables, stream, acc)}.{ident(tables, stream, acc)}@{ident(tables, stream, acc)}.{tld}", tld
    return f"@{ident(tables, stream, acc)}_{stream.below(1000)}", ""


def code(tables: Tables, stream: Scalar) -> str:
    a, b, c, d = (ident(tables, stream) for _ in range(4))
    return stream.pick(CODE_SNIPPETS).format(
        a=a, b=b, c=c, d=d, A=cap(a), B=cap(b), n=1 + stream.below(100), m=stream.below(1000)
    )
