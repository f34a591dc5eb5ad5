"""The leaderboard's staff commands (not in the student handout): validate, verify, list, stability, render.

* `validate [FILE...]`: every submission (default: all of leaderboard/submissions) against the schema, its seal,
  the digests of its code, and plausibility: the ratios and score follow from the raw times, the raw times are
  positive and consistent, the pace-setter version is current, and its merges and vocab agree with every other
  entry trained on the same corpus (all correct implementations produce the same ones).
* `verify NAME [--code DIR] [--write]`: re-run the entry's code on inputs drawn now (a fresh seed) in a fresh,
  read-only kit without staff/ holding only its code (from --code DIR, the student's upload, checked against the
  record's digests; from the record's text; or, for staff modules, the staged staff modules, checked against their
  digests), through `submit` in a subprocess of that kit, in the sandbox when the machine allows it. The merges of
  every round must equal the reference's on the same fresh corpus, the staged kit must be unchanged, the score (the
  ranked figure) within TOLERANCE of the submitted one and each of the train and encode ratios within twice that (a
  pool's train ratio moves with the number of free cores). `--write` replaces the record with the ranked one.
* `list [--changed-since REF]`: names of submissions whose code the record holds (staff modules, text), as JSON,
  for the CI matrix (one verify job per submission); digest-only entries need `verify --code`.

The checks live in validation.py, the re-run in verification.py, the board in render.py; this file is their
command line, which `python -m leaderboard` adds when it is present.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
from pathlib import Path

from bpe_harness.settings import ROOT
from leaderboard import TOLERANCE, benchmark, record
from leaderboard.inputs import Spec
from leaderboard.record import RecordError
from leaderboard.validation import submission_files, validate
from leaderboard.verification import ranked_record, verify


def cmd_validate(args) -> int:
    files = args.files or submission_files()
    if not files:
        print("no submissions to validate")
        return 0
    results = validate(files)
    bad = {p: e for p, e in results.items() if e}
    for path, problems in results.items():
        print(f"{'INVALID' if problems else 'ok     '} {path}")
        for problem in problems:
            print(f"        {problem}")
    print(f"{len(files) - len(bad)} of {len(files)} submissions valid")
    return 1 if bad else 0


def cmd_verify(args) -> int:
    path = record.SUBMISSIONS / f"{record.check_name(args.name)}.json" if args.file is None else args.file
    if not path.exists() and args.code is not None and args.file is None:
        path = args.code / "leaderboard" / "submissions" / f"{args.name}.json"  # the record in the student's upload
    if not path.exists():
        raise RecordError(f"no submission {path}")
    problems = validate([path])[path]
    if problems:
        print(f"{path} is not valid, not re-running it:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    rec = record.load(path)
    new, problems = verify(
        rec,
        code_dir=args.code,
        corpus=args.corpus,
        timeout=args.timeout,
        tolerance=args.tolerance,
        show_progress=not args.quiet,
        seed=args.seed,
        sandbox=args.sandbox,
    )
    if new is not None:
        print(f"re-measured on inputs drawn now (seed {new['inputs']['seed']}), sandbox {new['isolation']['sandbox']}")
        for what, a, b in [
            ("score", rec["score"], new["score"]),
            *((f"{p} ratio", rec[p]["ratio"], new[p]["ratio"]) for p in ("train", "encode")),
        ]:
            print(f"{what:12}: submitted {a:.3f}, here {b:.3f} ({b / a - 1:+.1%})")
    if problems:
        print(f"NOT VERIFIED {rec['name']}:\n  " + "\n  ".join(problems))
        return 1
    print(
        f"verified {rec['name']}: correct on fresh inputs (merges equal the reference's), score within "
        f"±{args.tolerance:.0%} (train and encode ratios within ±{2 * args.tolerance:.0%})"
    )
    if args.write:
        target = record.SUBMISSIONS / f"{rec['name']}.json"
        record.write(ranked_record(rec, new), target, force=True)
        print(f"wrote the ranked entry {target}; then: uv run --group bench python -m leaderboard render")
    return 0


def cmd_list(args) -> int:
    if args.changed_since:
        out = subprocess.run(
            [
                "git",
                "diff",
                "--name-only",
                "--diff-filter=AM",
                args.changed_since,
                "--",
                "leaderboard/submissions/*.json",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise RecordError(f"git diff against {args.changed_since!r} failed: {out.stderr.strip()}")
        paths = [ROOT / line for line in out.stdout.split()]
    else:
        paths = submission_files()
    names = []
    for p in sorted(paths):
        with contextlib.suppress(RecordError, KeyError, TypeError):
            if record.load(p)["code"]["kind"] in ("module", "text"):  # digest-only entries need --code
                names.append(p.stem)
    print(json.dumps(names))
    return 0


def cmd_stability(args) -> int:
    """Same implementation, alternately on an idle machine and with one core kept busy: how far do ratios move?"""
    from staff.stability import start_load

    spec = Spec(size=args.size, held_out_size=args.held_out_size, rounds=args.rounds_per_run)
    rows = []
    for i in range(args.runs):
        for loaded in (False, True):
            busy = start_load() if loaded else None
            try:
                result = benchmark.run(args.impl, spec, show_progress=False)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
            rows.append((loaded, result["train"]["ratio"], result["encode"]["ratio"], result["score"]))
            print(
                f"run {i + 1} {'loaded' if loaded else 'idle  '}: train {rows[-1][1]:.3f}  encode {rows[-1][2]:.3f}  "
                f"score {rows[-1][3]:.3f}  (load before {result['load_before']})",
                flush=True,
            )
    worst = 0.0
    for k, what in ((1, "train"), (2, "encode"), (3, "score")):
        idle = statistics.median(r[k] for r in rows if not r[0])
        busy = statistics.median(r[k] for r in rows if r[0])
        spread = max(r[k] for r in rows) / min(r[k] for r in rows) - 1
        worst = max(worst, spread)
        print(
            f"{what:6}: idle median {idle:.3f}, loaded median {busy:.3f} ({busy / idle - 1:+.1%}); "
            f"max/min over all runs {spread:+.1%}"
        )
    ok = worst <= args.tolerance
    print(f"{'WITHIN' if ok else 'OUTSIDE'} the ±{args.tolerance:.0%} tolerance")
    return 0 if ok else 1


def cmd_render(args) -> int:
    from leaderboard import render

    return render.main(args)


def add_commands(sub) -> None:
    p = sub.add_parser("validate", help="staff: schema, digests and plausibility of submissions")
    p.add_argument("files", nargs="*", type=Path)
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("verify", help="staff: re-run a submission from its code and confirm its ratios")
    p.add_argument("name")
    p.add_argument("--file", type=Path, help="a submission file outside leaderboard/submissions")
    p.add_argument(
        "--code",
        type=Path,
        help="the student's submission (folder or .zip: cs336_basics/, "
        "tests/adapters.py) for an entry that records only digests",
    )
    p.add_argument("--seed", type=int, help="the inputs' seed (default: drawn now, secret until printed)")
    p.add_argument(
        "--write",
        action="store_true",
        help="on success, write the ranked entry (the fresh measurement) to leaderboard/submissions",
    )
    p.add_argument("--no-sandbox", dest="sandbox", action="store_false", help="run the worker without the sandbox")
    p.add_argument("--corpus", type=Path, help="the corpus file, for entries not trained on the generated corpus")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--tolerance", type=float, default=TOLERANCE)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("list", help="staff: submission names as JSON (the CI matrix)")
    p.add_argument("--changed-since", metavar="GIT_REF")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("stability", help="staff: ratios of one implementation on an idle vs a loaded machine")
    p.add_argument("--impl", default="reference")
    p.add_argument("--runs", type=int, default=2, help="idle+loaded pairs")
    p.add_argument("--size", type=int, default=Spec().size)
    p.add_argument("--held-out-size", type=int, default=Spec().held_out_size)
    p.add_argument("--rounds-per-run", type=int, default=Spec().rounds)
    p.add_argument("--tolerance", type=float, default=TOLERANCE)
    p.set_defaults(run=cmd_stability)

    p = sub.add_parser("render", help="staff: write leaderboard/README.md and board.png/.svg")
    p.add_argument("--check", action="store_true", help="fail if README.md is not what render would write")
    p.add_argument("--dir", type=Path, default=record.SUBMISSIONS, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=ROOT / "leaderboard", help=argparse.SUPPRESS)
    p.add_argument("--no-plot", action="store_true", help="Markdown only")
    p.add_argument("--force", action="store_true", help="replace a README.md that render did not write")
    p.set_defaults(run=cmd_render)
