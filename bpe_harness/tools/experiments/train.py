"""`train`: run an implementation's trainer on a corpus in the isolated worker, with a live progress line, and save
the tokenizer and a report.

    uv run python -m bpe_harness.tools.experiments train CORPUS --vocab-size 10000 --out runs/tinystories-10k \\
        [--special-token '<|endoftext|>'] [--impl student|reference|PATH.py|module] [--timeout S] [--force]

Writes into --out (all or nothing: built in a temporary directory, renamed at the end):
    vocab.json, merges.json   the kit's format (bpe_harness.data.vocab_io), what encode_corpus and export read
    vocab.txt, merges.txt     the same for people: one token or merge per line, tokens as JSON strings
    report.json               wall and CPU time, peak memory, vocab size, the longest tokens, ...
and prints a summary. Time and memory are measured from outside the worker (psutil), children included.
"""

from __future__ import annotations

import datetime
import json
import platform
import sys
import time
from pathlib import Path

from bpe_harness.client import Client, WorkerCrashed, WorkerFailure, WorkerTimeout
from bpe_harness.data.vocab_io import save_vocab_and_merges, token_text, write_readable
from bpe_harness.files import write_atomically
from bpe_harness.rules import EOT
from bpe_harness.tools.experiments.inputs import ExperimentError, check_corpus, describe_os_error, staged_dir
from bpe_harness.tools.progress import ProgressLine, human_bytes

LONGEST = 5


def longest_tokens(vocab: dict[int, bytes], special_tokens, n: int = LONGEST) -> list[dict]:
    """The n longest tokens by byte length (specials excluded), longest first, ties by id."""
    specials = {s.encode("utf-8") for s in special_tokens}
    ranked = sorted(((i, t) for i, t in vocab.items() if t not in specials), key=lambda it: (-len(it[1]), it[0]))
    return [
        {"id": i, "bytes": len(t), "hex": t.hex(), "text": t.decode("utf-8", errors="replace"), "utf8": _is_utf8(t)}
        for i, t in ranked[:n]
    ]


def _is_utf8(t: bytes) -> bool:
    try:
        t.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def summary_text(report: dict) -> str:
    """The printed summary of a training report."""
    lines = [
        f"trained {report['impl']} on {report['corpus']} ({human_bytes(report['corpus_bytes'])})",
        f"  wall time    {report['wall_s']:.1f} s  (CPU {report['cpu_s']:.1f} s, "
        f"{report['corpus_bytes'] / 1e6 / max(report['wall_s'], 1e-9):.2f} MB/s)",
        f"  peak memory  {human_bytes(report['peak_rss_bytes'])} worker RSS "
        f"({human_bytes(report['peak_bytes'])} above its start), children {human_bytes(report['children_peak_bytes'])}",
        f"  vocab        {report['vocab_size']:,} tokens, {report['merges']:,} merges, "
        f"specials {', '.join(report['special_tokens']) or 'none'}",
        "  longest      "
        + "\n               ".join(
            f"{t['bytes']:3d} bytes  id {t['id']:<6} {token_text(bytes.fromhex(t['hex']))}"
            for t in report["longest_tokens"]
        ),
    ]
    if report.get("profile"):
        lines.append(
            f"  profile      top functions by cumulative time in the worker (times include cProfile's "
            f"overhead; {report['profile']['note']}):"
        )
        for row in report["profile"]["top"][:12]:
            lines.append(
                f"    {row['cumtime']:8.2f} s cumulative {row['tottime']:8.2f} s own {row['ncalls']:>10} calls  "
                f"{row['function']}"
            )
    lines.append(
        f"  saved        {report['out']}/ (vocab.json merges.json vocab.txt merges.txt report.json"
        f"{' profile.json' if report.get('profile') else ''})"
    )
    return "\n".join(lines)


