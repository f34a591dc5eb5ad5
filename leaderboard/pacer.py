"""The pace-setter: the yardstick every leaderboard time is divided by, run in the same worker the same way.

Why not the reference? The reference is staff-only (absent from the student handout), and a correct trainer
shipped to students would be the assignment's answer. The pace-setter does the part of the work every solution
must do and that gives nothing away, with well-known tools:

* training: read the corpus, split it on the special tokens and count GPT-2 pre-tokens with the `regex` package
  (bpe_harness.rules.pretokens: the pattern and the rule are in the README). No merges are learned: it returns the
  256 bytes and the specials.
  Pre-tokenizing dominates training at scale, so a good single-process trainer scores a little above 1 and a
  parallel one can go below.
* encoding: tiktoken (Rust) built from the merges it is given, one thread. A pure-Python encoder scores ~2-3.

Both sides of a ratio then slow down together on a slower or busier machine, so the ratio travels. It is loaded as
`--impl leaderboard.pacer` through `bpe_harness.client.Client`, exactly like the submission.
"""

from __future__ import annotations

from collections import Counter

from bpe_harness import rules
from bpe_harness.data.encodings import encoding_from_merges

VERSION = 1  # bump when the workload changes: ratios against different versions are not comparable


def count_pretokens(text: str, special_tokens: list[str]) -> Counter[str]:
    return Counter(rules.pretokens(text, special_tokens))


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    with open(input_path, "rb") as f:
        text = f.read().decode("utf-8")
    count_pretokens(text, list(special_tokens))
    specials = list(dict.fromkeys(special_tokens))
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    return vocab, []


class PacerTokenizer:
    """tiktoken over the given merges; ids are tiktoken's ranks (only the time matters, and the token bytes)."""

    def __init__(self, vocab, merges, special_tokens=None, pattern=None):
        self.specials = list(dict.fromkeys(special_tokens or []))
        self.enc = encoding_from_merges("pacer", list(merges), pattern or rules.GPT2_PATTERN, self.specials)
        self.ids = {token: i for i, token in sorted(vocab.items(), reverse=True)}  # lowest id of a duplicate wins
        rank_to_id = {}
        for token, rank in self.enc._mergeable_ranks.items():
            rank_to_id[rank] = self.ids.get(token, -1)
        for s, rank in self.enc._special_tokens.items():
            rank_to_id[rank] = self.ids.get(s.encode("utf-8"), -1)
        self.rank_to_id = rank_to_id

    def encode(self, text: str) -> list[int]:
        """The vocab's ids (not tiktoken's ranks), so the submission's ids can be checked against these."""
        ranks = self.enc.encode(text, allowed_special=set(self.specials), disallowed_special=())
        table = self.rank_to_id
        return [table[r] for r in ranks]

    def encode_iterable(self, iterable):
        yield from self.encode("".join(iterable))  # not streaming: the pacer is never timed on this

    def decode(self, ids) -> str:
        vocab = {i: t for t, i in self.ids.items()}
        return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return PacerTokenizer(vocab, merges, special_tokens, pattern)
