"""Verdict snapshots: every implementation the staff keeps, graded test by test, so a refactor can prove it changed
no verdict (issue 28: "verdicts identical before and after on the reference, the stubs, every mutant, the degenerate
and hostile catalogs").

    uv run python -m staff.verdicts snapshot OUT.json [--jobs 2] [--only PREFIX ...] [--resume]
    uv run python -m staff.verdicts compare BEFORE.json AFTER.json    # differences; exit 1 if any

What is graded, each the way its own command grades it, with one fixed hidden seed (the hidden tests are the same
both times):
- the reference and the handout stubs (this checkout's cs336_basics/ and tests/adapters.py): the staff judge, as
  submissions (public and hidden tests), like `staff.grade --self-test`;
- every mutant: a child pytest on the graded suite plus any staff test file it declares, like `staff.mutants matrix`;
- every degenerate implementation: a child pytest on the public and hidden suites, like `staff.degenerate`;
- every hostile case: the judge on the case's tests, like `staff.hostile` (its expectations are this tier's).
Per implementation: the score and, per test, its status plus the reason's category (an exception name or a kind of
limit), never the reason's text, durations or paths, which vary from run to run. A failure the verdict plugin marks
load-affected is graded again alone, as the judge does. Works on the layout before issue 28's move (bpe_harness.grade,
bpe_harness.grading) and after it (bpe_harness.judge.grade, bpe_harness.judge.verdicts).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from bpe_harness.files import write_atomically
from bpe_harness.settings import ROOT
from staff.grading.staff_judge import reference_submission, staff_options

try:  # the layout after issue 28's move
    judge = importlib.import_module("bpe_harness.judge.grade")
    VERDICT_PLUGIN = "bpe_harness.judge.verdicts"
except ImportError:  # before it
    judge = importlib.import_module("bpe_harness.grade")
    VERDICT_PLUGIN = "bpe_harness.grading"

SEED = 2028  # the hidden seed of every snapshot: the hidden tests' corpora are the same before and after
TIMEOUT = 900.0  # seconds per child pytest (the mutant and degenerate commands' own bound)
KINDS = (  # a reason that names no exception: what kind of limit or failure it reports
    ("time limit", r"did not finish|timed out|time limit|stopped after|no progress|x the limit"),
    ("memory", r"MemoryError|budget|\bMB\b|whole process tree"),
    ("signal", r"SIG[A-Z]+|signal"),
    ("exit", r"exit(ed with)? code|SystemExit"),
    ("import", r"cannot be imported|No module|lacks"),
    ("grading failed", r"grading failed|judge stopped|judge was stopped"),
    ("mismatch", r"expected|differ|mismatch|!="),
)


def category(reason: str) -> str:
    """The stable part of a failure's reason: its exception's name, else the kind of failure, else 'other'."""
    found = re.match(r"\s*(?:[\w.]+\.)?([A-Z]\w*(?:Error|Exception|Exit|Interrupt|Failed|Timeout))\b", reason)
    if found:
        return found.group(1)
    return next((kind for kind, pattern in KINDS if re.search(pattern, reason)), "other" if reason else "")


def verdict(status: str, reason: str) -> str:
    kind = category(reason) if status in ("failed", "error") else ""  # a skip's reason names paths
    return f"{status}: {kind}" if kind else status


# --- grading ---------------------------------------------------------------------------------------------------------


def by_judge(submission: Path, options) -> dict:
    """Grade a submission folder with the judge; the snapshot entry."""
    options.env = {**options.env, "CS336_HIDDEN_SEED": str(SEED)}
    results, code = judge.grade(submission, None, options)
    tests = {t["name"]: verdict(t.get("outcome", t["status"]), t.get("reason", "")) for t in results["tests"]}
    tests.update({t["name"]: verdict("skipped", t["reason"]) for t in results["extra_data"].get("skipped", [])})
    return {"score": results["score"], "max_score": results["extra_data"]["max_score"], "exit": code, "tests": tests}


def _pytest_verdicts(impl: str, tests: list[str], pythonpath: str) -> tuple[list[dict] | None, dict, str]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CS336_HIDDEN_SEED=str(SEED), PYTHONPATH=pythonpath)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", VERDICT_PLUGIN]
        cmd += [f"--grading-dir={tmp}", "--impl", impl, *tests]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        manifest = judge._valid_manifest(Path(tmp) / "manifest.json")
        return manifest, judge._valid_verdicts(Path(tmp) / "verdicts.jsonl"), proc.stdout[-2000:] + proc.stderr[-2000:]


def by_pytest(impl: str, tests: list[str], pythonpath: str = str(ROOT)) -> dict:
    """Grade an --impl module with the verdict plugin in a child pytest; load-affected failures graded again alone."""
    manifest, verdicts, output = _pytest_verdicts(impl, tests, pythonpath)
    if manifest is None:
        return {"score": 0.0, "max_score": 0.0, "exit": 2, "tests": {"(suite)": f"failed: {category(output)}"}}
    affected = [name for name, v in verdicts.items() if v["load_affected"]]
    if affected:
        verdicts.update({n: v for n, v in _pytest_verdicts(impl, affected, pythonpath)[1].items() if n in affected})
    tests, score = {}, 0.0
    for t in manifest:
        v = verdicts.get(t["nodeid"], {"status": "failed", "reason": "no verdict (the run stopped)"})
        tests[t["nodeid"]] = verdict(v["status"], v["reason"])
        score += t["points"] if v["status"] == "passed" else 0.0
    return {"score": score, "max_score": float(sum(t["points"] for t in manifest)), "exit": 0, "tests": tests}


def implementations(scratch: Path) -> dict:
    """{name: a function grading it}, every implementation of the staff's catalogs."""
    from staff.degenerate import CATALOG
    from staff.hostile.cases import CASES
    from staff.hostile.cases import materialize as hostile_case
    from staff.mutants.catalog import MUTANTS
    from staff.mutants.run import materialize as mutant_package

    def reference():
        return by_judge(reference_submission(scratch / "reference"), staff_options(seed=SEED))

    def stubs():
        folder = scratch / "stubs"
        shutil.copytree(ROOT / "cs336_basics", folder / "cs336_basics", ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "tests").mkdir()
        shutil.copyfile(ROOT / "tests" / "adapters.py", folder / "tests" / "adapters.py")
        return by_judge(folder, staff_options(seed=SEED))

    found = {"reference": reference, "stubs": stubs}
    mutants = scratch / "mutants"
    for m in MUTANTS:
        extra = sorted({t.split("::")[0] for t in m.caught_by if t.startswith("staff/")})
        found[f"mutant/{m.name}"] = lambda m=m, extra=extra: by_pytest(
            mutant_package(m, mutants), ["tests", *extra], os.pathsep.join([str(mutants), str(ROOT)])
        )
    for d in CATALOG:
        found[f"degenerate/{d.name}"] = lambda d=d: by_pytest(d.module, ["tests", "staff/hidden"])
    for case in CASES:
        found[f"hostile/{case.name}"] = lambda c=case: by_judge(
            hostile_case(c, scratch / "hostile" / c.name), judge.GradeOptions(tests=list(c.tests), env=dict(c.env))
        )
    return found


