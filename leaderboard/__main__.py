"""Command line of the leaderboard: `submit` for students; `validate`, `verify`, `render`, `list` for staff.

Exit codes: 0 done, 1 refused (gate failed, a check failed, a ratio did not reproduce), 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from bpe_harness.data.corpus import parse_size
from leaderboard import benchmark, record
from leaderboard.errors import GateFailure, SubmitError
from leaderboard.inputs import Spec, corpus_path, drop_inputs
from leaderboard.profiling import profile_training
from leaderboard.record import RecordError
from leaderboard.sandboxing import make_sandbox

STAFF = ("validate", "verify", "render", "list")


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except (ValueError, SystemExit, argparse.ArgumentTypeError) as e:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 16MB, 500KB)") from e


def add_spec_options(p: argparse.ArgumentParser) -> None:
    d = Spec()
    p.add_argument(
        "--size",
        type=_size,
        default=d.size,
        help=f"generated training corpus size (default {d.size // 1_000_000}MB: ~30 s in all for a good "
        "solution; try 100MB for a longer race)",
    )
    p.add_argument(
        "--corpus",
        type=Path,
        help="train on this text file instead (e.g. TinyStories); not ranked with generated-corpus entries",
    )
    p.add_argument("--vocab-size", type=int, default=d.vocab_size)
    p.add_argument("--held-out-size", type=_size, default=d.held_out_size, help="generated text to encode")
    p.add_argument("--rounds", type=int, default=d.rounds, help="interleaved rounds (the median is kept)")
    p.add_argument("--timeout", type=float, default=d.timeout, help="seconds allowed per call")
    p.add_argument("--max-memory", type=_size, default=d.max_memory, help="peak memory allowed per call")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"seed of the rounds' generated inputs (default {d.seed}, the published one: a practice run)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="draw the seed now (inputs nobody saw: what staff `verify` does for the ranked figure)",
    )
    # staff verify: read the seed it drew from stdin (a pipe), never from the command line, which every process sees
    p.add_argument("--drawn-seed-on-stdin", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--no-sandbox",
        dest="sandbox",
        action="store_false",
        help="run the worker without the grader's sandbox (it is used whenever this machine allows it)",
    )


def spec_from(args) -> Spec:
    if args.rounds < 1 or args.vocab_size < 258:
        raise SubmitError("--rounds must be >= 1 and --vocab-size >= 258")
    drawn_seed = None
    if args.drawn_seed_on_stdin:
        line = sys.stdin.readline().strip()
        sys.stdin.close()
        if not line.isdigit():
            raise SubmitError("--drawn-seed-on-stdin: expected the seed, a number, on the first line of stdin")
        drawn_seed = int(line)
        args.seed, args.fresh = drawn_seed, None
    if args.fresh and args.seed is not None:
        raise SubmitError("--fresh draws the seed; do not give --seed too")
    if args.seed is not None and args.seed < 0:
        raise SubmitError(f"--seed {args.seed}: use a seed >= 0")
    seed = secrets.randbelow(1 << 31) + 1 if args.fresh else (Spec().seed if args.seed is None else args.seed)
    drawn = bool(args.fresh) or drawn_seed is not None
    return Spec(
        size=args.size,
        seed=seed,
        drawn=drawn,
        corpus=args.corpus,
        vocab_size=args.vocab_size,
        held_out_size=args.held_out_size,
        rounds=args.rounds,
        timeout=args.timeout,
        max_memory=args.max_memory,
    )


def submit(args) -> int:
    name = record.check_name(args.name)
    out = (args.out or record.SUBMISSIONS) / f"{name}.json"
    if out.exists() and not args.force:
        raise RecordError(f"{out} already exists; pass --force to replace it (nothing was run or written)")
    spec = spec_from(args)
    try:
        corpus_path(spec)  # a missing --corpus fails now, not after the gate
        code = record.collect_code(args.impl, with_text=args.include_code)
        box, sandbox_kind = make_sandbox(args.sandbox, spec.max_memory, args.impl)
        kind = "practice, published inputs" if spec.practice else "inputs drawn now"
        print(
            f"leaderboard: gate, then {spec.rounds} rounds of yours vs the pace-setter, each in fresh workers on "
            f"its own inputs (seed {spec.seed}: {kind}; sandbox: {sandbox_kind}; --impl {args.impl})",
            file=sys.stderr,
        )
        try:
            result = benchmark.run(
                args.impl, spec, sandbox=box, sandbox_kind=sandbox_kind, show_progress=not args.quiet
            )
            profiled, profile = profile_training(args.impl, spec, sandbox=box) if args.profile else (None, None)
        finally:
            if box is not None:
                box.cleanup()
    finally:
        drop_inputs(spec)
    rec = record.build(name, args.impl, code, result, ["python -m leaderboard", *sys.argv[1:]])
    record.write(rec, out, args.force)
    print(
        f"\ntrain {rec['train']['ratio']:.3f}x and encode {rec['encode']['ratio']:.3f}x the pace-setter's time "
        f"(score {rec['score']:.3f}; lower is better); peak memory: training "
        f"{rec['train']['peak_bytes'] / 1e6:,.0f} MB, encode_iterable "
        f"{rec['encode_iterable']['peak_bytes'] / 1e6:,.1f} MB (tokenizer + streaming)"
    )
    for line in record.hints(rec, profile=profiled):
        print(f"hint: {line}")
    if profile:
        print(profile)
    shown = out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out
    print(
        f"wrote {out} ({'a practice run' if rec['inputs']['practice'] else 'inputs drawn at measuring time'}; "
        "the ranked figure is measured by staff on inputs nobody has seen)\n"
        f"next: commit {shown} with your code and submit to Gradescope as usual; staff re-run exactly the code "
        "whose digests it records (leaderboard/README.md)."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leaderboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("submit", help="gate + benchmark your implementation; write leaderboard/submissions/NAME.json")
    p.add_argument("--name", required=True)
    p.add_argument("--impl", default="student", help="student (default), a path to adapters.py, or a module")
    p.add_argument("--force", action="store_true", help="replace an existing submission of that name")
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)  # tests write elsewhere
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument(
        "--profile",
        action="store_true",
        help="after the benchmark, profile one training (cProfile): where the time goes",
    )
    p.add_argument(
        "--include-code",
        action="store_true",
        help="record the code's text too, not only its digests (only for a board whose readers may see it)",
    )
    add_spec_options(p)
    try:
        from leaderboard import staff_commands
    except ImportError:
        staff_commands = None  # the student handout has no staff side
    if staff_commands is not None:
        staff_commands.add_commands(sub)
    elif argv is None and len(sys.argv) > 1 and sys.argv[1] in STAFF or argv and argv[0] in STAFF:
        print(
            f"error: `{(argv or sys.argv[1:])[0]}` is a staff command, not part of the student handout; "
            "students use `submit`",
            file=sys.stderr,
        )
        return 2
    args = parser.parse_args(argv)
    try:
        if args.command == "submit":
            return submit(args)
        return args.run(args)
    except GateFailure as e:
        print(
            f"refused: your implementation does not pass the correctness gate, so no submission was written.\n{e}",
            file=sys.stderr,
        )
        return 1
    except (SubmitError, RecordError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, RecordError) else 1


if __name__ == "__main__":
    sys.exit(main())
