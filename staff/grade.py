"""Staff grading: the public judge plus hidden tests, batch grading, the Gradescope zip, and the handout check.

    uv run python -m staff.grade SUBMISSION [--out results.json] [--tests PATH] [-k EXPR] [--hidden-seed N]
    uv run python -m staff.grade --batch DIR --jobs N [--out-dir DIR]     # gradebook.csv + summary.md, resumable
    uv run python -m staff.grade --gradescope-zip OUT.zip [--force]       # setup.sh + run_autograder + the kit
    uv run python -m staff.grade --handout-check                           # bare handout = 0, with reference = full

Why this exists: the same judge students run (bpe_harness.grade), with the staff-only parts added on top, so the
two can never drift apart. Hidden tests (staff/hidden) are differential tests against the reference on corpora
drawn from a secret seed: --hidden-seed, else $CS336_HIDDEN_SEED (the Gradescope zip fixes one at build time, so a
regrade gives the same score), else fresh per run. The seed is printed here, never written into results.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bpe_harness.grade import (
    ROOT,
    GradeOptions,
    add_common_arguments,
    check_out,
    format_table,
    grade,
    kit_version,
    _kit_files,
)

STAFF_KIT = ("staff/__init__.py", "staff/reference", "staff/hidden")
ZIP_KIT = (*STAFF_KIT, "staff/grade.py", "uv.lock")
HIDDEN_SEED_ENV = "CS336_HIDDEN_SEED"


def staff_options(tests=None, keyword=None, timeout=None, seed=None, hidden=True) -> GradeOptions:
    options = GradeOptions(keyword=keyword)
    options.tests = tests or (["tests", "staff/hidden"] if hidden else ["tests"])
    if timeout:
        options.timeout = timeout
    if hidden:
        options.extra_kit = STAFF_KIT
        options.env = {HIDDEN_SEED_ENV: str(seed if seed is not None else secrets.randbits(32))}
    return options


def reference_submission(into: Path) -> Path:
    """A student-shaped checkout whose code is the reference: cs336_basics/ holds staff/reference's modules and
    tests/adapters.py imports them. Grading it must give full marks."""
    package = into / "cs336_basics"
    package.mkdir(parents=True, exist_ok=True)
    for source in (ROOT / "staff" / "reference").glob("*.py"):
        shutil.copyfile(source, package / source.name)
    (into / "tests").mkdir(exist_ok=True)
    (into / "tests" / "adapters.py").write_text(
        "from cs336_basics.adapters import get_tokenizer, run_train_bpe  # noqa: F401\n", encoding="utf-8")
    return into


# --- batch ---------------------------------------------------------------------------------------------------------


def _submissions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if (p.is_dir() or p.suffix == ".zip") and not p.name.startswith("."))


def _previous(path: Path, version: str) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("extra_data", {}).get("kit_version") == version else None


def histogram(scores: list[float], top: float, bins: int = 10) -> list[str]:
    """Text histogram rows: score range, count, bar."""
    top = top or 1.0
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, int(bins * s / top))] += 1
    width = max(counts + [1])
    return [f"| {top * i / bins:5.1f}-{top * (i + 1) / bins:5.1f} | {n} | {'#' * round(30 * n / width)} |"
            for i, n in enumerate(counts)]


def batch(folder: Path, out_dir: Path, jobs: int, options: GradeOptions) -> int:
    """Grade every submission in `folder` (one judge each, `jobs` at a time); skip those already graded with this
    kit version; write gradebook.csv and summary.md."""
    version = kit_version(ROOT, options.extra_kit)
    results_dir = out_dir / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    todo, done = [], {}
    for sub in _submissions(folder):
        previous = _previous(results_dir / f"{sub.stem}.json", version)
        if previous is None:
            todo.append(sub)
        else:
            done[sub.stem] = (previous, 0, "resumed")
    print(f"{len(todo)} to grade, {len(done)} already graded with kit {version}; {jobs} at a time")

    def one(sub: Path):
        start = time.monotonic()
        results, code = grade(sub, results_dir / f"{sub.stem}.json", options)
        print(f"  {sub.name}: {results['score']:g}/{results['extra_data']['max_score']:g} "
              f"({time.monotonic() - start:.1f} s)", flush=True)
        return sub.stem, (results, code, "graded")

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        done.update(pool.map(one, todo))
    rows = []
    for name in sorted(done):
        results, code, how = done[name]
        extra = results["extra_data"]
        rows.append({"submission": name, "score": results["score"], "max_score": extra["max_score"],
                     "grading": "ok" if code == 0 else "failed", "seconds": results["execution_time"],
                     "kit_version": extra["kit_version"], "python": extra["python"], "how": how})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["submission"])
    writer.writeheader()
    writer.writerows(rows)
    _write_text(out_dir / "gradebook.csv", buf.getvalue())
    _write_text(out_dir / "summary.md", summary(rows, version))
    print(f"wrote {out_dir / 'gradebook.csv'} and {out_dir / 'summary.md'}")
    return 0 if all(r["grading"] == "ok" for r in rows) else 1


def summary(rows: list[dict], version: str) -> str:
    scores = [r["score"] for r in rows]
    top = max((r["max_score"] for r in rows), default=0.0)
    lines = [f"# Grading summary (kit {version})", "",
             f"{len(rows)} submissions; grading failed for {sum(r['grading'] != 'ok' for r in rows)}."]
    if scores:
        lines += [f"Mean {statistics.mean(scores):.1f}, median {statistics.median(scores):.1f}, "
                  f"max {max(scores):g} of {top:g}.", "", "| score | submissions | |", "|---|---|---|",
                  *histogram(scores, top)]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


# --- Gradescope zip ------------------------------------------------------------------------------------------------

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope image setup: uv, Python >= 3.12 and the kit's locked dependencies, all readable by every user (the
# judge runs student code as an unprivileged uid, which must be able to run Python).
set -euxo pipefail
cd /autograder/source
if ! command -v uv >/dev/null 2>&1; then
  (apt-get update && apt-get install -y python3-pip) || true
  python3 -m pip install --break-system-packages uv || python3 -m pip install uv
fi
export UV_PYTHON_INSTALL_DIR=/opt/cs336-python UV_PROJECT_ENVIRONMENT=/opt/cs336-venv
uv python install 3.12
uv sync --locked --python 3.12 --no-dev
chmod -R a+rX /opt/cs336-python /opt/cs336-venv
mkdir -p /opt/cs336-cache && chmod 755 /opt/cs336-cache
# Warm the caches (generated limit corpora) and prove the image grades the reference with full marks.
CS336_CACHE_DIR=/opt/cs336-cache /opt/cs336-venv/bin/python -m staff.grade --self-test
chmod -R a+rX /opt/cs336-cache
chmod 700 /autograder/source   # kit, reference and hidden tests: root only (the venv lives in /opt)
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope entry point: grade /autograder/submission with public + hidden tests into results/results.json.
# Paths can be moved for a local rehearsal: CS336_AUTOGRADER_ROOT (default /autograder), CS336_VENV.
set -uo pipefail
AG="${CS336_AUTOGRADER_ROOT:-/autograder}"
VENV="${CS336_VENV:-/opt/cs336-venv}"
export CS336_CACHE_DIR="${CS336_CACHE_DIR:-/opt/cs336-cache}"
mkdir -p "$AG/results"
cd "$AG/source"
export CS336_HIDDEN_SEED="${CS336_HIDDEN_SEED:-@SEED@}"   # secret, fixed per zip: regrades give the same score
# shellcheck disable=SC2086  # CS336_GRADE_ARGS: extra arguments for a local rehearsal (e.g. --tests PATH)
"$VENV/bin/python" -m staff.grade "$AG/submission" --out "$AG/results/results.json" \
    --timeout "${CS336_JUDGE_TIMEOUT:-540}" ${CS336_GRADE_ARGS:-}
code=$?
if [ ! -s "$AG/results/results.json" ]; then   # the grader itself could not run: still never a pass
  printf '{"score": 0, "output": "The autograder failed to start (exit code %s); please contact the staff.", "tests": []}\n' "$code" \
      > "$AG/results/results.json"
fi
exit 0
"""


