"""Staff grading: the public judge plus hidden tests, batch grading, the Gradescope zip, and the handout check.

    uv run python -m staff.grade SUBMISSION [--out results.json] [--tests PATH] [-k EXPR] [--hidden-seed N]
    uv run python -m staff.grade --batch DIR --jobs N [--out-dir DIR] [--regrade [NAME ...]]  # gradebook + summary
    uv run --group staff python -m staff.grade --similarity DIR [--compare-with DIR] [--out-dir DIR]  # flags copies
    uv run python -m staff.grade --gradescope-zip OUT.zip [--force] [--hidden-seed N]  # prints the seed it fixes
    uv run python -m staff.grade --handout-check                           # bare handout = 0, with reference = full
    uv run python -m staff.grade --self-test [--json]                      # the reference graded: full marks
    uv run python -m staff.grade --reference-submission DIR                # the reference as a submission to upload

This file is the command line only; each command lives in staff/grading/ (one module each, listed there).

Why this exists: the same judge students run (bpe_harness.judge.grade), with the staff-only parts added on top, so the
two can never drift apart. Hidden tests (staff/hidden) are differential tests against the reference on corpora
drawn from a secret seed: --hidden-seed, else $CS336_HIDDEN_SEED (the Gradescope zip fixes one at build time, so a
regrade gives the same score), else fresh per run. The seed is printed here, never written into results.json.

Run as a command, it moves its own arguments off its command line (every process of the machine can read a command
line, and a batch's names the class's folder): it starts again with them in its environment, which other users
cannot read (see `hide_arguments`).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from bpe_harness.judge.console import format_table
from bpe_harness.judge.grade import GradeOptions, add_common_arguments, check_out, grade, grade_and_report
from bpe_harness.judge.staging import kit_version
from bpe_harness.settings import ROOT
from staff.grading.batch import BATCH_FILE, BatchError, batch, batch_seed
from staff.grading.gradescope_zip import build_gradescope_zip
from staff.grading.handout_check import handout_check
from staff.grading.self_test import self_test
from staff.grading.similarity_report import similarity_pass
from staff.grading.staff_judge import HIDDEN_SEED_ENV, STAFF_KIT, reference_submission, staff_options

ARGV_ENV = "CS336_GRADE_ARGV"  # this command's arguments, moved off its command line (hide_arguments)


def _parser() -> argparse.ArgumentParser:
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
        nargs="*",
        metavar="NAME",
        default=None,
        help="--batch: grade these submissions again (no NAME: every one; default: only new, changed or failed "
        "ones, or those graded with another kit or hidden seed)",
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
    parser.add_argument("--json", action="store_true", help="--self-test: print one JSON document (table on stderr)")
    parser.add_argument(
        "--reference-submission",
        type=Path,
        metavar="DIR",
        help="write the reference as a student-shaped submission (DIR and DIR.zip, to upload to Gradescope), "
        "grade it here: full marks",
    )
    return parser


def gradescope_zip(args: argparse.Namespace) -> int:
    seed = args.hidden_seed if args.hidden_seed is not None else secrets.randbits(32)
    files = build_gradescope_zip(args.gradescope_zip, args.force, seed)
    print(f"wrote {args.gradescope_zip} ({len(files)} files, kit {kit_version(ROOT, STAFF_KIT)})")
    print(
        f"hidden seed fixed in it: {seed} (staff only: keep it; `--hidden-seed {seed}` reproduces "
        "Gradescope's hidden tests, e.g. in --batch)"
    )
    return 0


def similarity(args: argparse.Namespace) -> int:
    out_dir = args.out_dir or args.similarity.parent / f"{args.similarity.name}-grading"
    try:
        return 0 if similarity_pass(args.similarity, out_dir, compare_with=args.compare_with) else 2
    except BatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def hidden_seed(args: argparse.Namespace, batch_dir: Path | None) -> int:
    """--hidden-seed, else $CS336_HIDDEN_SEED, else the seed a resumed batch recorded, else a fresh one."""
    seed = args.hidden_seed
    if seed is None and os.environ.get(HIDDEN_SEED_ENV):
        seed = int(os.environ[HIDDEN_SEED_ENV])
    if seed is None and batch_dir is not None and not args.no_hidden and batch_seed(batch_dir) is not None:
        seed = batch_seed(batch_dir)  # resume under the seed this batch was graded with
        print(f"hidden seed {seed}: the one {batch_dir / BATCH_FILE} recorded (give --hidden-seed to change it)")
    return seed if seed is not None else secrets.randbits(32)


def grade_batch(args: argparse.Namespace, out_dir: Path, options: GradeOptions) -> int:
    try:
        regrade = True if args.regrade == [] else (args.regrade or False)
        return batch(args.batch, out_dir, args.jobs, options, regrade=regrade, compare_with=args.compare_with)
    except BatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def other_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int | None:
    """The commands that grade no submission given on the command line (their exit code), else None."""
    if args.gradescope_zip:
        return gradescope_zip(args)
    if args.handout_check:
        return handout_check(args.timeout)
    for folder in (args.similarity, args.compare_with):
        if folder is not None and not folder.is_dir():
            parser.error(f"{folder}: not a directory")
    if args.similarity:
        return similarity(args)
    if args.self_test:
        return self_test(args.timeout, as_json=args.json)
    if args.reference_submission:
        options = staff_options(args.tests, args.keyword, args.timeout, args.hidden_seed, hidden=not args.no_hidden)
        return write_reference_submission(parser, args.reference_submission, options)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    code = other_command(parser, args)
    if code is not None:
        return code
    out_dir = None
    if args.batch:
        if not args.batch.is_dir():
            parser.error(f"--batch {args.batch}: not a directory")
        out_dir = args.out_dir or args.batch.parent / f"{args.batch.name}-grading"
    seed = hidden_seed(args, out_dir)
    options = staff_options(args.tests, args.keyword, args.timeout, seed, hidden=not args.no_hidden)
    if not args.no_hidden:
        print(f"hidden seed: {seed} (staff only; CS336_HIDDEN_SEED={seed} reproduces it, off the command line)")
    if out_dir is not None:
        return grade_batch(args, out_dir, options)
    if args.regrade is not None:
        parser.error("--regrade goes with --batch")
    check_out(parser, args)
    if args.submission is None:
        parser.error("give a SUBMISSION, or --batch DIR, --gradescope-zip OUT.zip, --handout-check, --self-test")
    return grade_and_report(args.submission, args.out, options)


def write_reference_submission(parser: argparse.ArgumentParser, folder: Path, options: GradeOptions) -> int:
    """The reference as a student would submit it (cs336_basics/ + tests/adapters.py) in `folder`, and zipped
    beside it as `folder`.zip (what a TA uploads to Gradescope to check the autograder), graded here first with the
    hidden tests: 0 when it scores full marks."""
    if folder.exists() and any(folder.iterdir()):
        parser.error(f"--reference-submission {folder}: not empty; choose a new folder (nothing was written)")
    reference_submission(folder)
    archive = shutil.make_archive(str(folder), "zip", root_dir=folder)
    for path in [Path(archive), folder, *folder.rglob("*")]:  # the solution: readable by this user only
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    print(f"wrote {folder} and {archive}: upload either to Gradescope (Submit, then Upload or drag the files)")
    with tempfile.TemporaryDirectory() as tmp:
        results, code = grade(folder, Path(tmp) / "results.json", options)
    print(format_table(results))
    full = code == 0 and results["score"] == results["extra_data"]["max_score"] > 0
    print("graded here: full marks, as Gradescope must show" if full else "graded here: NOT full marks")
    return 0 if full else 1


def hide_arguments(argv: list[str]) -> list[str]:
    """This command's arguments, kept off its command line: the first time, start this command again (same process)
    with them in the environment (readable by this user only, and graders make themselves undumpable); the second
    time, take them back out of it. A command line is readable by every process of the machine (/proc/PID/cmdline),
    a sandbox worker's included, and `--batch DIR` names the class's submissions (`--hidden-seed N`, the secret)."""
    if ARGV_ENV in os.environ:
        return json.loads(os.environ.pop(ARGV_ENV))
    if not argv:
        return argv
    os.environ[ARGV_ENV] = json.dumps(argv)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "staff.grade"])
    raise AssertionError("unreachable")  # os.execv does not return


if __name__ == "__main__":
    sys.exit(main(hide_arguments(sys.argv[1:])))
