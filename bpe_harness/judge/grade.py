"""The judge: grade a checkout the way Gradescope does, so what students see locally is what Gradescope shows.

    uv run python -m bpe_harness.judge.grade                    # grade this checkout on the public tests
    uv run python -m bpe_harness.judge.grade PATH [--out results.json] [--tests tests/test_tokenizer.py] [-k EXPR]

Why this exists: graders that import student code in the process that decides the grade can be fooled (a
`conftest.py`, a pytest hook, an `__eq__` that is always True, a fake results file). Here the grade is decided in a
process that never runs student code:

1. Stage: a fresh temporary copy of the kit (tests, fixtures, harness, pytest config) plus only the student-owned
   files of the submission (`cs336_basics/**`, `tests/adapters.py`); anything else is ignored and listed.
2. Judge: the kit's pytest suite runs in a child process with the verdict plugin (judge/verdicts.py); every call
   into the student's code goes to a sandboxed worker process (bpe_harness.client); the whole child is bounded
   by an overall timeout and killed with everything it started.
3. Verdicts: read from files the plugin wrote into a directory only this process can write, validated (types and
   sizes); a test without a verdict (crash, timeout, missing output) scores 0 with the reason, never a pass.
4. Report: a table on stdout, and a Gradescope results.json (written atomically, by this process only).

The exit code says whether grading worked (0), not the score; 2 means the judge itself failed (the results still
say why, with score 0).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bpe_harness.files import write_atomically
from bpe_harness.settings import ROOT, cache_dir
from bpe_harness.worker.allowed_imports import extra_dependencies_note

PUBLIC_KIT = ("bpe_harness", "tests", "conftest.py", "pyproject.toml", "cs336_basics")
PRIVATE_KIT = ("tests/snapshots", "staff")  # staged unreadable to the worker: expected answers, reference
SECRET_PATHS = ("staff", ".git")  # in the checkout the judge runs from (its history holds staff/ too): hidden from
# workers as far as the tier permits
STUDENT_PACKAGE = "cs336_basics"
STUDENT_ADAPTERS = "tests/adapters.py"
SKIP_NAMES = ("__pycache__", ".pytest_cache", ".git", ".venv", ".cache")
MAX_FILE_BYTES = 2 << 20  # one student file
MAX_SUBMISSION_BYTES = 20 << 20  # all student files together
MAX_VERDICTS_BYTES = 8 << 20  # verdicts.jsonl read at most this much
DEFAULT_TIMEOUT = 540.0  # seconds for the whole judge (Gradescope stops everything at 600 s by default)
SPEED_TESTS = {"train_seconds": "test_training_speed", "encode_seconds": "test_encoding_speed"}
MISSING_SPEED = 1e6  # leaderboard value when a speed figure is unavailable (no nulls allowed; sorts last)


class SubmissionError(Exception):
    """The submission cannot be read (not a directory or zip, unsafe zip, too large). The message says why."""


class GradingStopped(Exception):
    """Grading was stopped from outside (GradeOptions.stop: a batch interrupted by Ctrl-C or SIGTERM): the judge and
    everything it started were killed and its staging removed; no results were written."""


# --- the submission ----------------------------------------------------------------------------------------------


@dataclass
class Submission:
    root: Path
    files: list[str]  # student-owned files taken (posix paths where they are staged)
    ignored: list[str]  # other files present, not used
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # staged path -> path in the submission, when they differ

    def source(self, rel: str) -> Path:
        return self.root / self.sources.get(rel, rel)


NEVER_TAKEN = (
    "conftest.py",
    "pytest.ini",
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "sitecustomize.py",
    "usercustomize.py",
)  # pytest configuration or interpreter hooks: the kit's own are used


def _student_owned(rel: str) -> bool:
    if PurePosixPath(rel).name in NEVER_TAKEN or rel.endswith(".pth"):
        return False
    return rel == STUDENT_ADAPTERS or rel.startswith(STUDENT_PACKAGE + "/")


def _find_root(folder: Path) -> Path:
    """The folder holding cs336_basics/ or tests/adapters.py: the submission itself or one level down (a zip of a
    repository usually wraps it in one folder)."""
    candidates = [folder, *sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in SKIP_NAMES)]
    for c in candidates:
        if (c / STUDENT_PACKAGE).is_dir() or (c / STUDENT_ADAPTERS).is_file():
            return c
    return folder


def _extract_zip(path: Path, into: Path) -> None:
    """Extract regular files only, refusing absolute paths, '..', and oversized content."""
    total = 0
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise SubmissionError(f"{path} is not a valid zip file ({e})") from None
    with archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir():
                continue
            if name.is_absolute() or ".." in name.parts:
                raise SubmissionError(f"{path}: unsafe path in zip: {info.filename!r}")
            if stat.S_ISLNK(info.external_attr >> 16):
                continue  # symlinks are never followed
            total += info.file_size
            if total > 10 * MAX_SUBMISSION_BYTES:
                raise SubmissionError(f"{path}: more than {10 * MAX_SUBMISSION_BYTES >> 20} MB uncompressed")
            target = into / Path(*name.parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
                # a file and a folder of one name, a name too long, a corrupt or encrypted entry: the student's zip
                raise SubmissionError(
                    f"{path}: cannot extract {info.filename[:200]!r} ({type(e).__name__}: {e}); zip the folder "
                    "holding cs336_basics/ and tests/ again, as it is on your disk"
                ) from None


def read_submission(path: Path, scratch: Path) -> Submission:
    """The student-owned files of a directory or .zip (extracted under `scratch`)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".zip":
        folder = scratch / "unzipped"
        folder.mkdir()
        _extract_zip(path, folder)
    elif path.is_dir():
        folder = path
    else:
        raise SubmissionError(f"{path}: expected a directory or a .zip of a student repository")
    root = _find_root(folder)
    notes = []
    inner = _lone_zip(root) if path.is_dir() else None
    if inner is not None:  # Gradescope's drag and drop of a .zip leaves it unextracted in /autograder/submission
        folder = scratch / "unzipped"
        folder.mkdir()
        _extract_zip(inner, folder)
        root = _find_root(folder)
        notes.append(f"{inner.name} was extracted and graded (the submission held nothing else to grade)")
    taken, ignored, total = [], [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_NAMES)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if not _student_owned(rel) or full.is_symlink() or not full.is_file() or name.endswith(".pyc"):
                ignored.append(rel)
                continue
            size = full.stat().st_size
            if size > MAX_FILE_BYTES:
                notes.append(f"{rel} ignored: {size >> 10} KB is over the {MAX_FILE_BYTES >> 20} MB per-file limit")
                ignored.append(rel)
                continue
            total += size
            if total > MAX_SUBMISSION_BYTES:
                raise SubmissionError(f"student files exceed {MAX_SUBMISSION_BYTES >> 20} MB in total")
            taken.append(rel)
    sources = {}
    if not taken:
        sources = place_loose_files(root, ignored, notes)
        taken = sorted(sources)
        ignored = [rel for rel in ignored if rel not in sources.values()]
    notes += extra_dependencies_note(root / "pyproject.toml")
    if STUDENT_ADAPTERS not in taken:
        notes.append(
            f"no {STUDENT_ADAPTERS} in the submission: the handout's is used"
            + (
                f" (with the handout's stub for any module it imports that your {STUDENT_PACKAGE} lacks)"
                if taken
                else ""
            )
        )
    return Submission(root, taken, ignored, notes, sources)