def build_gradescope_zip(out: Path, force: bool = False) -> list[str]:
    """The autograder zip: setup.sh, run_autograder at the top, the kit beside them. Written atomically."""
    if out.exists() and not force:
        raise SystemExit(f"{out} exists; pass --force to replace it (nothing was written)")
    files = _kit_files(ROOT, ZIP_KIT)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        run = RUN_AUTOGRADER.replace("@SEED@", str(secrets.randbits(32)))
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", run)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            z.writestr(info, text)
        for rel in files:
            z.write(ROOT / rel, rel)
    os.replace(tmp, out)
    return ["setup.sh", "run_autograder", *files]


# --- handout check -------------------------------------------------------------------------------------------------


def handout_check(timeout: float) -> int:
    """Export the handout; grade it bare (must score 0) and with the reference's files copied in (must be full)."""
    from staff.handout import export

    with tempfile.TemporaryDirectory() as tmp:
        # as a student's checkout would be: reachable by others, so the sandboxed worker (another uid) can read the
        # corpora the harness generates into the handout's .cache (mkdtemp makes the folder private)
        os.chmod(tmp, 0o755)
        handout = Path(tmp) / "handout"
        handout.mkdir()
        export(handout)
        failures = []
        for label, expect_full in (("bare handout", False), ("handout + reference", True)):
            if expect_full:
                reference_submission(handout)
            cmd = [sys.executable, "-m", "bpe_harness.grade", ".", "--out", str(Path(tmp) / "results.json"),
                   "--timeout", str(timeout)]
            start = time.monotonic()
            proc = subprocess.run(cmd, cwd=handout, capture_output=True, text=True)
            results = json.loads((Path(tmp) / "results.json").read_text(encoding="utf-8"))
            score, top = results["score"], results["extra_data"]["max_score"]
            ok = proc.returncode == 0 and top > 0 and (score == top if expect_full else score == 0)
            print(f"{label}: {score:g}/{top:g} in {time.monotonic() - start:.1f} s -> {'ok' if ok else 'WRONG'}")
            if not ok:
                failures.append(label)
                wrong = [t for t in results["tests"] if (t["score"] > 0) != expect_full and t["max_score"] > 0]
                for t in wrong[:10]:
                    print(f"  {t['name']}: {t['score']:g}/{t['max_score']:g} {t.get('reason', '')[:200]}")
                print(proc.stderr[-2000:])
    return 1 if failures else 0


