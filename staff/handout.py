"""Export the student handout: the repository minus everything staff-only.

    uv run python -m staff.handout OUT_DIR

Copies the files git tracks, except staff/ (reference, hidden tests, mutants...), .ci/, .github/ but for the
students' own grading workflow, and the leaderboard's staff side (validate, verify, render). README.md is the
students' guide as it stands (the staff's guide is staff/README.md, which leaves with staff/). Refuses to write into
a non-empty OUT_DIR, so nothing there is overwritten.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from bpe_harness.settings import ROOT

STAFF_ONLY = (
    "staff/",
    ".ci/",
    ".github/",
    "leaderboard/staff_commands.py",
    "leaderboard/validation.py",
    "leaderboard/verification.py",
    "leaderboard/render.py",
)
SHIPPED = {".github/workflows/grade.yml"}  # the students' grading workflow; every other workflow is staff-only


def handout_files() -> list[str]:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in tracked if f in SHIPPED or not f.startswith(STAFF_ONLY)]


def export(out: Path) -> list[str]:
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; choose a new folder (nothing was written)")
    files = handout_files()
    for name in files:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    files = export(args.out)
    print(f"wrote {len(files)} files to {args.out}; students run `uv run pytest` there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