def _lone_zip(root: Path) -> Path | None:
    """The one .zip at the top of a submission folder that has nothing else to grade (no cs336_basics/, no
    tests/adapters.py, no .py file at its top), else None."""
    if (root / STUDENT_PACKAGE).is_dir() or (root / STUDENT_ADAPTERS).is_file():
        return None
    tops = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in SKIP_NAMES]
    zips = [p for p in tops if p.is_file() and not p.is_symlink() and p.suffix.lower() == ".zip"]
    if len(zips) != 1 or any(p.suffix == ".py" for p in tops):
        return None
    return zips[0]


HOW_TO_SUBMIT = (
    f"Submit your repository's {STUDENT_PACKAGE}/ folder and {STUDENT_ADAPTERS} with their folders: "
    "a .zip of the repository (or of those two), or Gradescope's GitHub upload."
)


def place_loose_files(root: Path, present: list[str], notes: list[str]) -> dict[str, str]:
    """Python files dropped at the top without their folders (Gradescope's drag and drop does this): adapters.py
    goes to tests/adapters.py, every other .py file into cs336_basics/. {staged path: path in the submission}; a note
    for each, or one saying how to submit when there is nothing to place."""
    placed = {}
    tops = {rel.split("/")[0] for rel in present}
    folder = f"{tops.pop()}/" if len(tops) == 1 and all("/" in rel for rel in present) else ""  # a zip's one folder
    for rel in present:
        name = PurePosixPath(rel).name
        if "/" in rel.removeprefix(folder) or not name.endswith(".py") or name in NEVER_TAKEN or name == "__main__.py":
            continue
        if (root / rel).is_symlink() or not (root / rel).is_file() or (root / rel).stat().st_size > MAX_FILE_BYTES:
            continue
        placed[STUDENT_ADAPTERS if name == "adapters.py" else f"{STUDENT_PACKAGE}/{name}"] = rel
    if placed:
        listed = ", ".join(f"{src} -> {dst}" for dst, src in sorted(placed.items()))
        notes.append(f"files without their folders were placed where they belong: {listed}. {HOW_TO_SUBMIT}")
    else:
        notes.append(
            f"nothing to grade: the submission has no {STUDENT_PACKAGE}/ folder, no {STUDENT_ADAPTERS} "
            f"and no .py files at its top, so the handout's stubs were graded. {HOW_TO_SUBMIT}"
        )
    return placed