def self_test(timeout: float) -> int:
    """Grade the reference as a submission with the hidden tests: must be full marks."""
    with tempfile.TemporaryDirectory() as tmp:
        sub = reference_submission(Path(tmp) / "reference")
        results, code = grade(sub, Path(tmp) / "results.json", staff_options(timeout=timeout))
    print(format_table(results))
    full = results["score"] == results["extra_data"]["max_score"] > 0
    return 0 if code == 0 and full else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.grade", description=__doc__.splitlines()[0])
    parser.add_argument("submission", nargs="?", type=Path, help="a student checkout (directory) or .zip")
    add_common_arguments(parser)
    parser.add_argument("--hidden-seed", type=int, default=None, help="seed of the hidden tests (default: random)")
    parser.add_argument("--no-hidden", action="store_true", help="public tests only")
    parser.add_argument("--batch", type=Path, metavar="DIR", help="grade every submission (dir or .zip) in DIR")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once with --batch")
    parser.add_argument("--out-dir", type=Path, default=None, help="--batch output folder (default DIR/../grading)")
    parser.add_argument("--gradescope-zip", type=Path, metavar="OUT.zip", help="build the Gradescope autograder zip")
    parser.add_argument("--handout-check", action="store_true", help="bare handout scores 0, with reference full")
    parser.add_argument("--self-test", action="store_true", help="grade the reference: must be full marks")
    args = parser.parse_args(argv)
    if args.gradescope_zip:
        files = build_gradescope_zip(args.gradescope_zip, args.force)
        print(f"wrote {args.gradescope_zip} ({len(files)} files, kit {kit_version(ROOT, STAFF_KIT)})")
        return 0
    if args.handout_check:
        return handout_check(args.timeout)
    if args.self_test:
        return self_test(args.timeout)
    seed = args.hidden_seed
    if seed is None and os.environ.get(HIDDEN_SEED_ENV):
        seed = int(os.environ[HIDDEN_SEED_ENV])
    if seed is None:
        seed = secrets.randbits(32)
    options = staff_options(args.tests, args.keyword, args.timeout, seed, hidden=not args.no_hidden)
    if not args.no_hidden:
        print(f"hidden seed: {seed} (staff only; rerun with --hidden-seed {seed} to reproduce)")
    if args.batch:
        if not args.batch.is_dir():
            parser.error(f"--batch {args.batch}: not a directory")
        return batch(args.batch, args.out_dir or args.batch.parent / f"{args.batch.name}-grading", args.jobs, options)
    check_out(parser, args)
    if args.submission is None:
        parser.error("give a SUBMISSION, or --batch DIR, --gradescope-zip OUT.zip, --handout-check, --self-test")
    results, code = grade(args.submission, args.out, options)
    print(format_table(results))
    print(f"results written to {args.out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
