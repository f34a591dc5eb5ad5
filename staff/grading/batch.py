"""--batch: grade every submission (a directory or a .zip) in a folder, two at a time by default, into a gradebook.

Each student's results.json goes to DIR-grading/results/, the batch's own record of it (submission digest, kit,
hidden seed, outcome) to DIR-grading/records/; a rerun grades only what is new, changed, failed, or graded with
another kit or seed (--regrade: everything). gradebook.csv and summary.md (scores, a histogram, the first failure of
each low score) are rewritten at the end.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bpe_harness import kit_files
from bpe_harness.files import sha256_file, write_atomically
from bpe_harness.judge.console import printable
from bpe_harness.judge.grade import GradeOptions, GradingStopped, grade
from bpe_harness.judge.staging import kit_version
from bpe_harness.sandbox import judges_base
from bpe_harness.settings import ROOT
from staff.grading import load
from staff.grading.gradebook import csv_cell, gradebook_row, summary
from staff.grading.staff_judge import HIDDEN_SEED_ENV

RECORDS = "records"  # the batch's own bookkeeping (digest, kit, seed, outcome), beside the students' results.json
BATCH_FILE = "batch.json"  # the batch's hidden seed, so a resumed batch keeps grading under the same one


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
    """sha256 of what was submitted: a zip's bytes, or every file of a folder (relative path and content; what is
    never a submission's own, bpe_harness/kit_files.py, aside). A changed resubmission has another digest, so it is
    graded again."""
    if path.is_file():
        return "zip:" + sha256_file(path)
    return "dir:" + kit_files.digest(kit_files.file_digests(path, kit_files.walk(path)))


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


@dataclasses.dataclass
class Plan:
    """What a batch run grades: (name, path, key, why) to grade, and {name: outcome} already graded."""

    version: str
    seed: int | None
    todo: list[tuple[str, Path, dict, str]]
    done: dict[str, tuple]


def _why_again(record: dict | None, key: dict, asked: bool) -> str:
    """Why a submission is graded (again): the first difference from its last grading."""
    if asked:
        return "--regrade"
    if record is None:
        return "new"
    if record.get("grading") != "ok":
        return "last grading failed"
    for field, why in (
        ("digest", "changed since"),
        ("kit_version", "other kit"),
        ("hidden_seed", "other hidden seed"),
        ("selection", "other tests"),
    ):
        if record.get(field) != key[field]:
            return why
    return "results missing"


def _plan(subs: dict[str, Path], out_dir: Path, options: GradeOptions, regrade: bool | list[str]) -> Plan:
    """Which submissions to grade and which to keep: a previous grading is kept when it worked and was made from
    the same content, kit, hidden seed and test selection (unless `regrade` asks for it)."""
    version = kit_version(ROOT, options.extra_kit)
    seed_text = options.env.get(HIDDEN_SEED_ENV)
    seed = int(seed_text) if seed_text is not None else None
    selection = " ".join([*options.tests, *(["-k", options.keyword] if options.keyword else [])])
    plan = Plan(version, seed, [], {})
    for name, sub in subs.items():
        key = {"digest": submission_digest(sub), "kit_version": version, "hidden_seed": seed, "selection": selection}
        record = _read_json(out_dir / RECORDS / f"{name}.json")
        results = _read_json(out_dir / "results" / f"{name}.json")
        asked = regrade is True or (bool(regrade) and name in regrade)
        if not asked and _reusable(record, results, key):
            plan.done[name] = (results, 0, "resumed", key)
        else:
            plan.todo.append((name, sub, key, _why_again(record, key, asked)))
    return plan


def _prepare_out_dir(out_dir: Path, plan: Plan) -> None:
    """out_dir, results/ and records/ private to the grader (the seed, every student's results); the batch's seed
    recorded for a resumed run."""
    for d in (out_dir, out_dir / "results", out_dir / RECORDS):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(d, 0o700)
    for old in (out_dir / BATCH_FILE, out_dir / "gradebook.csv", out_dir / "summary.md"):
        if old.exists():
            os.chmod(old, 0o600)
    record = {"hidden_seed": plan.seed, "kit_version": plan.version}
    write_private(out_dir / BATCH_FILE, json.dumps(record, indent=1) + "\n")


def _grade_one(
    item: tuple[str, Path, dict, str], out_dir: Path, options: GradeOptions, judges: load.Judges
) -> tuple[str, tuple | None]:
    """Grade one submission from a private copy (retried once when grading failed, graded again alone when
    load-affected); its results and record written at once. (name, None) when the batch was stopped first."""
    name, sub, key, why = item
    stop = options.stop
    assert stop is not None
    if stop.is_set():
        return name, None  # never started
    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="cs336-batch-", dir=judges_base()) as private:
            copy = private_copy(sub, Path(private))
            with judges.running():
                results, code = grade(copy, None, options)
            how = f"graded ({why})"
            if code != 0 and not stop.is_set():
                print(f"  {printable(name)}: grading failed (exit code {code}); retrying once", flush=True)
                with judges.running():
                    results, code = grade(copy, None, options)
                how = f"retried ({why})"
            if load.load_affected(results) and not stop.is_set():  # a busy machine may have decided a verdict
                print(f"  {printable(name)}: load-affected; graded again with no other judge beside it", flush=True)
                with judges.alone():
                    results, code = grade(copy, None, options)
                how = load.REGRADED
    except GradingStopped:
        return name, None
    write_private(out_dir / "results" / f"{name}.json", json.dumps(results, indent=1))
    row = gradebook_row(name, results, code, how, key)
    write_private(out_dir / RECORDS / f"{name}.json", json.dumps({**row, **key}, indent=1) + "\n")
    print(
        f"  {printable(name)}: {results['score']:g}/{results['extra_data']['max_score']:g} "
        f"({time.monotonic() - start:.1f} s){'' if code == 0 else ' GRADING FAILED'}",
        flush=True,
    )
    return name, (results, code, how, key)


def _report_stopped(plan: Plan, out_dir: Path, regrade: bool | list[str], signalled: list[int]) -> int:
    left = [name for name, *_ in plan.todo if name not in plan.done]
    graded = len(plan.todo) - len(left)
    again = (
        f" with `--regrade {' '.join(left)}` in place of `--regrade{'' if regrade is True else ' ...'}`"
        if regrade
        else ""
    )
    print(
        f"stopped: {graded} graded and recorded in {out_dir / RECORDS}, {len(left)} left ({', '.join(left)}); every "
        f"judge in flight was ended and its staging removed. To grade the rest, run the same command again{again}; "
        "gradebook.csv and summary.md are written once every submission is graded.",
        flush=True,
    )
    return 128 + (signalled[0] if signalled else signal.SIGINT)


def _write_gradebook(folder: Path, out_dir: Path, plan: Plan, compare_with: Path | None) -> int:
    """gradebook.csv and summary.md (after the similarity pass, which fills each row's highest_match)."""
    from staff.grading.similarity_report import similarity_pass  # imports this module

    done = plan.done
    rows = [gradebook_row(name, *done[name]) for name in sorted(done)]
    similarity_pass(folder, out_dir, rows, compare_with)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["submission"])
    writer.writeheader()
    writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    write_private(out_dir / "gradebook.csv", buf.getvalue())
    per_test = {name: done[name][0]["tests"] for name in done if done[name][1] == 0}
    write_private(out_dir / "summary.md", summary(rows, plan.version, plan.seed, per_test))
    print(f"wrote {out_dir / 'gradebook.csv'} and {out_dir / 'summary.md'}")
    return 0 if all(r["grading"] == "ok" for r in rows) else 1


def batch(
    folder: Path,
    out_dir: Path,
    jobs: int,
    options: GradeOptions,
    regrade: bool | list[str] = False,
    stop: threading.Event | None = None,
    compare_with: Path | None = None,
) -> int:
    """Grade every submission in `folder` (one judge each, `jobs` at a time) into `out_dir`: results/NAME.json (the
    student's results.json), records/NAME.json (the batch's: digest, kit, seed, outcome), gradebook.csv, summary.md.

    A submission is graded again unless its last grading worked and was made from the same content (digest), kit
    version and hidden seed; `regrade` grades every one again (True) or those named (a list). Each submission's
    results and record are written as soon as it is graded. A grading that fails is retried once at once, and
    again on the next run. SIGINT or SIGTERM (or setting `stop`) stops the batch: nothing new starts, the judges
    in flight are killed with everything they started and their staging removed; what was graded is kept, and the
    console says how to grade the rest; the exit code is then 128 + the signal (130 for Ctrl-C). BatchError
    (nothing graded) when two submissions would share a name or `regrade` names an unknown one. Then the similarity
    pass (staff/grading/similarity.py) against each other and `compare_with`: a flag for review, never a grade."""
    subs = named_submissions(folder)
    if regrade is not True and regrade:
        unknown = sorted(set(regrade) - set(subs))
        if unknown:
            raise BatchError(
                f"--regrade {' '.join(unknown)}: no such submission in {folder} (submissions: "
                f"{', '.join(sorted(subs)) or 'none'}; nothing was graded)"
            )
    for note in keep_private(folder):
        print(note)
    plan = _plan(subs, out_dir, options, regrade)
    _prepare_out_dir(out_dir, plan)
    seed_text = "no hidden tests" if plan.seed is None else f"hidden seed {plan.seed}"
    print(
        f"{len(plan.todo)} to grade, {len(plan.done)} already graded with kit {plan.version} and {seed_text} (same "
        f"content); {jobs} at a time",
        flush=True,
    )
    stop = stop or threading.Event()
    options = dataclasses.replace(options, stop=stop)
    judges = load.Judges()
    with stopped_by_signals(stop) as signalled, ThreadPoolExecutor(max(1, jobs)) as pool:
        for name, outcome in pool.map(lambda item: _grade_one(item, out_dir, options, judges), plan.todo):
            if outcome is not None:
                plan.done[name] = outcome
    if stop.is_set():
        return _report_stopped(plan, out_dir, regrade, signalled)
    return _write_gradebook(folder, out_dir, plan, compare_with)


def write_private(path: Path, text: str) -> None:
    """Atomically, readable by this user only: the batch's outputs hold the hidden seed and every student's results
    (a worker of another judge must not read them)."""
    write_atomically(path, text, mode=0o600)


def keep_private(folder: Path) -> list[str]:
    """Make the submissions folder unreadable to other users (chmod o-rwx): a worker's uid is another user, and must
    not read the class's submissions. Notes for the console, when something changed."""
    mode = folder.stat().st_mode
    if not mode & 0o007:
        return []
    os.chmod(folder, stat.S_IMODE(mode) & ~0o007)
    return [f"made {folder} private to its owner (chmod o-rwx): the sandbox's workers run as other users"]


def private_copy(sub: Path, into: Path) -> Path:
    """The submission copied into this judge's private folder (0700, the grader's own), which is all the judge reads
    of it: the submissions folder is read here once, by the grader, never by a worker's uid. Symlinks are copied as
    links (never followed); caches and VCS folders are left out."""
    target = into / ("submission.zip" if sub.is_file() else "submission")
    if sub.is_file():
        shutil.copyfile(sub, target)
    else:
        shutil.copytree(sub, target, symlinks=True, ignore=_not_submitted)
    os.chmod(into, 0o700)
    for path in [target, *(target.rglob("*") if target.is_dir() else ())]:
        if not path.is_symlink():
            os.chmod(path, 0o700 if path.is_dir() else 0o600)
    return target


def _not_submitted(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's filter: the names bpe_harness/kit_files.py says are never a submission's own."""
    return {
        n
        for n in names
        if (kit_files.skipped_dir(n) if os.path.isdir(os.path.join(folder, n)) else kit_files.skipped_file(n))
    }


@contextlib.contextmanager
def stopped_by_signals(stop: threading.Event):
    """While the batch runs, SIGINT and SIGTERM set `stop` instead of raising in the middle of the bookkeeping (a
    second one only says it is stopping, also after the pool has ended: the process is on its way out). Yields a list
    that receives the first signal's number. Off the main thread (where signals cannot be handled) it only yields."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handle(signum, _frame):
        if received and time.monotonic() - received_at[0] < 1:
            return  # the same stop twice: the terminal signals the whole group, and uv passes it on as well
        received_at[0] = time.monotonic()
        if not received:
            print(
                f"\n{signal.Signals(signum).name}: stopping: no new submission starts; ending the judges in flight...",
                file=sys.stderr,
                flush=True,
            )
        else:
            print("already stopping: the judges in flight are being ended", file=sys.stderr, flush=True)
        received.append(signum)
        stop.set()

    received_at = [0.0]
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        if not received:  # once stopping, the handlers stay: a late second signal must not turn the stop into a kill
            for sig, handler in previous.items():
                signal.signal(sig, handler)
