"""Assertions whose failure messages teach: the first divergence, with the context needed to find the bug.

Merges: the first differing merge index, both pairs, and how often each pair occurs in the corpus at that point
(recomputed here by replaying the agreed merges), plus which rule the difference points to.
Token ids: the first differing position, the surrounding text, and both token sequences around it.
Never a dump of whole lists.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bpe_harness import rules

SHOW = 3  # tokens of context on each side of a divergence


@contextlib.contextmanager
def explained(note: str):
    """Add `note` (what the failing case is about) to any assertion failure inside the block."""
    __tracebackhide__ = True
    try:
        yield
    except AssertionError as e:
        raise AssertionError(f"{e}\n({note})") from None


def first_divergence(a: Sequence, b: Sequence) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


# --- merges -------------------------------------------------------------------------------------------------------


def corpus_word_counts(path: Path, special_tokens: Sequence[str]) -> Counter[bytes]:
    """Pre-token counts of a corpus, specials removed: the statistics BPE training starts from."""
    text = Path(path).read_bytes().decode("utf-8")  # exact text: no newline translation
    return Counter(p.encode("utf-8") for p in rules.pretokens(text, special_tokens))


def pair_counts_after(word_counts: Counter[bytes], merges: Sequence[tuple[bytes, bytes]]) -> Counter:
    """How often each adjacent pair occurs once `merges` have been applied (slow and simple on purpose)."""
    ranks = {pair: i for i, pair in enumerate(merges)}
    pairs: Counter = Counter()
    for word, count in word_counts.items():
        parts = [word[i : i + 1] for i in range(len(word))]
        while len(parts) > 1:
            candidates = [(ranks.get(p, len(ranks)), i) for i, p in enumerate(zip(parts, parts[1:], strict=False))]
            rank, i = min(candidates)
            if rank == len(ranks):
                break
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        for p in zip(parts, parts[1:], strict=False):
            pairs[p] += count
    return pairs


def _merge_hint(expected_pair, got_pair, expected_n: int, got_n: int, best: list) -> str:
    if got_n == expected_n:
        return (
            f"Both pairs occur {expected_n} times: a tie. Ties go to the lexicographically greatest pair, comparing "
            f"(bytes, bytes) tuples: {expected_pair!r} > {got_pair!r}. Compare the bytes themselves, not "
            "concatenated bytes, remapped unicode strings, or first-seen order."
        )
    if got_n == 0:
        return (
            "Your pair does not occur at all at this point. Pairs must stay inside one pre-token, special tokens are "
            "boundaries (never part of a pair), and each merge must update the counts of every word it changes."
        )
    tied = ", ".join(repr(p) for p in best[:4])
    return (
        f"Your pair occurs only {got_n} times, while {expected_pair!r} occurs {expected_n} times (most frequent: "
        f"{tied}). Check the pair counts: each pre-token weighted by how often it occurs, the whole text "
        "pre-tokenized (not line by line), specials removed before counting, counts updated after every merge."
    )


def assert_merges_equal(actual, expected, corpus: Path | None = None, special_tokens: Sequence[str] = ()) -> None:
    __tracebackhide__ = True
    i = first_divergence(actual, expected)
    if i is None:
        return
    if i == len(actual) or i == len(expected):
        raise AssertionError(
            f"expected {len(expected)} merges, got {len(actual)} (the first {i} agree). "
            "The number of merges is vocab_size - 256 - len(special_tokens)."
        )
    agree = "the very first merge differs" if i == 0 else f"merges 0..{i - 1} agree"
    message = [f"merges differ at merge #{i} ({agree})"]
    if corpus is not None:
        counts = pair_counts_after(corpus_word_counts(corpus, special_tokens), expected[:i])
        exp_n, got_n = counts.get(tuple(expected[i]), 0), counts.get(tuple(actual[i]), 0)
        top = max(counts.values(), default=0)
        best = sorted((p for p, n in counts.items() if n == top), reverse=True)
        message += [
            f"  expected {expected[i]!r}  (occurs {exp_n} times in the corpus at this point)",
            f"  got      {actual[i]!r}  (occurs {got_n} times)",
            _merge_hint(expected[i], actual[i], exp_n, got_n, best),
        ]
    else:
        message += [f"  expected {expected[i]!r}", f"  got      {actual[i]!r}"]
    if corpus is not None and _involves_newlines(expected[i], actual[i]) and b"\r" in Path(corpus).read_bytes():
        message.append(
            "This corpus has \\r\\n line ends and the pairs differ in newline bytes: read the corpus as its exact "
            "bytes, with open(path, encoding='utf-8', newline='') or by decoding a binary read; plain open(path) "
            "turns every \\r\\n into \\n."
        )
    raise AssertionError("\n".join(message))


def _involves_newlines(*pairs) -> bool:
    return any(b"\n" in part or b"\r" in part for pair in pairs for part in pair)


def assert_vocab_matches(vocab: dict[int, bytes], expected_tokens: Sequence[bytes], vocab_size: int) -> None:
    """Ids are exactly 0..vocab_size-1 (one embedding row each); tokens equal the expected multiset."""
    __tracebackhide__ = True
    if len(vocab) != vocab_size:
        raise AssertionError(_vocab_size_message(vocab, expected_tokens, vocab_size))
    if set(vocab) != set(range(vocab_size)):
        odd = sorted(set(vocab) - set(range(vocab_size)))[:5]
        raise AssertionError(f"vocab ids must be exactly 0..{vocab_size - 1}; found ids like {odd}")
    got, want = Counter(vocab.values()), Counter(expected_tokens)
    if got != want:
        missing = sorted((want - got).elements())[:5]
        extra = sorted((got - want).elements())[:5]
        raise AssertionError(
            f"vocab tokens differ: {sum((want - got).values())} expected tokens missing (e.g. {missing}), "
            f"{sum((got - want).values())} unexpected (e.g. {extra})"
        )


def assert_vocab_built_from(vocab: dict[int, bytes], merges, special_tokens: Sequence[str], vocab_size: int) -> None:
    """The rule `vocab_size` = specials + 256 bytes + one entry per merge, checked on the training's own output: the
    size, ids 0..vocab_size-1, and the tokens are exactly the specials, every single byte and each merge's a + b.
    (For tests that check a property of a training result without comparing it with the expected one, so that an
    empty or made-up result does not pass.)"""
    __tracebackhide__ = True
    n_merges = vocab_size - 256 - len(special_tokens)
    if len(merges) != n_merges:
        raise AssertionError(
            f"expected {n_merges} merges (vocab_size {vocab_size} - 256 bytes - {len(special_tokens)} special tokens), "
            f"got {len(merges)}"
        )
    built = [s.encode("utf-8") for s in special_tokens] + [bytes([b]) for b in range(256)] + [a + b for a, b in merges]
    assert_vocab_matches(vocab, built, vocab_size)


def _vocab_size_message(vocab: dict[int, bytes], expected_tokens: Sequence[bytes], vocab_size: int) -> str:
    """Why the vocab has the wrong size, naming the usual cause: two tokens given one id (the later overwrote the
    earlier), or one token given two ids."""
    message = f"vocab has {len(vocab)} entries; vocab_size={vocab_size} counts every entry"
    counts = Counter(vocab.values())
    twice = [t for t, n in counts.items() if n > 1]
    if twice:
        ids = sorted(i for i, t in vocab.items() if t == twice[0])
        return (
            f"{message}. The token {twice[0]!r} appears {counts[twice[0]]} times (ids {ids[:4]}): each token "
            "needs one id."
        )
    missing = sorted((Counter(expected_tokens) - counts).elements())
    if len(vocab) < vocab_size and missing:
        return (
            f"{message}. {len(missing)} expected token(s) are missing, e.g. {missing[:3]}: when two tokens are "
            "given the same id, the later overwrites the earlier. Check that merge ids start after the ids the "
            "special tokens and the 256 bytes already use (e.g. merge i gets len(vocab), not 256 + i)."
        )
    return message


# --- token ids ----------------------------------------------------------------------------------------------------


def show_ids(ids: Sequence[int], lo: int, hi: int, mark: int, vocab: dict[int, bytes] | None) -> str:
    """ids[lo:hi], each with its token where `vocab` has it, the one at `mark` as >>id token<<; "..." where the
    sequence goes on."""
    out = []
    for j in range(lo, min(hi, len(ids))):
        text = repr(vocab[ids[j]]) if vocab and ids[j] in vocab else ""
        item = f"{ids[j]} {text}".strip()
        out.append(f">>{item}<<" if j == mark else item)
    prefix = "... " if lo > 0 else ""
    suffix = " ..." if hi < len(ids) else ""
    return prefix + ", ".join(out) + suffix


def describe_ids_difference(
    actual, expected, text: str, vocab: dict[int, bytes] | None = None, what: str = ""
) -> str | None:
    """None if the ids are equal; otherwise where they first differ, in tokens and in the text (the message
    assert_ids_equal raises, also shown by the playground)."""
    i = first_divergence(actual, expected)
    if i is None:
        return None
    lo, hi = max(0, i - SHOW), i + SHOW + 1
    where = ""
    if vocab is not None:
        offset = len(b"".join(vocab.get(t, b"") for t in expected[:i]).decode("utf-8", errors="replace"))
        where = f" (text offset ~{offset}: {text[max(0, offset - 30) : offset]!r} | {text[offset : offset + 30]!r})"
    message = (
        f"{what + ': ' if what else ''}token ids differ at position {i} of {len(expected)} expected "
        f"({len(actual)} produced){where}\n"
        f"  expected: {show_ids(expected, lo, hi, i, vocab)}\n"
        f"  got:      {show_ids(actual, lo, hi, i, vocab)}"
    )
    if i == len(actual) < len(expected):
        message += "\n" + ended_early(len(expected) - len(actual))
    return message


def ended_early(missing: int) -> str:
    """The note for output that is a strict prefix of the expected ids: nothing is wrong but the end is missing."""
    return (
        f"Every id produced is right, but the output stops early: the last {missing:,} expected ids are missing. "
        "A stream that ends early usually forgets what is still in its buffer when the chunks run out: after the "
        "loop over the chunks, encode and yield the rest."
    )


def assert_ids_equal(actual, expected, text: str, vocab: dict[int, bytes] | None = None, what: str = "") -> None:
    """Same ids; otherwise show where they first differ, in tokens and in the text."""
    __tracebackhide__ = True
    message = describe_ids_difference(actual, expected, text, vocab, what)
    if message is not None:
        raise AssertionError(message)


def assert_text_equal(actual: str, expected: str, what: str = "decode") -> None:
    __tracebackhide__ = True
    if actual == expected:
        return
    i = first_divergence(actual, expected)
    raise AssertionError(
        f"{what}: text differs at character {i} (lengths: got {len(actual)}, expected {len(expected)})\n"
        f"  expected: {expected[max(0, i - 20) : i + 20]!r}\n  got:      {actual[max(0, i - 20) : i + 20]!r}"
    )
