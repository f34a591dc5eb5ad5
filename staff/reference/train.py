"""Reference BPE trainer: word-count pre-tokenization, incremental pair counts, a lazy max-heap with exact ties.

Pipeline: split the corpus on special tokens (hard boundaries, never counted), pre-tokenize each plain segment with
the GPT-2 regex and count distinct pre-tokens (optionally in worker processes, on chunks that start at a special
token), then merge. Each merge touches only the words containing the merged pair, so a step costs what it changes.
"""

from __future__ import annotations

import heapq
import os
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor

import regex

from .pretokenize import GPT2_PATTERN, special_splitter, split_on_specials

PARALLEL_MIN_BYTES = 8 << 20  # below this, worker start-up costs more than it saves


# --- pre-tokenization -------------------------------------------------------------------------------------------


def count_pretokens(text: str, special_tokens: list[str], pattern: str = GPT2_PATTERN) -> Counter[str]:
    """How often each pre-token occurs in `text`, specials excluded (they split the text, nothing more)."""
    pretoken = regex.compile(pattern)
    counts: Counter[str] = Counter()
    for segment, is_special in split_on_specials(text, special_splitter(special_tokens)):
        if not is_special:
            counts.update(pretoken.findall(segment))
    return counts


def _count_range(args) -> Counter[str]:
    path, start, end, special_tokens, pattern = args
    with open(path, "rb") as f:
        f.seek(start)
        text = f.read(end - start).decode("utf-8")
    return count_pretokens(text, special_tokens, pattern)


def chunk_boundaries(path: str, special_tokens: list[str], parts: int) -> list[int]:
    """Byte offsets that split the file into about `parts` chunks, each cut at the start of a special token.

    Cutting where a special token begins never changes pre-tokenization, since specials are hard boundaries.
    A file with no special tokens is one chunk.
    """
    size = os.path.getsize(path)
    splitter = special_splitter(special_tokens)
    if splitter is None or parts <= 1:
        return [0, size]
    longest = max(len(s.encode("utf-8")) for s in special_tokens)
    window = max(1 << 20, 4 * longest)
    bounds = [0]
    with open(path, "rb") as f:
        for i in range(1, parts):
            guess = max(size * i // parts, bounds[-1])
            # start a little early so a special token spanning `guess` is matched whole, as a full scan would
            f.seek(max(guess - longest, bounds[-1]))
            found = None
            while found is None:
                offset = f.tell()
                block = f.read(window)
                if not block:
                    break
                text = block.decode("utf-8", errors="ignore")  # only searching; partial chars at the edges are fine
                for m in splitter.finditer(text):
                    at = offset + len(text[: m.start()].encode("utf-8"))
                    if at >= guess:
                        found = at
                        break
                if found is None and len(block) == window:
                    f.seek(offset + window - longest)  # overlap so no special is missed across blocks
            if found is None or found >= size:
                break
            if found > bounds[-1]:
                bounds.append(found)
    bounds.append(size)
    return bounds


def count_file_pretokens(
    path: str, special_tokens: list[str], num_workers: int | None = None, pattern: str = GPT2_PATTERN
) -> Counter[str]:
    size = os.path.getsize(path)
    workers = num_workers or os.cpu_count() or 1
    if workers <= 1 or size < PARALLEL_MIN_BYTES:
        with open(path, encoding="utf-8") as f:
            return count_pretokens(f.read(), special_tokens, pattern)
    bounds = chunk_boundaries(path, special_tokens, workers * 4)
    jobs = [(path, a, b, special_tokens, pattern) for a, b in zip(bounds, bounds[1:])]
    total: Counter[str] = Counter()
    with ProcessPoolExecutor(workers) as pool:
        for part in pool.map(_count_range, jobs):
            total.update(part)
    return total


# --- merging ----------------------------------------------------------------------------------------------------


class _Greatest:
    """Heap key that orders pairs of byte strings descending, so the min-heap pops the lexicographically greatest."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[bytes, bytes]):
        self.key = key

    def __lt__(self, other: _Greatest) -> bool:
        return self.key > other.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Greatest) and self.key == other.key


def bpe_merges(word_counts: dict[bytes, int], num_merges: int) -> tuple[list[tuple[bytes, bytes]], list[int]]:
    """Greedy BPE over distinct pre-tokens (as UTF-8 bytes) with their counts. Returns (merges, count of each)."""
    tokens: list[bytes] = [bytes([b]) for b in range(256)]  # symbol id -> bytes
    words: list[list[int]] = []
    freqs: list[int] = []
    for word, count in word_counts.items():
        if len(word) > 1:
            words.append(list(word))
            freqs.append(count)

    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    pair_words: dict[tuple[int, int], set[int]] = defaultdict(set)
    for w, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += freqs[w]
            pair_words[pair].add(w)

    def entry(pair):
        return (-pair_counts[pair], _Greatest((tokens[pair[0]], tokens[pair[1]])), pair)

    heap = [entry(pair) for pair in pair_counts]
    heapq.heapify(heap)
    merges: list[tuple[bytes, bytes]] = []
    counts: list[int] = []
    while len(merges) < num_merges and heap:
        neg, _, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg or neg == 0:
            continue  # stale entry: the pair's count changed after it was pushed
        left, right = pair
        new_id = len(tokens)
        tokens.append(tokens[left] + tokens[right])
        merges.append((tokens[left], tokens[right]))
        counts.append(-neg)
        changed: set[tuple[int, int]] = set()
        for w in pair_words.pop(pair):
            old = words[w]
            new, i = [], 0
            while i < len(old):
                if i + 1 < len(old) and old[i] == left and old[i + 1] == right:
                    new.append(new_id)
                    i += 2
                else:
                    new.append(old[i])
                    i += 1
            if len(new) == len(old):
                continue  # index entry left over from an earlier merge; this word no longer has the pair
            freq = freqs[w]
            for p in zip(old, old[1:]):
                pair_counts[p] -= freq
                changed.add(p)
            for p in zip(new, new[1:]):
                pair_counts[p] += freq
                pair_words[p].add(w)
                changed.add(p)
            words[w] = new
        for p in changed:
            if pair_counts[p] > 0:
                heapq.heappush(heap, entry(p))
            else:
                pair_counts.pop(p, None)
                if p != pair:
                    pair_words.pop(p, None)
    return merges, counts


def train_bpe_with_counts(
    input_path: str | os.PathLike,
    vocab_size: int,
    special_tokens: list[str],
    num_workers: int | None = None,
    pattern: str = GPT2_PATTERN,
):
    """Train; return (vocab, merges, merge_counts). Vocab ids: specials, then the 256 bytes, then merges in order."""
    special_tokens = list(dict.fromkeys(special_tokens))
    minimum = len(special_tokens) + 256
    if vocab_size < minimum:
        raise ValueError(
            f"vocab_size={vocab_size} is below the minimum {minimum} (256 bytes + {len(special_tokens)} special tokens)"
        )
    pretokens = count_file_pretokens(os.fspath(input_path), special_tokens, num_workers, pattern)
    word_counts: Counter[bytes] = Counter()
    for piece, count in pretokens.items():
        word_counts[piece.encode("utf-8")] += count
    merges, merge_counts = bpe_merges(word_counts, vocab_size - minimum)
    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}
    vocab.update({len(special_tokens) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges, merge_counts


def train_bpe(input_path, vocab_size: int, special_tokens: list[str], **kwargs):
    vocab, merges, _ = train_bpe_with_counts(input_path, vocab_size, special_tokens, **kwargs)
    return vocab, merges