# --- the staged kit ------------------------------------------------------------------------------------------------


def _kit_files(kit: Path, extra: tuple[str, ...]) -> list[str]:
    files = []
    for top in (*PUBLIC_KIT, *extra):
        base = kit / top
        if base.is_file():
            files.append(top)
        elif base.is_dir():
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_NAMES)
                files += [
                    (Path(dirpath) / f).relative_to(kit).as_posix() for f in sorted(filenames) if not f.endswith(".pyc")
                ]
    return files


def kit_version(kit: Path = ROOT, extra: tuple[str, ...] = ()) -> str:
    """The pyproject version plus a digest of every kit file the judge uses (the same kit gives the same id)."""
    import tomllib

    version = tomllib.loads((kit / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    digest = hashlib.sha256()
    for rel in _kit_files(kit, extra):
        if rel.startswith(STUDENT_PACKAGE + "/") or rel == STUDENT_ADAPTERS:
            continue
        digest.update(rel.encode() + b"\0" + (kit / rel).read_bytes() + b"\0")
    return f"{version}+{digest.hexdigest()[:10]}"


def stage(kit: Path, submission: Submission, into: Path, extra: tuple[str, ...] = ()) -> None:
    """Copy the kit (with its handout stubs) into `into`, then the student's files. A submission with its own
    cs336_basics and tests/adapters.py replaces the stub package wholly (a stub `tokenizer.py` would shadow a
    student's `tokenizer/` folder); without tests/adapters.py, the handout's adapters are used and only the stub
    modules whose names (as a file or a folder) the submission lacks are staged. Everything is read-only; expected
    answers and staff files are readable by this user only."""
    own = {rel.split("/")[1].removesuffix(".py") for rel in submission.files if rel.startswith(STUDENT_PACKAGE + "/")}
    for rel in _kit_files(kit, extra):
        if (
            own
            and rel.startswith(STUDENT_PACKAGE + "/")
            and (STUDENT_ADAPTERS in submission.files or rel.split("/")[1].removesuffix(".py") in own)
        ):
            continue  # the handout's adapters (no tests/adapters.py submitted) still need the modules it lacks
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kit / rel, target)
    for rel in submission.files:
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(submission.source(rel), target)
    for dirpath, _, filenames in os.walk(into):
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o444)
        os.chmod(dirpath, 0o555)
    for private in PRIVATE_KIT:
        if (into / private).exists():
            os.chmod(into / private, 0o500)


