"""Staff grading: the public judge plus hidden tests, batch grading, the Gradescope zip, and the handout check.

    uv run python -m staff.grade SUBMISSION [--out results.json] [--tests PATH] [-k EXPR] [--hidden-seed N]
    uv run python -m staff.grade --batch DIR --jobs N [--out-dir DIR] [--regrade]   # gradebook.csv + summary.md
    uv run --group staff python -m staff.grade --similarity DIR [--compare-with DIR] [--out-dir DIR]  # flags copies
    uv run python -m staff.grade --gradescope-zip OUT.zip [--force] [--hidden-seed N]  # prints the seed it fixes
    uv run python -m staff.grade --handout-check                           # bare handout = 0, with reference = full
    uv run python -m staff.grade --self-test                               # the reference graded: full marks

This file is the command line only; each command lives in staff/grading/ (one module each, listed there).

Why this exists: the same judge students run (bpe_harness.grade), with the staff-only parts added on top, so the
two can never drift apart. Hidden tests (staff/hidden) are differential tests against the reference on corpora
drawn from a secret seed: --hidden-seed, else $CS336_HIDDEN_SEED (the Gradescope zip fixes one at build time, so a
regrade gives the same score), else fresh per run. The seed is printed here, never written into results.json.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from bpe_harness.grade import ROOT, add_common_arguments, check_out, format_table, grade, kit_version
from staff.grading.batch import BATCH_FILE, BatchError, batch, batch_seed
from staff.grading.gradescope_zip import build_gradescope_zip
from staff.grading.handout_check import handout_check
from staff.grading.self_test import self_test
from staff.grading.similarity_report import similarity_pass
from staff.grading.staff_judge import HIDDEN_SEED_ENV, STAFF_KIT, staff_options


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.grade", description=__doc__.splitlines()[0])
    parser.add_argument("submission", nargs="?", type=Path, help="a student checkout (directory) or .zip")
    add_common_arguments(parser)
    parser.add_argument("--hidden-seed", type=int, default=None, help="seed of the hidden tests (default: random)")
    parser.add_argument("--no-hidden", action="store_true", help="public tests only")
    parser.add_argument("--batch", type=Path, metavar="DIR", help="grade every submission (dir or .zip) in DIR")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once with --batch")
    parser.add_argument("--out-dir", type=Path, default=None, help="--batch output folder (default DIR-grading)")
    parser.add_argument(
        "--regrade",
        action="store_true",
        help="--batch: grade every submission again (default: only new, changed or failed ones, or "
        "those graded with another kit or hidden seed)",
    )
    parser.add_argument("--similarity", type=Path, metavar="DIR", help="flag similar submissions in DIR (no grading)")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="DIR",
        help="--similarity/--batch: also compare with solutions collected here",
    )
    parser.add_argument("--gradescope-zip", type=Path, metavar="OUT.zip", help="build the Gradescope autograder zip")
    parser.add_argument("--handout-check", action="store_true", help="bare handout scores 0, with reference full")
    parser.add_argument("--self-test", action="store_true", help="grade the reference: must be full marks")
    args = parser.parse_args(argv)
    if args.gradescope_zip:
        seed = args.hidden_seed if args.hidden_seed is not None else secrets.randbits(32)
        files = build_gradescope_zip(args.gradescope_zip, args.force, seed)
        print(f"wrote {args.gradescope_zip} ({len(files)} files, kit {kit_version(ROOT, STAFF_KIT)})")
        print(
            f"hidden seed fixed in it: {seed} (staff only: keep it; `--hidden-seed {seed}` reproduces "
            "Gradescope's hidden tests, e.g. in --batch)"
        )
        return 0
    if args.handout_check:
        return handout_check(args.timeout)
    for folder in (args.similarity, args.compare_with):
        if folder is not None and not folder.is_dir():
            parser.error(f"{folder}: not a directory")
    if args.similarity:
        out_dir = args.out_dir or args.similarity.parent / f"{args.similarity.name}-grading"
        try:
            return 0 if similarity_pass(args.similarity, out_dir, compare_with=args.compare_with) else 2
        except BatchError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.self_test:
        return self_test(args.timeout)
    seed = args.hidden_seed
    if seed is None and os.environ.get(HIDDEN_SEED_ENV):
        seed = int(os.environ[HIDDEN_SEED_ENV])
    out_dir = None
    if args.batch:
        if not args.batch.is_dir():
            parser.error(f"--batch {args.batch}: not a directory")
        out_dir = args.out_dir or args.batch.parent / f"{args.batch.name}-grading"
        if seed is None and not args.no_hidden and batch_seed(out_dir) is not None:
            seed = batch_seed(out_dir)  # resume under the seed this batch was graded with
            print(f"hidden seed {seed}: the one {out_dir / BATCH_FILE} recorded (give --hidden-seed to change it)")
    if seed is None:
        seed = secrets.randbits(32)
    options = staff_options(args.tests, args.keyword, args.timeout, seed, hidden=not args.no_hidden)
    if not args.no_hidden:
        print(f"hidden seed: {seed} (staff only; rerun with --hidden-seed {seed} to reproduce)")
    if args.batch:
        try:
            return batch(args.batch, out_dir, args.jobs, options, regrade=args.regrade, compare_with=args.compare_with)
        except BatchError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.regrade:
        parser.error("--regrade goes with --batch")
    check_out(parser, args)
    if args.submission is None:
        parser.error("give a SUBMISSION, or --batch DIR, --gradescope-zip OUT.zip, --handout-check, --self-test")
    results, code = grade(args.submission, args.out, options)
    print(format_table(results))
    print(f"results written to {args.out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
