"""Reference BPE trainer: word-count pre-tokenization, incremental pair counts, a lazy max-heap with exact ties.

Pipeline: split the corpus on special tokens (hard boundaries, never counted), pre-tokenize each plain segment with
the GPT-2 regex and count distinct pre-tokens (in worker processes, each reading its own byte range of the file; the
ranges start at a special token), then merge. Each merge touches only the words containing the merged pair, and
inside a word only the neighbours of each merged occurrence, so a step costs what it changes.

Memory is proportional to the number of distinct pre-tokens, not to the corpus: the parent never holds the file,
and each worker holds one chunk of at most about CHUNK_BYTES at a time.
"""

from __future__ import annotations

import gc
import heapq
import os
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor

import regex

from .pretokenize import GPT2_PATTERN, fast_findall, special_splitter, split_on_specials

PARALLEL_MIN_BYTES = 8 << 20  # below this, worker start-up costs more than it saves: one chunk, in-process
CHUNK_BYTES = 32 << 20  # target chunk size for big files: bounds each worker's memory (text + its pre-tokens)


# --- pre-tokenization -------------------------------------------------------------------------------------------


def count_pretokens(text: str, special_tokens: list[str], pattern: str = GPT2_PATTERN) -> Counter[str]:
    """How often each pre-token occurs in `text`, specials excluded (they split the text, nothing more)."""
    findall = fast_findall(regex.compile(pattern))
    counts: Counter[str] = Counter()
    for segment, is_special in split_on_specials(text, special_splitter(special_tokens)):
        if not is_special:
            counts.update(findall(segment))
    return counts


def _count_range(args) -> Counter[str]:
    path, start, end, special_tokens, pattern = args
    with open(path, "rb") as f:
        f.seek(start)
        text = f.read(end - start).decode("utf-8")
    # The corpus is its exact bytes: "\r\n" stays "\r\n", as encode() would see it (no newline translation).
    return count_pretokens(text, special_tokens, pattern)