# --- the judge run -------------------------------------------------------------------------------------------------


@dataclass
class JudgeRun:
    returncode: int | None
    timed_out: bool
    seconds: float
    log_tail: str
    leftovers: int = 0  # processes still running after the judge, killed
    sandbox: dict = field(default_factory=dict)  # the tier that held and what it guarantees (Sandbox.describe)


def _watch(proc: subprocess.Popen, box, deadline: float, stop=None) -> bool:
    """Wait for the judge; meanwhile kill orphaned sandbox processes (a daemonized grandchild would hold the worker's
    pipes open and stall the harness). True when the deadline passed first, or `stop` (an Event) was set."""
    import psutil

    while proc.poll() is None:
        if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
            return True
        if box is not None:
            try:
                judge = {proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=False))}
            except psutil.Error:
                judge = {proc.pid}
            box.kill_orphans(judge)
        time.sleep(0.25)
    return False


_ANNOUNCED: set[str] = set()


def announce_tier(stream=None) -> None:
    """Say on the console, once per process, in which sandbox tier submissions are graded here and why no stronger
    one held (a fallback must never go unnoticed in results.json alone)."""
    from bpe_harness.sandbox.tiers import probe_tier

    tier = probe_tier()
    view = " (allowlisted view: the worker sees only the interpreter, the kit and its own files)" if tier.view else ""
    lines = [f"sandbox: tier {tier.label}{view}" + (" -- REFUSED, nothing is graded" if tier.refused else "")]
    lines += [f"sandbox note: {note}" for note in tier.notes]
    text = "\n".join(lines)
    if text not in _ANNOUNCED:
        _ANNOUNCED.add(text)
        print(text, file=stream or sys.stderr, flush=True)


def run_judge(
    staged: Path,
    private: Path,
    pytest_args: list[str],
    *,
    timeout: float,
    env_extra: dict[str, str],
    sandbox: bool = True,
    hide: tuple[Path, ...] = (),
    stop=None,
) -> JudgeRun:
    """The kit's pytest in a child process (its own session), verdicts into `private`; killed at `timeout`.
    `hide`: secret paths (the checkout's staff files) the workers must not read, as far as the tier permits.
    `stop` (a threading.Event): when set, the judge's whole tree is killed at once, as at the timeout."""
    from bpe_harness.client.tree import kill_process_tree
    from bpe_harness.sandbox.tiers import Sandbox, keep_out_of_reach, others_can_read

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CS336_SANDBOX", "PYTHON"))}
    env.update(
        PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", CS336_CACHE_DIR=str(cache_dir()), **env_extra
    )
    box = None
    if sandbox:
        announce_tier()
        keep_out_of_reach()  # this process holds the seed in its environment: not readable by same-uid code
        # the grader's handle on the workers' uids (a block it reserves, freed by cleanup(): to kill what is left);
        # it opens the scratch to them alone, and hands itself to the judge's pytest in the environment
        box = Sandbox(
            workdir=private.parent / "work", hide=tuple(str(p) for p in (*hide, private)), scratch=private.parent
        )
        box.protect_interpreter()
        box.open_to_workers(private.parent)
        env.update(box.environment())
        # the judge's temporary files (the inputs hidden tests write for the worker) in its own scratch, not the
        # machine's /tmp: a worker's allowlisted view shows this folder, and no other judge's worker reaches it
        own_temp = private.parent / "tmp"
        shutil.rmtree(own_temp, ignore_errors=True)  # a second judge in one scratch (the load retry) starts empty
        own_temp.mkdir(mode=0o711)
        env["TMPDIR"] = str(own_temp)
        if box.tier.name == "root" and not others_can_read(cache_dir()):
            # the workers' uids could not read the generated inputs there: this run keeps its own, in its scratch
            own_cache = private.parent / "cache"
            own_cache.mkdir(mode=0o755)
            env["CS336_CACHE_DIR"] = str(own_cache)
            box.notes.append(
                f"{cache_dir()} is not readable by the sandbox's users, so this run generated its inputs in its own "
                "scratch (slower): make the folders on the way readable by others (chmod o+rx) or set CS336_CACHE_DIR"
            )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "bpe_harness.judge.verdicts",
        f"--rootdir={staged}",
        "-c",
        str(staged / "pyproject.toml"),
        f"--grading-dir={private}",
        "--impl",
        str(staged / STUDENT_ADAPTERS),
        "-q",
        "--tb=short",
        *pytest_args,
    ]
    log_path = private / "pytest.log"
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=staged,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = _watch(proc, box, start + timeout, stop)
        leftovers = kill_process_tree(proc.pid) - (0 if timed_out else 1)
        proc.wait()
    if box is not None:
        leftovers += box.kill_leftovers()
        box.cleanup()  # the uid block is free for another judge only now, with nothing of it left
    with open(log_path, "rb") as f:
        f.seek(max(0, log_path.stat().st_size - 6000))
        tail = f.read().decode("utf-8", "replace")
    return JudgeRun(
        None if timed_out else proc.returncode,
        timed_out,
        time.monotonic() - start,
        tail,
        max(0, leftovers),
        box.describe() if box is not None else {"tier": "none (not sandboxed)"},
    )


