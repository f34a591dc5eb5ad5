"""--batch: grade every submission (a directory or a .zip) in a folder, two at a time by default, into a gradebook.

Each student's results.json goes to DIR-grading/results/, the batch's own record of it (submission digest, kit,
hidden seed, outcome) to DIR-grading/records/; a rerun grades only what is new, changed, failed, or graded with
another kit or seed (--regrade: everything). gradebook.csv and summary.md (scores, a histogram, the first failure of
each low score) are rewritten at the end.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bpe_harness.files import write_atomically
from bpe_harness.grade import ROOT, GradeOptions, grade, kit_version
from staff.grading import load
from staff.grading.staff_judge import HIDDEN_SEED_ENV

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
        raise BatchError(
            f"submissions in {folder} that would be filed under the same name: {listed}. Rename or "
            "remove one of each (nothing was graded)."
        )
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
    return (
        record is not None
        and results is not None
        and record.get("grading") == "ok"
        and all(record.get(k) == v for k, v in key.items())
        and results.get("extra_data", {}).get("kit_version") == key["kit_version"]
    )


REASON_CLASSES = (  # (class, words in a failing test's reason), first match wins; a TA's first look at a low score
    ("not implemented", ("NotImplementedError",)),
    (
        "import failed",
        (
            "ModuleNotFoundError",
            "ImportError",
            "SyntaxError",
            "IndentationError",
            "ImplError",
            "cannot be imported",
            "PackageNotFoundError",
        ),
    ),
    ("too slow", ("WorkerTimeout", "did not finish", "judge was stopped", "timed out", "too slow")),
    ("crashed", ("WorkerCrashed", "killed by signal", "exited with code")),
    ("memory", ("MemoryError", "memory")),
    (
        "wrong types",
        (
            "expected a list of int",
            "expected str",
            "expected dict",
            "expected a (vocab, merges)",
            "expected list[tuple",
            "expected a (bytes, bytes)",
            "token ids must be ints",
        ),
    ),
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
    return [
        f"| {top * i / bins:5.1f}-{top * (i + 1) / bins:5.1f} | {n} | {'#' * round(30 * n / width)} |"
        for i, n in enumerate(counts)
    ]


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
    write_atomically(out_dir / BATCH_FILE, json.dumps({"hidden_seed": seed, "kit_version": version}, indent=1) + "\n")
    todo, done = [], {}
    for name, sub in subs.items():
        key = {"digest": submission_digest(sub), "kit_version": version, "hidden_seed": seed, "selection": selection}
        record = _read_json(records_dir / f"{name}.json")
        results = _read_json(results_dir / f"{name}.json")
        if not regrade and _reusable(record, results, key):
            done[name] = (results, 0, "resumed", key)
        else:
            why = (
                "--regrade"
                if regrade
                else "new"
                if record is None
                else "last grading failed"
                if record.get("grading") != "ok"
                else "changed since"
                if record.get("digest") != key["digest"]
                else "other kit"
                if record.get("kit_version") != version
                else "other hidden seed"
                if record.get("hidden_seed") != seed
                else "other tests"
                if record.get("selection") != selection
                else "results missing"
            )
            todo.append((name, sub, key, why))
    seed_text = "no hidden tests" if seed is None else f"hidden seed {seed}"
    print(
        f"{len(todo)} to grade, {len(done)} already graded with kit {version} and {seed_text} (same content); "
        f"{jobs} at a time"
    )

    judges = load.Judges()

    def one(item):
        name, sub, key, why = item
        start = time.monotonic()
        with judges.running():
            results, code = grade(sub, results_dir / f"{name}.json", options)
        how = f"graded ({why})"
        if code != 0:
            print(f"  {name}: grading failed (exit code {code}); retrying once", flush=True)
            with judges.running():
                results, code = grade(sub, results_dir / f"{name}.json", options)
            how = f"retried ({why})"
        if load.load_affected(results):  # a busy machine may have decided a verdict: grade it with no other judge
            print(f"  {name}: load-affected; grading it again alone", flush=True)
            with judges.alone():
                results, code = grade(sub, results_dir / f"{name}.json", options)
            how = load.REGRADED
        print(
            f"  {name}: {results['score']:g}/{results['extra_data']['max_score']:g} "
            f"({time.monotonic() - start:.1f} s){'' if code == 0 else ' GRADING FAILED'}",
            flush=True,
        )
        return name, (results, code, how, key)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        done.update(pool.map(one, todo))
    rows = []
    for name in sorted(done):
        results, code, how, key = done[name]
        extra = results["extra_data"]
        row = {
            "submission": name,
            "score": results["score"],
            "max_score": extra["max_score"],
            "grading": "ok" if code == 0 else "failed",
            "reason": first_failure(results, code),
            "seconds": results["execution_time"],
            "kit_version": extra["kit_version"],
            "python": extra["python"],
            "hidden_seed": "" if seed is None else seed,
            "digest": key["digest"],
            "how": how,
        }
        rows.append(row)
        if how != "resumed":
            write_atomically(records_dir / f"{name}.json", json.dumps({**row, **key}, indent=1) + "\n")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["submission"])
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(out_dir / "gradebook.csv", buf.getvalue())
    per_test = {name: done[name][0]["tests"] for name in done if done[name][1] == 0}
    write_atomically(out_dir / "summary.md", summary(rows, version, seed, per_test))
    print(f"wrote {out_dir / 'gradebook.csv'} and {out_dir / 'summary.md'}")
    return 0 if all(r["grading"] == "ok" for r in rows) else 1


def summary(rows: list[dict], version: str, seed: int | None = None, per_test: dict | None = None) -> str:
    scores = [r["score"] for r in rows]
    top = max((r["max_score"] for r in rows), default=0.0)
    failed = [r for r in rows if r["grading"] != "ok"]
    seed_text = "no hidden tests" if seed is None else f"hidden seed {seed}"
    lines = [
        f"# Grading summary (kit {version}, {seed_text})",
        "",
        f"{len(rows)} submissions; grading failed for {len(failed)}.",
    ]
    if scores:
        lines += [
            f"Mean {statistics.mean(scores):.1f}, median {statistics.median(scores):.1f}, "
            f"max {max(scores):g} of {top:g}.",
            "",
            "| score | submissions | |",
            "|---|---|---|",
            *histogram(scores, top),
        ]
    if failed:
        lines += [
            "",
            "## Failed to grade (retried once; graded again on the next run)",
            "",
            "| submission | reason |",
            "|---|---|",
            *(f"| {r['submission']} | {r['reason']} |" for r in failed),
        ]
    reasons = statistics_of(r["reason"] for r in rows if r["grading"] == "ok" and r["reason"])
    if reasons:
        lines += [
            "",
            "## First failure class",
            "",
            "| reason | submissions |",
            "|---|---|",
            *(f"| {reason} | {n} |" for reason, n in reasons),
        ]
    if per_test:
        passed: dict[str, list[int]] = {}
        for tests in per_test.values():
            for t in tests:
                if t.get("outcome") == "skipped" or t["max_score"] == 0:
                    continue
                counts = passed.setdefault(t["name"], [0, 0])
                counts[0] += t["score"] >= t["max_score"]
                counts[1] += 1
        lines += [
            "",
            "## Pass rate per test (hardest first)",
            "",
            "| test | passed | rate |",
            "|---|---|---|",
            *(
                f"| {name} | {p}/{n} | {100 * p / n:.0f}% |"
                for name, (p, n) in sorted(passed.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0]))
            ),
        ]
    return "\n".join(lines) + "\n"


def statistics_of(values) -> list[tuple[str, int]]:
    """(value, count), most frequent first."""
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