def chunk_boundaries(path: str, special_tokens: list[str], parts: int) -> list[int]:
    """Byte offsets that split the file into about `parts` chunks, each cut at the start of a special token.

    Cutting where a special token begins never changes pre-tokenization, since specials are hard boundaries.
    A file with no special tokens is one chunk.
    """
    size = os.path.getsize(path)
    needles = sorted({s.encode("utf-8") for s in special_tokens if s}, key=len, reverse=True)
    if not needles or parts <= 1:
        return [0, size]
    # Search the raw bytes: a block may start inside a multi-byte character, so offsets counted on decoded text
    # would be off by the bytes dropped. A special token's UTF-8 bytes only match at character boundaries.
    splitter = regex.compile(b"|".join(regex.escape(n) for n in needles))
    longest = len(needles[0])
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
                for m in splitter.finditer(block):
                    at = offset + m.start()
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
    path: str,
    special_tokens: list[str],
    num_workers: int | None = None,
    pattern: str = GPT2_PATTERN,
    progress: bool = False,
) -> Counter[str]:
    """Pre-token counts of a whole file. Same result for any `num_workers`: counts are sums over chunks."""
    size = os.path.getsize(path)
    workers = num_workers or os.cpu_count() or 1
    if size < PARALLEL_MIN_BYTES:
        workers, parts = 1, 1
    else:  # enough chunks to keep every worker busy, and none much bigger than CHUNK_BYTES
        parts = max(workers * 4, -(-size // CHUNK_BYTES))
    bounds = chunk_boundaries(path, special_tokens, parts)
    jobs = [(path, a, b, special_tokens, pattern) for a, b in zip(bounds, bounds[1:], strict=False)]
    total: Counter[str] = Counter()
    started, done = time.monotonic(), 0
    pool = ProcessPoolExecutor(workers) if workers > 1 and len(jobs) > 1 else None
    try:
        for job, part in zip(jobs, pool.map(_count_range, jobs) if pool else map(_count_range, jobs), strict=False):
            total.update(part)
            done += job[2] - job[1]
            if progress:
                _show_progress("pre-tokenize", done / 1e6, size / 1e6, "MB", started)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return total


def _show_progress(stage: str, done: float, total: float, unit: str, started: float) -> None:
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else 0.0
    end = "\n" if done >= total else ""
    print(
        f"\r{stage}: {done:,.0f}/{total:,.0f} {unit} ({100 * done / max(total, 1e-9):5.1f}%) "
        f"{elapsed:6.1f}s elapsed, ~{eta:5.0f}s left",
        end=end,
        file=sys.stderr,
        flush=True,
    )


# --- merging ----------------------------------------------------------------------------------------------------


def descending(token: bytes) -> str:
    """A string whose order is the reverse of the bytes' order, so a min-heap pops the greatest bytes first.

    Each byte b becomes chr(255 - b), and a terminator chr(256), above every such character, makes a prefix sort
    after its extensions (b"a" < b"ab", so its key must be greater). Plain strings compare in C: much faster than
    a key object with a Python-level __lt__.
    """
    return "".join(chr(255 - b) for b in token) + chr(256)


def bpe_merges(
    word_counts: dict[bytes, int], num_merges: int, progress: bool = False
) -> tuple[list[tuple[bytes, bytes]], list[int]]:
    """Greedy BPE over distinct pre-tokens (as UTF-8 bytes) with their counts. Returns (merges, count of each)."""
    # Millions of small tuples, lists and sets live through the whole loop: the cyclic garbage collector would
    # rescan them over and over (three quarters of the run time), and none of them can form a cycle.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _bpe_merges(word_counts, num_merges, progress)
    finally:
        if gc_was_enabled:
            gc.enable()


def _bpe_merges(word_counts, num_merges, progress):
    tokens: list[bytes] = [bytes([b]) for b in range(256)]  # symbol id -> bytes
    sort_key: list[str] = [descending(t) for t in tokens]  # symbol id -> its heap key
    words: list[list[int]] = []
    freqs: list[int] = []
    for word, count in word_counts.items():
        if len(word) > 1:
            words.append(list(word))
            freqs.append(count)

    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    pair_words: dict[tuple[int, int], set[int]] = defaultdict(set)  # may list words that lost the pair since
    for w, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:], strict=False):
            pair_counts[pair] += freqs[w]
            pair_words[pair].add(w)

    def entry(count: int, pair: tuple[int, int]):
        """Heap entry: highest count first, then the lexicographically greatest (bytes, bytes) pair."""
        return (-count, sort_key[pair[0]], sort_key[pair[1]], pair)

    # Lazy max-heap: an entry's count is never below its pair's current count (counts of existing pairs only
    # fall; pairs with the new symbol are pushed once their step is done). A popped entry whose count is out of
    # date is pushed back with the current count, so the first up-to-date entry popped is the true maximum.
    heap = [entry(count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[bytes, bytes]] = []
    counts: list[int] = []
    started = time.monotonic()
    while len(merges) < num_merges and heap:
        neg, _, _, pair = heapq.heappop(heap)
        current = pair_counts.get(pair, 0)
        if current != -neg:
            if current > 0:
                heapq.heappush(heap, entry(current, pair))  # stale: its count fell after it was pushed
            continue
        left, right = pair
        new_id = len(tokens)
        tokens.append(tokens[left] + tokens[right])
        sort_key.append(descending(tokens[new_id]))
        merges.append((tokens[left], tokens[right]))
        counts.append(-neg)
        created: set[tuple[int, int]] = set()
        for w in pair_words.pop(pair):
            word, freq = words[w], freqs[w]
            i = 0
            while i < len(word) - 1:
                if word[i] == left and word[i + 1] == right:
                    # only the neighbours change: (prev, left) becomes (prev, new), (right, next) becomes (new, next)
                    if i > 0:
                        prev = word[i - 1]
                        pair_counts[prev, left] -= freq
                        pair_counts[prev, new_id] += freq
                        pair_words[prev, new_id].add(w)
                        created.add((prev, new_id))
                    if i + 2 < len(word):
                        nxt = word[i + 2]
                        pair_counts[right, nxt] -= freq
                        pair_counts[new_id, nxt] += freq
                        pair_words[new_id, nxt].add(w)
                        created.add((new_id, nxt))
                    word[i : i + 2] = [new_id]
                i += 1
        del pair_counts[pair]  # every occurrence is merged now (or was cut by an overlapping one: "aaa")
        for p in created:
            if pair_counts[p] > 0:
                heapq.heappush(heap, entry(pair_counts[p], p))
        if progress and len(merges) % 100 == 0:
            _show_progress("merge", len(merges), num_merges, "merges", started)
    if progress:
        _show_progress("merge", len(merges), len(merges), "merges", started)
    return merges, counts


def train_bpe_with_counts(
    input_path: str | os.PathLike,
    vocab_size: int,
    special_tokens: list[str],
    num_workers: int | None = None,
    pattern: str = GPT2_PATTERN,
    progress: bool = False,
):
    """Train; return (vocab, merges, merge_counts). Vocab ids: specials, then the 256 bytes, then merges in order.

    `num_workers` processes pre-tokenize (default: one per core; the result never depends on it); `progress`
    prints progress bars to stderr.
    """
    special_tokens = list(dict.fromkeys(special_tokens))
    minimum = len(special_tokens) + 256
    if vocab_size < minimum:
        raise ValueError(
            f"vocab_size={vocab_size} is below the minimum {minimum} (256 bytes + {len(special_tokens)} special tokens)"
        )
    pretokens = count_file_pretokens(os.fspath(input_path), special_tokens, num_workers, pattern, progress)
    word_counts: Counter[bytes] = Counter()
    for piece, count in pretokens.items():
        word_counts[piece.encode("utf-8")] += count
    del pretokens
    merges, merge_counts = bpe_merges(word_counts, vocab_size - minimum, progress)
    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}
    vocab.update({len(special_tokens) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges, merge_counts


def train_bpe(input_path, vocab_size: int, special_tokens: list[str], **kwargs):
    vocab, merges, _ = train_bpe_with_counts(input_path, vocab_size, special_tokens, **kwargs)
    return vocab, merges