# --- verdicts ------------------------------------------------------------------------------------------------------

STATUSES = {"passed", "failed", "error", "skipped"}
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's


def _valid_manifest(path: Path) -> list[dict] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(data, list) and all(
        isinstance(t, dict)
        and isinstance(t.get("nodeid"), str)
        and len(t["nodeid"]) < 1000
        and isinstance(t.get("points"), (int, float))
        and math.isfinite(t["points"])
        and 0 <= t["points"] <= 1000
        and t.get("visibility") in VISIBILITIES
        for t in data
    )
    return data if ok else None


def _valid_verdicts(path: Path) -> dict[str, dict]:
    """nodeid -> verdict; malformed lines are dropped (their tests then score 0 as 'no verdict')."""
    verdicts: dict[str, dict] = {}
    if not path.exists():
        return verdicts
    with open(path, "rb") as f:
        data = f.read(MAX_VERDICTS_BYTES)
    for line in data.splitlines():
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if not (
            isinstance(v, dict)
            and isinstance(v.get("nodeid"), str)
            and v.get("status") in STATUSES
            and isinstance(v.get("reason"), str)
            and isinstance(v.get("output"), str)
            and isinstance(v.get("duration"), (int, float))
            and math.isfinite(v["duration"])
        ):
            continue
        v = {
            "nodeid": v["nodeid"],
            "status": v["status"],
            "reason": v["reason"][:300],
            "output": v["output"][:4000],
            "duration": max(0.0, float(v["duration"])),
            "load_affected": v.get("load_affected") is True,
        }
        previous = verdicts.get(v["nodeid"])
        if previous is None or previous["status"] == "passed":  # the first failure of a test wins
            verdicts[v["nodeid"]] = v
    return verdicts


def _judge_failure_reason(run: JudgeRun) -> str:
    if run.timed_out:
        return f"the judge was stopped after {run.seconds:.0f} s (overall time limit): this test never finished"
    last = [ln for ln in run.log_tail.strip().splitlines() if ln.strip()]
    return f"the judge stopped (exit code {run.returncode}) before this test reported" + (
        f": {last[-1][:200]}" if last else ""
    )


LOAD_AFFECTED_NOTE = (
    "load-affected: a call of this test timed out or was charged its wall time while the machine had no idle CPU "
    "(other programs had it), so this verdict may be the machine's, not your code's"
)


