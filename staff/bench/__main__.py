"""Reference vs HF tokenizers (training) and vs tiktoken (encoding), side by side, on generated corpora.

    uv run --group bench python -m staff.bench            # 100 MB and 1 GB, vocab 10k and 32k (~15-20 min)
    uv run --group bench python -m staff.bench --quick    # a 9 MB corpus, vocab 1k and 4k (< 1 min): CI

Corpora come from bpe_harness.data.corpus (tinystories style, seed 0; the encoding text is a held-out seed-1 corpus),
generated once into bench/corpora under the kit's cache (CS336_CACHE_DIR moves it) and reused. Every training run is
its own process, timed from outside, with peak memory = the largest sum of RSS over the process and all its children,
sampled every 50 ms. Both sides get the same cores: the reference num_workers=N, HF RAYON_NUM_THREADS=N.

Encoding uses the merges the reference trained on the largest corpus: reference Tokenizer.encode vs tiktoken's
encode on one core, and bpe_harness.tools.encode_corpus with N workers (whole command: start-up, reading, writing the
.npy) vs tiktoken's encode_batch(num_threads=N) on all cores; tiktoken's ids are mapped to the reference's ids and
compared with the .npy. Writes report.json and bench.png into --out (default: bench/report[-quick] in the cache).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil

from bpe_harness.rules import EOT
from bpe_harness.settings import ROOT, cache_dir

FULL = {"sizes": ["100MB", "1GB"], "vocabs": [10_000, 32_000], "encode_size": "20MB"}
QUICK = {"sizes": ["9MB"], "vocabs": [1_000, 4_000], "encode_size": "3MB"}


def corpus(size: str, seed: int = 0, style: str = "tinystories") -> tuple[Path, dict]:
    """The generated corpus (created on first use) and its stats (bytes, documents, unique_words)."""
    from bpe_harness.data.corpus import parse_size, write_corpus

    path = cache_dir() / "bench" / "corpora" / f"{style}-{size}-s{seed}.txt"
    meta = path.with_name(path.name + ".json")
    if not (path.exists() and meta.exists() and meta.stat().st_size):
        print(f"generating {path} ...", file=sys.stderr)
        stats = write_corpus(path, parse_size(size), seed, style=style, mixed=True, progress=True)
        meta.write_text(json.dumps(stats))
    return path, json.loads(meta.read_text())


def run_job(kind: str, env_extra: dict | None = None, **args) -> dict:
    """Run `python -m staff.bench.jobs KIND ARGS` and measure wall time and peak RSS of its process tree."""
    env = dict(os.environ, **(env_extra or {}))
    cmd = [sys.executable, "-m", "staff.bench.jobs", kind, json.dumps(args)]
    start = time.perf_counter()
    proc = psutil.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            for p in [proc, *proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{kind} failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "wall_seconds": wall, "peak_rss_mb": peak / 2**20}


def merges_of(path: Path) -> list[tuple[bytes, bytes]]:
    return [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in json.loads(path.read_text())]


def bench_training(sizes, vocabs, cores, out_dir: Path) -> list[dict]:
    rows = []
    for size in sizes:
        path, stats = corpus(size)
        for vocab in vocabs:
            row = {"corpus": path.name, "corpus_mb": stats["bytes"] / 1e6, "vocab_size": vocab, "cores": cores}
            runs = {}
            for impl, kind, env in [
                ("reference", "train-reference", {}),
                ("hf", "train-hf", {"RAYON_NUM_THREADS": str(cores), "TOKENIZERS_PARALLELISM": "true"}),
            ]:
                target = out_dir / "trained" / f"{path.stem}-{vocab}-{impl}"
                load = os.getloadavg()[0]
                print(f"train {impl:9} {path.name} vocab {vocab} ...", file=sys.stderr, flush=True)
                runs[impl] = run_job(kind, env, path=str(path), vocab_size=vocab, workers=cores, out_dir=str(target))
                runs[impl]["load_before"] = load
                print(f"  {runs[impl]['wall_seconds']:.1f} s, peak {runs[impl]['peak_rss_mb']:.0f} MB", file=sys.stderr)
            ref_m = merges_of(out_dir / "trained" / f"{path.stem}-{vocab}-reference" / "merges.json")
            hf_m = merges_of(out_dir / "trained" / f"{path.stem}-{vocab}-hf" / "merges.json")
            row.update(
                reference=runs["reference"],
                hf=runs["hf"],
                time_ratio=runs["reference"]["wall_seconds"] / runs["hf"]["wall_seconds"],
                rss_ratio=runs["reference"]["peak_rss_mb"] / runs["hf"]["peak_rss_mb"],
                # informative only: HF reads files line by line, so its pre-tokens differ around newlines
                merge_overlap=len(set(ref_m) & set(hf_m)) / max(len(ref_m), 1),
            )
            rows.append(row)
    return rows


def bench_encoding(train_rows, encode_size, cores, out_dir: Path) -> list[dict]:
    import tiktoken  # noqa: F401  (runtime dependency)

    from bpe_harness.data.encodings import encoding_from_merges
    from bpe_harness.tools.encode_corpus import special_token_chunks
    from staff.reference.pretokenize import GPT2_PATTERN
    from staff.reference.tokenizer import Tokenizer

    path, stats = corpus(encode_size, seed=1)
    with open(path, encoding="utf-8", newline="") as f:  # exact text: no newline translation
        text = f.read()
    nbytes = stats["bytes"]
    rows = []
    largest = max(r["corpus_mb"] for r in train_rows)
    for train in [r for r in train_rows if r["corpus_mb"] == largest]:
        trained = out_dir / "trained" / f"{Path(train['corpus']).stem}-{train['vocab_size']}-reference"
        vocab = {int(i): bytes.fromhex(h) for i, h in json.loads((trained / "vocab.json").read_text()).items()}
        merges = merges_of(trained / "merges.json")
        row = {
            "text": path.name,
            "text_mb": nbytes / 1e6,
            "vocab_size": len(vocab),
            "trained_on": train["corpus"],
            "cores": cores,
        }
        print(f"encode vocab {len(vocab)} ...", file=sys.stderr, flush=True)

        tok = Tokenizer(vocab, merges, [EOT])  # fresh: cold cache, as in real use
        start = time.perf_counter()
        ref_ids = tok.encode(text)
        row["reference_1"] = nbytes / (time.perf_counter() - start) / 1e6

        enc = encoding_from_merges("bench", merges, GPT2_PATTERN, [EOT])
        start = time.perf_counter()
        tk_ids = enc.encode(text, allowed_special="all")
        row["tiktoken_1"] = nbytes / (time.perf_counter() - start) / 1e6

        npy = out_dir / f"encoded-{len(vocab)}.npy"
        job = run_job(
            "encode-reference",
            path=str(path),
            out=str(npy),
            vocab=str(trained / "vocab.json"),
            merges=str(trained / "merges.json"),
            workers=cores,
        )
        row["reference_n"] = nbytes / job["wall_seconds"] / 1e6
        row["reference_n_peak_rss_mb"] = job["peak_rss_mb"]

        pieces = [
            text_bytes.decode("utf-8") for text_bytes in _ranges(path, special_token_chunks(path, [EOT], 1 << 20))
        ]
        start = time.perf_counter()
        batch = enc.encode_batch(pieces, num_threads=cores, allowed_special="all")
        row["tiktoken_n"] = nbytes / (time.perf_counter() - start) / 1e6

        # tiktoken's ranks are: 256 bytes, then merges in order, then the special; map them to reference ids
        token_to_id = {t: i for i, t in sorted(vocab.items(), reverse=True)}
        rank_to_id = np.array(
            [token_to_id[t] for t, _ in sorted(enc._mergeable_ranks.items(), key=lambda kv: kv[1])]
            + [token_to_id[EOT.encode()]]
        )
        npy_ids = np.load(npy, mmap_mode="r")
        tk_mapped = rank_to_id[np.array(tk_ids)]
        tk_batch = rank_to_id[np.concatenate([np.array(b, dtype=np.int64) for b in batch])]
        row["identical_ids"] = bool(
            len(ref_ids) == len(tk_ids) == len(npy_ids) == len(tk_batch)
            and np.array_equal(np.array(ref_ids), tk_mapped)
            and np.array_equal(np.asarray(npy_ids), tk_mapped)
            and np.array_equal(tk_batch, tk_mapped)
        )
        row["ids"] = len(ref_ids)
        row["ratio_1"] = row["reference_1"] / row["tiktoken_1"]
        row["ratio_n"] = row["reference_n"] / row["tiktoken_n"]
        rows.append(row)
        npy.unlink()
    return rows


def _ranges(path, ranges):
    with open(path, "rb") as f:
        for start, end in ranges:
            f.seek(start)
            yield f.read(end - start)


def table(report: dict) -> str:
    lines = [
        f"machine: {report['machine']['cpus']} cores, {report['machine']['python']}, "
        f"tokenizers {report['machine']['tokenizers']}, tiktoken {report['machine']['tiktoken']}",
        "",
    ]
    lines.append("training (wall s / peak RSS MB; ratio = reference / HF, < 1 means the reference is faster)")
    lines.append(
        f"{'corpus':28} {'vocab':>6} {'ref s':>8} {'(pretok+merge)':>15} {'HF s':>8} {'ratio':>6} "
        f"{'ref MB':>7} {'HF MB':>7} {'overlap':>7}"
    )
    for r in report["training"]:
        ref, hf = r["reference"], r["hf"]
        lines.append(
            f"{r['corpus']:28} {r['vocab_size']:>6} {ref['wall_seconds']:8.1f} "
            f"{ref['pretokenize_seconds']:7.1f}+{ref['merge_seconds']:<7.1f} {hf['wall_seconds']:8.1f} "
            f"{r['time_ratio']:6.2f} {ref['peak_rss_mb']:7.0f} {hf['peak_rss_mb']:7.0f} {r['merge_overlap']:7.0%}"
        )
    lines.append("")
    lines.append("encoding (MB/s; ratio = reference / tiktoken, > 1 means the reference is faster)")
    lines.append(
        f"{'text':24} {'vocab':>6} {'ref 1':>7} {'tik 1':>7} {'ratio':>6} {'ref N':>7} {'tik N':>7} {'ratio':>6} "
        f"{'same ids':>8}"
    )
    for r in report["encoding"]:
        lines.append(
            f"{r['text']:24} {r['vocab_size']:>6} {r['reference_1']:7.2f} {r['tiktoken_1']:7.2f} "
            f"{r['ratio_1']:6.2f} {r['reference_n']:7.2f} {r['tiktoken_n']:7.2f} {r['ratio_n']:6.2f} "
            f"{str(r['identical_ids']):>8}"
        )
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (uv run --group bench ...): no plot", file=sys.stderr)
        return
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    tr = report["training"]
    x = np.arange(len(tr))
    a.bar(x - 0.2, [r["reference"]["wall_seconds"] for r in tr], 0.4, label="reference (Python)")
    a.bar(x + 0.2, [r["hf"]["wall_seconds"] for r in tr], 0.4, label="HF tokenizers (Rust)")
    a.set_xticks(x, [f"{r['corpus_mb']:.0f} MB\n{r['vocab_size'] // 1000}k" for r in tr])
    a.set_ylabel("training wall time (s)")
    a.set_title(f"training, {report['machine']['cpus']} cores")
    a.legend()
    en = report["encoding"]
    x = np.arange(len(en))
    for k, (key, label) in enumerate(
        [
            ("reference_1", "reference 1 core"),
            ("tiktoken_1", "tiktoken 1 thread"),
            ("reference_n", "reference N workers"),
            ("tiktoken_n", "tiktoken N threads"),
        ]
    ):
        b.bar(x + (k - 1.5) * 0.2, [r[key] for r in en], 0.2, label=label)
    b.set_xticks(x, [f"vocab {r['vocab_size'] // 1000}k" for r in en])
    b.set_ylabel("encoding throughput (MB/s)")
    b.set_title("encoding")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpus and vocabs (CI)")
    parser.add_argument("--out", type=Path, help="report folder (default: the kit cache's bench/report[-quick])")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="cores for both sides")
    parser.add_argument("--sizes", nargs="+", help="training corpus sizes, e.g. 100MB 1GB")
    parser.add_argument("--vocabs", nargs="+", type=int, help="vocab sizes, e.g. 10000 32000")
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.sizes:
        config["sizes"] = args.sizes
    if args.vocabs:
        config["vocabs"] = args.vocabs
    out = args.out or cache_dir() / "bench" / ("report-quick" if args.quick else "report")
    out.mkdir(parents=True, exist_ok=True)
    import tiktoken
    import tokenizers

    started = time.perf_counter()
    report = {
        "machine": {
            "cpus": args.cores,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "tokenizers": tokenizers.__version__,
            "tiktoken": tiktoken.__version__,
            "load_at_start": os.getloadavg(),
        },
        "config": config,
        "corpora": {},
    }
    for size in config["sizes"]:
        path, stats = corpus(size)
        report["corpora"][path.name] = stats
    report["training"] = bench_training(config["sizes"], config["vocabs"], args.cores, out)
    report["encoding"] = bench_encoding(report["training"], config["encode_size"], args.cores, out)
    report["machine"]["load_at_end"] = os.getloadavg()
    report["seconds"] = time.perf_counter() - started
    (out / "report.json").write_text(json.dumps(report, indent=1))
    plot(report, out / "bench.png")
    print(table(report))
    print(f"\nreport: {out / 'report.json'}  plot: {out / 'bench.png'}  ({report['seconds']:.0f} s)")
    bad = [r for r in report["encoding"] if not r["identical_ids"]]
    if bad:
        print("ERROR: reference and tiktoken ids differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
