"""encode_corpus (N worker processes, the whole command timed from outside) vs tiktoken's encode_batch (N threads,
encoding time only) on the same vocab, at sizes where start-up no longer dominates.

    uv run --group bench python -m staff.bench.encode --sizes 100MB 1GB      # ~1 min per 100 MB on 2 cores

The vocab is trained once by the reference (through `experiments train`, --vocab-size on a --train-size corpus) and
cached. tiktoken gets that vocab through `experiments.export.to_tiktoken` (same ids), is fed the same 1 MB
document-aligned pieces 32 at a time (bounded memory), and its ids are hashed and compared with the .npy body.
Writes report.json into --out (default: the kit cache's bench/encode; CS336_CACHE_DIR moves it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bpe_harness.rules import EOT
from bpe_harness.settings import ROOT, cache_dir
from staff.bench.__main__ import corpus

PIECE_BYTES = 1 << 20
BATCH = 32


def trained_vocab(out: Path, vocab_size: int, train_size: str) -> Path:
    from bpe_harness.tools.experiments.train import run_train

    run = out / f"vocab-{vocab_size}-{train_size}"
    if not (run / "merges.json").exists():
        path, _ = corpus(train_size, seed=0)
        print(f"training the reference, vocab {vocab_size} on {path.name} ...", file=sys.stderr)
        run_train(path, vocab_size, run, impl="reference", force=True)
    return run


def run_encode_corpus(path: Path, run: Path, npy: Path, workers: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "bpe_harness.tools.encode_corpus",
        str(path),
        str(npy),
        "--vocab",
        str(run / "vocab.json"),
        "--merges",
        str(run / "merges.json"),
        "--special-token",
        EOT,
        "--impl",
        "reference",
        "--workers",
        str(workers),
        "--force",
        "--quiet",
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"encode_corpus failed with exit code {done.returncode}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_s": wall}


def run_tiktoken(path: Path, run: Path, threads: int) -> dict:
    from bpe_harness.data.vocab_io import load_vocab_and_merges
    from bpe_harness.tools.encode_corpus import special_token_chunks
    from bpe_harness.tools.experiments.export import to_tiktoken

    vocab, merges = load_vocab_and_merges(run / "vocab.json", run / "merges.json")
    enc = to_tiktoken(vocab, merges, [EOT])
    digest, count, seconds = hashlib.sha256(), 0, 0.0
    ranges = special_token_chunks(path, [EOT], PIECE_BYTES)
    with open(path, "rb") as f:
        for k in range(0, len(ranges), BATCH):
            pieces = []
            for start, end in ranges[k : k + BATCH]:
                f.seek(start)
                pieces.append(f.read(end - start).decode("utf-8"))
            t0 = time.perf_counter()
            batch = enc.encode_batch(pieces, num_threads=threads, allowed_special="all")
            seconds += time.perf_counter() - t0
            for ids in batch:
                digest.update(np.asarray(ids, dtype=np.uint16).tobytes())
                count += len(ids)
    return {"seconds": seconds, "ids": count, "sha256": digest.hexdigest()}


def npy_sha256(npy: Path) -> str:
    arr = np.load(npy, mmap_mode="r")
    digest = hashlib.sha256()
    for k in range(0, len(arr), 1 << 24):
        digest.update(np.ascontiguousarray(arr[k : k + (1 << 24)]).astype(np.uint16).tobytes())
    return digest.hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.bench.encode", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100MB", "1GB"])
    parser.add_argument("--workers", type=int, default=2, help="encode_corpus workers = tiktoken threads")
    parser.add_argument("--vocab-size", type=int, default=10_000)
    parser.add_argument("--train-size", default="20MB")
    parser.add_argument("--out", type=Path, default=cache_dir() / "bench" / "encode")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    run = trained_vocab(args.out, args.vocab_size, args.train_size)
    rows = []
    for size in args.sizes:
        path, stats = corpus(size, seed=1)
        npy = args.out / f"encoded-{size}.npy"
        load = os.getloadavg()[0]
        ours = run_encode_corpus(path, run, npy, args.workers)
        theirs = run_tiktoken(path, run, args.workers)
        same = npy_sha256(npy) == theirs["sha256"] and ours["ids"] == theirs["ids"]
        npy.unlink()
        mb = stats["bytes"] / 1e6
        row = {
            "size": size,
            "mb": mb,
            "workers": args.workers,
            "vocab_size": args.vocab_size,
            "load_before": load,
            "encode_corpus_s": ours["wall_s"],
            "encode_corpus_mb_s": mb / ours["wall_s"],
            "tiktoken_s": theirs["seconds"],
            "tiktoken_mb_s": mb / theirs["seconds"],
            "ratio": theirs["seconds"] / ours["wall_s"],
            "identical_ids": same,
            "ids": ours["ids"],
        }
        rows.append(row)
        print(
            f"{size:>6}: encode_corpus {row['encode_corpus_mb_s']:6.2f} MB/s ({ours['wall_s']:.1f} s, whole command)"
            f"  tiktoken encode_batch {row['tiktoken_mb_s']:6.2f} MB/s  ratio {row['ratio']:.2f}  "
            f"identical ids: {same}  (load {load:.1f})",
            flush=True,
        )
    (args.out / "report.json").write_text(json.dumps(rows, indent=1))
    return 0 if all(r["identical_ids"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