def _safely(name: str, grade_one) -> dict:
    """One implementation's entry (progress on stderr); a crash of this code is recorded, not lost with the run."""
    start = time.monotonic()
    try:
        entry = grade_one()
        print(f"graded {name} in {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
        return entry
    except Exception as e:  # reported in the snapshot and by compare
        print(f"snapshot crashed: {type(e).__name__}: {e}", file=sys.stderr)
        return {"score": 0.0, "max_score": 0.0, "exit": -1, "tests": {"(snapshot)": f"crashed: {type(e).__name__}"}}


def snapshot(out: Path, jobs: int, only: list[str], resume: bool) -> int:
    """Grade the chosen implementations; OUT is rewritten after each one (an interrupted run keeps what it graded,
    and --resume grades only what OUT lacks)."""
    from staff.hostile.cases import tier_key

    meta = {"seed": SEED, "tier": tier_key(), "judge": judge.__name__, "python": sys.version.split()[0]}
    graded = json.loads(out.read_text(encoding="utf-8"))["implementations"] if resume and out.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        every = implementations(Path(tmp))
        chosen = [n for n in every if (not only or n.startswith(tuple(only))) and n not in graded]
        chosen.sort(key=lambda n: n != "hostile/hang_everywhere")  # the long pole first
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            running = {pool.submit(_safely, name, every[name]): name for name in chosen}
            for done in as_completed(running):
                graded[running[done]] = done.result()
                meta["complete"] = graded.keys() >= every.keys()
                text = json.dumps({"meta": meta, "implementations": dict(sorted(graded.items()))}, indent=1)
                write_atomically(out, text + "\n")
    for name in chosen:
        print(f"{name:40} {graded[name]['score']:g}/{graded[name]['max_score']:g}", flush=True)
    print(
        f"{len(graded)}/{len(every)} implementations, {sum(len(g['tests']) for g in graded.values())} verdicts in {out}"
    )
    return 0


def compare(before: Path, after: Path) -> int:
    """Print every difference (implementation, test, before -> after); 1 if any."""
    old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (before, after))
    if old["meta"]["seed"] != new["meta"]["seed"] or old["meta"]["tier"] != new["meta"]["tier"]:
        print(f"warning: not comparable runs: {old['meta']} vs {new['meta']}")
    a, b = old["implementations"], new["implementations"]
    differences, names = 0, a.keys() | b.keys()
    if not (old["meta"].get("complete", True) and new["meta"].get("complete", True)):
        names = a.keys() & b.keys()
        print(f"incomplete snapshot: only the {len(names)} implementations graded in both are compared")
    for name in sorted(names):
        x, y = a.get(name), b.get(name)
        if x is None or y is None:
            print(f"{name}: {'missing' if x is None else 'graded'} -> {'missing' if y is None else 'graded'}")
            differences += 1
            continue
        for key in ("score", "max_score", "exit"):
            if x[key] != y[key]:
                print(f"{name}: {key} {x[key]} -> {y[key]}")
                differences += 1
        for test in sorted(x["tests"].keys() | y["tests"].keys()):
            if x["tests"].get(test) != y["tests"].get(test):
                print(f"{name}: {test}: {x['tests'].get(test, '(absent)')} -> {y['tests'].get(test, '(absent)')}")
                differences += 1
    total = sum(len(v["tests"]) for v in a.values())
    print(f"{differences} differences ({len(a)} implementations, {total} verdicts before)")
    return 1 if differences else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.verdicts", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    take = sub.add_parser("snapshot", help="grade every implementation; write the verdicts as JSON")
    take.add_argument("out", type=Path)
    take.add_argument("--jobs", type=int, default=2, help="implementations graded at once (default 2)")
    take.add_argument("--only", nargs="+", default=[], help="names starting with these (reference, mutant/, ...)")
    take.add_argument("--resume", action="store_true", help="keep what OUT holds; grade only the rest")
    diff = sub.add_parser("compare", help="the differences between two snapshots; exit 1 if any")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        return snapshot(args.out, args.jobs, args.only, args.resume)
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
