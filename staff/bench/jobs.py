"""One measured job per process (so peak memory is its own): `python -m staff.bench.jobs KIND JSON_ARGS`.

Prints one JSON line with the result. The parent (staff.bench.__main__) times the process from outside and samples
the memory of the process and its children.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from bpe_harness.rules import EOT


def train_reference(path: str, vocab_size: int, workers: int, out_dir: str) -> dict:
    from staff.reference import train as T
    from staff.reference.tokenizer import save_vocab_and_merges

    marks = {}
    real = T.bpe_merges

    def timed_merges(*args, **kwargs):  # record where pre-tokenization ends and merging begins
        marks["merge_start"] = time.perf_counter()
        return real(*args, **kwargs)

    T.bpe_merges = timed_merges
    start = time.perf_counter()
    vocab, merges = T.train_bpe(path, vocab_size, [EOT], num_workers=workers)
    end = time.perf_counter()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    save_vocab_and_merges(vocab, merges, Path(out_dir) / "vocab.json", Path(out_dir) / "merges.json")
    return {
        "seconds": end - start,
        "pretokenize_seconds": marks["merge_start"] - start,
        "merge_seconds": end - marks["merge_start"],
        "vocab_size": len(vocab),
    }


def _bytes_from_unicode() -> dict[str, int]:
    """Inverse of GPT-2's byte -> printable character table (used by HF ByteLevel)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=False)}


def train_hf(path: str, vocab_size: int, workers: int, out_dir: str) -> dict:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.add_special_tokens([EOT])  # split out of the text before pre-tokenization, as in the reference
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOT],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    start = time.perf_counter()
    tok.train([path], trainer)
    seconds = time.perf_counter() - start
    model = json.loads(tok.to_str())["model"]
    table = _bytes_from_unicode()
    merges = []
    for m in model["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        merges.append([bytes(table[c] for c in a).hex(), bytes(table[c] for c in b).hex()])
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "merges.json").write_text(json.dumps(merges))
    return {"seconds": seconds, "vocab_size": tok.get_vocab_size(), "threads": os.environ.get("RAYON_NUM_THREADS")}


def encode_reference_corpus(path: str, out: str, vocab: str, merges: str, workers: int) -> dict:
    from bpe_harness.tools.encode_corpus import encode_file

    return encode_file(path, out, vocab, merges, [EOT], impl="reference", workers=workers, force=True)


JOBS = {"train-reference": train_reference, "train-hf": train_hf, "encode-reference": encode_reference_corpus}

if __name__ == "__main__":
    kind, args = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(JOBS[kind](**args)))