def build_results(manifest: list[dict] | None, verdicts: dict[str, dict], run: JudgeRun, meta: dict) -> dict:
    """Gradescope results.json from the validated judge outputs. No verdict => 0 points with the reason."""
    tests = []
    if manifest is None:
        last = [ln for ln in run.log_tail.strip().splitlines() if ln.strip()]
        tests.append(
            {
                "name": "judge",
                "number": "0",
                "score": 0.0,
                "max_score": 0.0,
                "status": "failed",
                "output": "grading failed before any test ran: "
                + ("the judge timed out" if run.timed_out else f"exit code {run.returncode}")
                + "\n"
                + "\n".join(last[-15:]),
                "visibility": "visible",
                "reason": "grading failed",
            }
        )
    skipped = []  # left out of Gradescope's tests (it would show a red "failed 0/0"); named in the output instead
    for t in manifest or []:
        v = verdicts.get(t["nodeid"])
        load_affected, retried, note = False, False, ""
        if v is None:
            status, reason, output, score, duration = "failed", _judge_failure_reason(run), "", 0.0, 0.0
        else:
            status, reason, output, duration = v["status"], v["reason"], v["output"], v["duration"]
            score = t["points"] if status == "passed" else 0.0
            load_affected, retried = v.get("load_affected", False), v.get("retried_for_load", False)
            if load_affected:
                note = f"{LOAD_AFFECTED_NOTE}{' (also when graded again alone)' if retried else ''}\n\n"
            elif retried:
                note = f"graded again alone: its first run was load-affected ({LOAD_AFFECTED_NOTE[15:]})\n\n"
        if status == "skipped":
            skipped.append({"name": t["nodeid"], "reason": reason, "points": float(t["points"])})
            continue
        max_score = float(t["points"])
        tests.append(
            {
                "name": t["nodeid"],
                "number": str(len(tests) + 1),
                "score": float(score),
                "max_score": max_score,
                "status": "passed" if status == "passed" else "failed",
                "output": note + (f"{status}: {reason}\n\n{output}" if reason or output else status).strip(),
                "visibility": t["visibility"],
                "reason": reason,
                "outcome": status,
                "execution_time": round(duration, 3),
                "load_affected": load_affected,
                "retried_for_load": retried,
            }
        )
    score = sum(t["score"] for t in tests)
    total = sum(t["max_score"] for t in tests)
    # what a student may see before the due date: the visible tests only (Gradescope shows the top-level output and
    # the leaderboard at once, whatever the tests' visibility; the total itself it holds back while a test is not
    # visible)
    shown = [t for t in tests if t["visibility"] == "visible"]
    shown_score, shown_total = sum(t["score"] for t in shown), sum(t["max_score"] for t in shown)
    speed = {
        name: next(
            (round(t["execution_time"], 3) for t in tests if t["name"].endswith(test) and t.get("outcome") == "passed"),
            MISSING_SPEED,
        )
        for name, test in SPEED_TESTS.items()
    }
    header = (
        f"kit {meta['kit_version']}, Python {meta['python']}; {shown_score:g}/{shown_total:g} points in "
        f"{run.seconds:.1f} s"
    )
    if len(shown) < len(tests):
        header += f" (visible tests; {len(tests) - len(shown)} more tests are shown after the due date)"
    if run.sandbox:
        header += f"\nsandbox: tier {run.sandbox['tier']}" + (
            f" ({run.sandbox['isolation']}; accounting: {run.sandbox['accounting']})"
            if "isolation" in run.sandbox
            else ""
        )
        for note in run.sandbox.get("notes", []):
            header += f"\nsandbox note: {note}"
    if meta.get("ignored"):
        header += f"\nignored (not student-owned): {', '.join(meta['ignored'][:30])}"
    for note in meta.get("notes", []):
        header += f"\nnote: {note}"
    for t in skipped:
        header += f"\nskipped (not graded, {t['points']:g} points not counted): {t['name']}: {t['reason']}"
    return {
        "score": float(score),
        "execution_time": round(run.seconds, 3),
        "output": header,
        "tests": tests,
        "leaderboard": [
            {"name": "score", "value": float(shown_score), "order": "desc"},  # visible tests: the class sees it
            *({"name": k, "value": v, "order": "asc"} for k, v in speed.items()),
        ],
        "extra_data": {
            "kit_version": meta["kit_version"],
            "python": meta["python"],
            "max_score": float(total),
            "visible_score": float(shown_score),
            "visible_max_score": float(shown_total),
            "judge_exit": run.returncode,
            "judge_timed_out": run.timed_out,
            "leftover_processes_killed": run.leftovers,
            "skipped": skipped,
            "sandbox": run.sandbox,
            "load_affected": any(t.get("load_affected") for t in tests),
        },
    }