def run_train(
    corpus,
    vocab_size: int,
    out,
    *,
    special_tokens=(EOT,),
    impl: str = "student",
    force: bool = False,
    timeout: float = 3600.0,
    profile: bool = False,
    progress: bool = True,
    stream=None,
) -> dict:
    """Train in the worker and save everything into `out`; return the report. Raises ExperimentError for bad input
    or a failed run (and KeyboardInterrupt, after cleaning up, on Ctrl-C)."""
    stream = stream if stream is not None else sys.stderr
    special_tokens = list(dict.fromkeys(special_tokens))
    out = Path(out)
    if vocab_size < 256 + len(special_tokens):
        raise ExperimentError(
            f"--vocab-size {vocab_size} is below 256 + {len(special_tokens)} special token(s) = "
            f"{256 + len(special_tokens)}: every byte and every special needs an id"
        )
    corpus_bytes = check_corpus(corpus)
    line = ProgressLine("train", corpus_bytes, stream=stream, enabled=progress)
    started = time.monotonic()
    try:
        with staged_dir(out, force) as tmp, Client(impl) as client:
            try:
                client.start()
            except Exception as e:
                raise ExperimentError(f"could not load the implementation {impl!r}: {e}") from None
            try:
                vocab, merges = client.train(
                    corpus, vocab_size, special_tokens, timeout=timeout, on_progress=line, profile=profile
                )
            except KeyboardInterrupt:
                line.finish(
                    f"stopped by Ctrl-C after {time.monotonic() - started:.1f} s; the worker was stopped and "
                    f"nothing was written to {out}"
                )
                raise
            except Exception as e:
                line.finish()
                raise _failure(e, timeout) from (None if isinstance(e, WorkerFailure) else e)
            line.finish()
            call = client.last
            report = {
                "corpus": str(corpus),
                "corpus_bytes": corpus_bytes,
                "impl": impl,
                "impl_label": client.label,
                "vocab_size_requested": vocab_size,
                "special_tokens": special_tokens,
                "pattern": None,
                "wall_s": round(call.wall_s, 3),
                "cpu_s": round(call.cpu_s, 3),
                "peak_bytes": call.peak_bytes,
                "peak_rss_bytes": max(line.peak_rss, call.peak_bytes),
                "children_peak_bytes": max(call.children_peak, line.peak_children),
                "vocab_size": len(vocab),
                "merges": len(merges),
                "longest_tokens": longest_tokens(vocab, special_tokens),
                "profile": call.profile,
                "out": str(out),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "platform": platform.platform(),
            }
            if call.profile is not None:
                write_atomically(tmp / "profile.json", json.dumps(call.profile, indent=1) + "\n")
            save_vocab_and_merges(vocab, merges, tmp / "vocab.json", tmp / "merges.json")
            write_readable(vocab, merges, tmp / "vocab.txt", tmp / "merges.txt")
            write_atomically(tmp / "report.json", json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    except OSError as e:
        raise ExperimentError(describe_os_error(e, f"writing {out}")) from None
    return report


def _failure(e: Exception, timeout: float) -> ExperimentError:
    """What to tell the user when the training call failed."""
    if isinstance(e, WorkerTimeout):
        return ExperimentError(f"training did not finish within --timeout {timeout:g} s; nothing was written. {e}")
    if isinstance(e, WorkerCrashed):
        return ExperimentError(f"the implementation crashed; nothing was written.\n{e}")
    if isinstance(e, WorkerFailure):
        return ExperimentError(f"the worker failed; nothing was written.\n{e}")
    # the implementation's own exception, rebuilt from the worker
    return ExperimentError(f"run_train_bpe raised {type(e).__name__}: {e}; nothing was written")


def add_arguments(parser) -> None:
    parser.add_argument("corpus", help="UTF-8 text file (documents separated by the special token)")
    parser.add_argument("--vocab-size", type=int, required=True, help="e.g. 10000 (TinyStories), 32000 (OWT)")
    parser.add_argument("--out", required=True, help="output directory, e.g. runs/tinystories-10k")
    parser.add_argument(
        "--special-token",
        action="append",
        dest="special_tokens",
        default=None,
        help=f"a special token (repeatable; default {EOT})",
    )
    parser.add_argument("--impl", default="student", help="student (default), reference, PATH.py or a module")
    parser.add_argument("--timeout", type=float, default=3600.0, help="stop the trainer after this many s")
    parser.add_argument("--profile", action="store_true", help="top functions by cumulative time (in the worker)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--quiet", action="store_true", help="no progress line")


def main(args) -> int:
    specials = args.special_tokens if args.special_tokens is not None else [EOT]
    report = run_train(
        args.corpus,
        args.vocab_size,
        args.out,
        special_tokens=specials,
        impl=args.impl,
        force=args.force,
        timeout=args.timeout,
        profile=args.profile,
        progress=not args.quiet,
    )
    print(summary_text(report))
    return 0
