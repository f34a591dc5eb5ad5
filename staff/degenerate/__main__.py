"""Grade every degenerate implementation (or the named ones) and compare with the catalog.

uv run python -m staff.degenerate [NAME ...] [--jobs 2] [--public-only]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor

from staff.degenerate import CATALOG, by_name
from staff.degenerate.run import SUITES, grade


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.degenerate", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="degenerate implementations (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--public-only", action="store_true", help="only tests/ (no hidden tests)")
    parser.add_argument("--verbose", action="store_true", help="list every test each one passed")
    args = parser.parse_args(argv)
    chosen = [by_name(n) for n in args.names] if args.names else CATALOG
    suites = ("tests",) if args.public_only else SUITES
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = list(pool.map(lambda d: (d, grade(d, suites)), chosen))
    wrong = 0
    for d, s in results:
        problems = s.unexpected(d)
        wrong += bool(problems)
        figures = ", ".join(f"{suite} {s.points.get(suite, 0):g}/{s.totals[suite]:g}" for suite in s.totals)
        print(f"{'ok   ' if not problems else 'WRONG'} {d.name:18} {figures}   ({d.what})")
        for p in problems:
            print(f"      {p}")
        if args.verbose:
            for test, pts in s.passed.items():
                print(f"      passed {test} ({pts:g})")
    print(f"{len(results) - wrong}/{len(results)} degenerate implementations score what the catalog says")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