def printable(text: str) -> str:
    """`text` with every control or format character (an ANSI escape, a carriage return, a right-to-left override)
    written as its escape: a reason quotes the submission's own messages, and a terminal must not let them move the
    cursor over the table (a failing row redrawn as "passed")."""
    return "".join(
        c if c in "\n\t" or not unicodedata.category(c).startswith("C") else c.encode("unicode_escape").decode()
        for c in text
    )


def format_table(results: dict) -> str:
    """The readable report: test, points, status, one-line reason; then the total (control characters escaped)."""
    rows = [
        (t["name"], f"{t['score']:g}/{t['max_score']:g}", t.get("outcome", t["status"]), t.get("reason", "")[:90])
        for t in results["tests"]
    ]
    width = min(88, max([len(r[0]) for r in rows] + [4]))
    lines = [f"{'test':<{width}}  {'points':>7}  {'status':<7}  reason"]
    for name, pts, status, reason in rows:
        name = name if len(name) <= width else "..." + name[-(width - 3) :]
        lines.append(f"{name:<{width}}  {pts:>7}  {status:<7}  {reason}")
    for t in results["extra_data"].get("skipped", []):
        lines.append(f"{t['name'][-width:]:<{width}}  {'-':>7}  skipped  {t['reason'][:90]}")
    total = results["extra_data"]["max_score"]
    lines.append(f"{'total':<{width}}  {results['score']:g}/{total:g}")
    output = results["output"].splitlines()
    lines += [output[0], *(line for line in output if line.startswith("sandbox"))]
    return printable("\n".join(lines))


# --- putting it together ---------------------------------------------------------------------------------------


@dataclass
class GradeOptions:
    tests: list[str] = field(default_factory=lambda: ["tests"])
    keyword: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    extra_kit: tuple[str, ...] = ()  # staff: ("staff/__init__.py", "staff/reference", "staff/hidden")
    env: dict[str, str] = field(default_factory=dict)
    sandbox: bool = True
    stop: object = None  # a threading.Event: set it to stop this grading at once (GradingStopped, nothing written)


