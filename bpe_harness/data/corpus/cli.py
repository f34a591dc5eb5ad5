"""The corpus generator's command line: ``python -m bpe_harness.data.corpus OUT_PATH --size 100MB --seed 0 ...``
writes a corpus file and prints its statistics as one JSON line (README, .ci/run and the experiments use it)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import regex

from bpe_harness.data.corpus.styles import STYLES
from bpe_harness.data.corpus.writing import write_corpus

_UNITS = {
    "": 1,
    "B": 1,
    "K": 10**3,
    "KB": 10**3,
    "M": 10**6,
    "MB": 10**6,
    "G": 10**9,
    "GB": 10**9,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
}


def parse_size(text: str) -> int:
    """'500KB' -> 500_000, '10MB' -> 10_000_000, '1.5GB', '64MiB', '1234' (bytes). KB/MB/GB are decimal."""
    m = regex.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in _UNITS:
        raise ValueError(f"cannot parse size {text!r} (examples: 500KB, 10MB, 1GB, 64MiB, 1234)")
    return int(round(float(m.group(1)) * _UNITS[m.group(2).upper()]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bpe_harness.data.corpus",
        description="Write a deterministic synthetic corpus (documents separated by <|endoftext|>\\n).",
    )
    ap.add_argument("out_path")
    ap.add_argument("--size", default="100MB", help="target size, e.g. 500KB, 10MB, 1GB (default 100MB)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--style", choices=STYLES, default="tinystories")
    ap.add_argument("--no-mixed", action="store_true", help="pure ASCII English only")
    ap.add_argument("--force", action="store_true", help="overwrite OUT_PATH if it exists")
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    args = ap.parse_args(argv)
    try:
        size = parse_size(args.size)
    except ValueError as e:
        ap.error(str(e))
    if args.seed < 0:
        ap.error("--seed must be >= 0")
    if os.path.exists(args.out_path) and not args.force:
        print(
            f"error: refusing to overwrite existing file {args.out_path!r} (pass --force to replace it)",
            file=sys.stderr,
        )
        return 1
    t0 = time.perf_counter()
    stats = write_corpus(
        args.out_path, size, args.seed, style=args.style, mixed=not args.no_mixed, progress=not args.quiet
    )
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    stats["path"] = args.out_path
    print(json.dumps(stats))
    return 0
