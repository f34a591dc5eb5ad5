"""Reference Tokenizer: rank-based BPE encoding with a bounded cache, and exact streaming encode_iterable.

Fast where it counts for `encode_corpus` (`staff.bench` measures it): pre-tokens come from `pretokenize.fast_findall`
(`re` instead of `regex` on text within the BMP, same pieces), each piece's ids from a dict whose misses merge, and
the loop over pieces runs in C (map + chain).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

import regex

from .pretokenize import GPT2_PATTERN, fast_findall, special_splitter, split_on_specials

CACHE_LIMIT = 1 << 18  # pre-token -> ids entries kept before the cache is cleared: at most ~65 MB on real text
PIECES_HELD_BACK = 2  # trailing pre-tokens kept back while streaming: "we'l" + "l" re-splits the last two pieces
STREAM_RESCAN_CHARS = 1 << 12  # a held-back tail longer than this is rescanned only once it has doubled
_WHITESPACE = regex.compile(r"\s")
NO_MERGE = (float("inf"), -1)  # the (rank, merged id) of a pair that no merge joins: after every real rank


class PieceCache(dict):
    """pre-token -> its ids, merged on first sight; emptied when full, which bounds memory on huge inputs."""

    def __init__(self, merge: Callable[[str], list[int]]):
        super().__init__()
        self._merge = merge

    def __missing__(self, piece: str) -> list[int]:
        if len(self) >= CACHE_LIMIT:
            self.clear()
        ids = self[piece] = self._merge(piece)
        return ids


class Tokenizer:
    def __init__(
        self,
        vocab: dict[int, bytes],
        merges: list[tuple[bytes, bytes]],
        special_tokens: list[str] | None = None,
        pattern: str | None = None,
    ):
        self.vocab = dict(vocab)  # never mutate the caller's dict
        self.special_tokens = list(dict.fromkeys(special_tokens or []))
        token_to_id: dict[bytes, int] = {}
        for i, token in sorted(self.vocab.items()):
            token_to_id.setdefault(token, i)
        for special in self.special_tokens:
            encoded = special.encode("utf-8")
            if encoded not in token_to_id:
                new_id = max(self.vocab, default=-1) + 1
                self.vocab[new_id] = encoded
                token_to_id[encoded] = new_id
        self._byte_ids = [token_to_id[bytes([b])] for b in range(256)]
        self._special_ids = {s: token_to_id[s.encode("utf-8")] for s in self.special_tokens}
        # (left id, right id) -> (rank, merged id); a merge whose parts or result are not in the vocab can never apply
        self._merge_ranks: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, (a, b) in enumerate(merges):
            ids = token_to_id.get(a), token_to_id.get(b), token_to_id.get(a + b)
            if None not in ids:
                self._merge_ranks.setdefault((ids[0], ids[1]), (rank, ids[2]))
        self._pretoken = regex.compile(pattern or GPT2_PATTERN)
        self._findall = fast_findall(self._pretoken)
        self._splitter = special_splitter(self.special_tokens)
        self._cache: dict[str, list[int]] = PieceCache(self._merge_pretoken)

    @classmethod
    def from_files(cls, vocab_filepath: str, merges_filepath: str, special_tokens: list[str] | None = None):
        """Load the JSON files written by `save_vocab_and_merges`: vocab {id: hex}, merges [[hex, hex], ...]."""
        with open(vocab_filepath, encoding="utf-8") as f:
            vocab = {int(i): bytes.fromhex(h) for i, h in json.load(f).items()}
        with open(merges_filepath, encoding="utf-8") as f:
            merges = [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in json.load(f)]
        return cls(vocab, merges, special_tokens)

    # --- encoding -------------------------------------------------------------------------------------------------

    def _merge_pretoken(self, piece: str) -> list[int]:
        ids = [self._byte_ids[b] for b in piece.encode("utf-8")]
        get = self._merge_ranks.get
        # ranks[i]: (rank, merged id) of the pair ids[i], ids[i + 1], or NO_MERGE. Merging the lowest-ranked
        # occurrence, leftmost first, one at a time, equals merging all occurrences of the best pair at once: a pair
        # containing the new token always ranks after the merge that made it. min() and index() run in C.
        ranks = [get(pair, NO_MERGE) for pair in zip(ids, ids[1:], strict=False)]
        while ranks:
            best = min(ranks)
            if best is NO_MERGE:
                break
            i = ranks.index(best)
            ids[i : i + 2] = [best[1]]
            del ranks[i]
            if i > 0:
                ranks[i - 1] = get((ids[i - 1], ids[i]), NO_MERGE)
            if i < len(ranks):
                ranks[i] = get((ids[i], ids[i + 1]), NO_MERGE)
        return ids

    def _encode_plain(self, text: str, out: list[int]) -> None:
        out.extend(chain.from_iterable(map(self._cache.__getitem__, self._findall(text))))  # the loop runs in C

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        for segment, is_special in split_on_specials(text, self._splitter):
            if is_special:
                out.append(self._special_ids[segment])
            else:
                self._encode_plain(segment, out)
        return out

    # --- streaming ------------------------------------------------------------------------------------------------

    def _stable_prefix_end(self, buffer: str) -> int:
        """Length of the longest prefix of `buffer` whose encoding no later text can change."""
        cut = len(buffer)
        for special in self.special_tokens:  # a tail that could still grow into a special token stays buffered
            for k in range(min(len(special), len(buffer)), 0, -1):
                if buffer.endswith(special[:k]):
                    cut = min(cut, len(buffer) - k)
                    break
        plain_start = 0  # where the plain text that ends at `cut` begins
        if self._splitter is not None:
            for m in self._splitter.finditer(buffer):
                if m.start() >= cut:
                    break
                if m.end() > cut:  # a complete special straddling the cut: keep all of it for next time
                    cut = m.start()
                    break
                plain_start = m.end()
        if plain_start == cut:
            return cut
        starts = [m.start() for m in self._pretoken.finditer(buffer, plain_start, cut)]
        # Cut at the start of a piece, holding back the last PIECES_HELD_BACK, and never right after whitespace: a
        # whitespace run splits by what follows it (".\n\n{" is ".", "\n", "\n", "{" but ".\n\n" alone is ".", "\n\n").
        for start in reversed(starts[1 : len(starts) - PIECES_HELD_BACK + 1]):
            if not _WHITESPACE.match(buffer, start - 1):
                return start
        return plain_start

    def encode_iterable(self, iterable: Iterable[str]) -> Iterator[int]:
        buffer, rescan_at = "", 0
        for chunk in iterable:
            buffer += chunk
            if len(buffer) < rescan_at:
                continue
            end = self._stable_prefix_end(buffer)
            if end:
                yield from self.encode(buffer[:end])
                buffer = buffer[end:]
            # a long tail with no stable point yet (one enormous word or space run) waits until it doubles, so
            # rescanning it stays linear overall
            rescan_at = 2 * len(buffer) if len(buffer) > STREAM_RESCAN_CHARS else 0
        if buffer:
            yield from self.encode(buffer)

    # --- decoding -------------------------------------------------------------------------------------------------

    def decode(self, ids: list[int]) -> str:
        vocab = self.vocab
        return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


def save_vocab_and_merges(vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]], vocab_path, merges_path) -> None:
    """Write the JSON files `Tokenizer.from_files` reads (hex keeps every byte string exact)."""
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump({str(i): t.hex() for i, t in sorted(vocab.items())}, f)
    with open(merges_path, "w", encoding="utf-8") as f:
        json.dump([[a.hex(), b.hex()] for a, b in merges], f)