def grade(submission_path: Path, out: Path | None, options: GradeOptions, kit: Path = ROOT) -> tuple[dict, int]:
    """Grade one submission; (results, exit code). results.json is written to `out` even when grading fails."""
    meta = {"python": platform.python_version(), "kit_version": kit_version(kit, options.extra_kit)}
    from bpe_harness.sandbox.tiers import SandboxRefused, judges_base

    scratch = Path(tempfile.mkdtemp(prefix="cs336-judge-", dir=judges_base()))
    try:
        try:
            submission = read_submission(Path(submission_path), scratch)
        except SubmissionError as e:
            run = JudgeRun(None, False, 0.0, str(e))
            results = build_results(None, {}, run, meta)
            results["tests"][0]["output"] = f"grading failed: {e}"
            if out:
                write_atomically(out, json.dumps(results, indent=1))
            return results, 2
        meta.update(ignored=[rel for rel in submission.ignored if not _kit_file(kit, rel)], notes=submission.notes)
        staged, private = scratch / "kit", scratch / "private"
        private.mkdir(mode=0o700)
        stage(kit, submission, staged, options.extra_kit)
        args = [*options.tests] + (["-k", options.keyword] if options.keyword else [])
        secrets = tuple(
            path for path in (*(kit / p for p in SECRET_PATHS), *(staged / p for p in PRIVATE_KIT)) if path.exists()
        )

        def judge(into: Path, selection: list[str]) -> JudgeRun:
            """One judge on the staged kit, verdicts into `into`; GradingStopped when the batch stopped it."""
            run = run_judge(
                staged,
                into,
                selection,
                timeout=options.timeout,
                env_extra=options.env,
                sandbox=options.sandbox,
                hide=secrets,
                stop=options.stop,
            )
            if options.stop is not None and options.stop.is_set():
                raise GradingStopped(f"grading of {submission_path} was stopped")
            return run

        try:
            run = judge(private, args)
        except SandboxRefused as e:
            run = JudgeRun(None, False, 0.0, str(e), sandbox={"tier": "refused", "notes": [str(e)]})
            results = build_results(None, {}, run, meta)
            results["tests"][0]["output"] = f"grading refused: {e}"
            if out:
                write_atomically(out, json.dumps(results, indent=1))
            return results, 2
        manifest = _valid_manifest(private / "manifest.json")
        verdicts = _valid_verdicts(private / "verdicts.jsonl")
        affected = [name for name, v in verdicts.items() if v["load_affected"]]
        if affected and manifest is not None:  # graded again alone: a busy machine does not decide a grade
            again = scratch / "private-again"
            again.mkdir(mode=0o700)
            judge(again, affected)
            for name, v in _valid_verdicts(again / "verdicts.jsonl").items():
                if name in affected:
                    verdicts[name] = {**v, "retried_for_load": True}
        results = build_results(manifest, verdicts, run, meta)
        if out:
            write_atomically(out, json.dumps(results, indent=1))
        return results, 0 if manifest is not None else 2
    finally:
        _remove_tree(scratch)


KIT_LIST = "handout_files.txt"  # beside a kit that is not a checkout (Gradescope's): the handout's file names


def _kit_file(kit: Path, rel: str) -> bool:
    """Whether `rel` is one of the kit's own files (a whole-repository upload carries them all): not the student's
    work, so not listed to them as ignored."""
    if (kit / rel).is_file():
        return True
    listed = kit / KIT_LIST
    return listed.is_file() and rel in listed.read_text(encoding="utf-8").splitlines()


def _remove_tree(path: Path) -> None:
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            with contextlib.suppress(OSError):
                os.chmod(Path(dirpath) / d, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("results.json"), help="where to write results.json")
    parser.add_argument(
        "--tests",
        action="extend",
        nargs="+",
        default=None,
        metavar="PATH",
        help="grade only these test files or node ids (several, or repeat --tests; default: all)",
    )
    parser.add_argument("-k", dest="keyword", default=None, help="grade only tests matching this pytest -k expression")
    parser.add_argument("--force", action="store_true", help="replace --out even if it is not an earlier results.json")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds for the whole judge (default {DEFAULT_TIMEOUT:g})",
    )


def check_out(parser: argparse.ArgumentParser, args) -> None:
    """Refuse to replace an --out file that is not a results.json this grader wrote, unless --force."""
    out = args.out
    if out is None or not out.exists() or args.force:
        return
    try:
        ours = "kit_version" in json.loads(out.read_text(encoding="utf-8")).get("extra_data", {})
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        parser.error(f"--out {out} exists and is not a results.json from this grader; pass --force to replace it")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpe_harness.judge.grade", description=__doc__.splitlines()[0])
    parser.add_argument(
        "submission",
        nargs="?",
        type=Path,
        default=Path("."),
        help="a checkout (directory) or .zip; default: this checkout",
    )
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    check_out(parser, args)
    options = GradeOptions(tests=args.tests or ["tests"], keyword=args.keyword, timeout=args.timeout)
    results, code = grade(args.submission, args.out, options)
    print(format_table(results))
    print(f"results written to {args.out}")
    report_failure(results, code)
    return code


def report_failure(results: dict, code: int) -> None:
    """When grading itself failed (exit code 2), say why on stderr: the table only says "grading failed"."""
    if code == 0 or not results.get("tests"):
        return
    why = results["tests"][0].get("output", "").strip()
    print(f"error: {why or 'grading failed'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
