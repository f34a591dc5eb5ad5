"""Mutant commands.

uv run python -m staff.mutants list             # the catalog
uv run python -m staff.mutants check            # every mutant fails the tests it declares (fast)
uv run python -m staff.mutants matrix           # every mutant x the whole graded suite, with the kill score
uv run python -m staff.mutants show NAME        # the mutant's diff against the reference
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from staff.mutants.catalog import BELOW_STANDARD, MIN_GRADED_KILLS, MUTANTS, by_name
from staff.mutants.run import REFERENCE, grade, mutated_sources


def _selected(names):
    return [by_name(n) for n in names] if names else MUTANTS


def cmd_list(args) -> int:
    for m in _selected(args.names):
        print(f"{m.name:34} {m.bug}")
    print(f"{len(MUTANTS)} mutants")
    return 0


def cmd_show(args) -> int:
    for m in _selected(args.names):
        for name, source in mutated_sources(m).items():
            original = (REFERENCE / name).read_text(encoding="utf-8")
            sys.stdout.writelines(
                difflib.unified_diff(
                    original.splitlines(True), source.splitlines(True), f"reference/{name}", f"{m.name}/{name}"
                )
            )
    return 0


def _run_all(mutants, tests_for, jobs):
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda m: (m, grade(m, tests_for(m))), mutants))


def cmd_check(args) -> int:
    """Each mutant against its declared tests only: all must fail."""
    survivors = 0
    for m, graded in _run_all(_selected(args.names), lambda m: list(m.caught_by), args.jobs):
        missed = graded.missed(m.caught_by)
        survivors += bool(missed)
        print(f"{'KILLED ' if not missed else 'SURVIVED'} {m.name:34} " + (f"not failed: {missed}" if missed else ""))
        if missed and args.verbose:
            print(graded.output)
    print(f"kill score: {len(_selected(args.names)) - survivors}/{len(_selected(args.names))} by declared tests")
    return 1 if survivors else 0


def cmd_matrix(args) -> int:
    """Each mutant against the whole graded suite: which tests fail, per test file."""
    # the graded suite, plus any staff-only hidden test file a mutant declares
    results = _run_all(
        _selected(args.names),
        lambda m: ["tests", *sorted({t.split("::")[0] for t in m.caught_by if t.startswith("staff/")})],
        args.jobs,
    )
    files = sorted(
        {
            t.split("::")[0].removeprefix("tests/test_").removesuffix(".py")
            for _, g in results
            for t in g.failed | g.passed
        }
    )
    print(f"{'mutant':40} {'declared':9} {'graded':>6} " + " ".join(f"{f[:14]:>14}" for f in files))
    report, killed, below, improved = [], 0, [], []
    for m, g in results:
        missed = g.missed(m.caught_by)
        killed += not missed
        graded = sorted(t for t in g.failed if t.startswith("tests/"))  # the public graded tests this mutant fails
        if len(graded) < MIN_GRADED_KILLS and m.name not in BELOW_STANDARD:
            below.append(f"{m.name} ({len(graded)}: {graded})")
        elif len(graded) >= MIN_GRADED_KILLS and m.name in BELOW_STANDARD:
            improved.append(m.name)
        per_file = Counter(t.split("::")[0].removeprefix("tests/test_").removesuffix(".py") for t in g.failed)
        print(
            f"{m.name:40} {'killed' if not missed else 'SURVIVED':9} {len(graded):>6} "
            + " ".join(f"{per_file.get(f, 0):>14}" for f in files)
        )
        others = sorted(g.failed - {t for t in g.failed if any(t == d or t.startswith(d + "[") for d in m.caught_by)})
        report.append(
            {
                "mutant": m.name,
                "bug": m.bug,
                "declared": list(m.caught_by),
                "missed": missed,
                "graded_failed": graded,
                "also_failed": others,
                "passed": len(g.passed),
            }
        )
    print(f"kill score: {killed}/{len(results)} mutants killed by their declared tests")
    print(
        f"standard: {len(results) - len(below)}/{len(results)} mutants fail at least {MIN_GRADED_KILLS} graded tests "
        f"or are listed in catalog.BELOW_STANDARD ({len(BELOW_STANDARD)} listed, with why)"
    )
    for line in below:
        print(f"  below the standard, not listed: {line}")
    for name in improved:
        print(f"  {name} now fails {MIN_GRADED_KILLS}+ graded tests: remove it from catalog.BELOW_STANDARD")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json}")
    return 0 if killed == len(results) and not below else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.mutants", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn in [("list", cmd_list), ("show", cmd_show), ("check", cmd_check), ("matrix", cmd_matrix)]:
        p = sub.add_parser(name)
        p.add_argument("names", nargs="*", help="mutant names (default: all)")
        p.add_argument("--jobs", type=int, default=2, help="mutants graded at once (default 2)")
        p.add_argument("--verbose", action="store_true")
        p.add_argument("--json", help="matrix: also write the report here")
        p.set_defaults(fn=fn)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
