"""The judge: grade a checkout the way Gradescope does, so what students see locally is what Gradescope shows.

    uv run python -m bpe_harness.judge.grade                    # grade this checkout on the public tests
    uv run python -m bpe_harness.judge.grade PATH [--out results.json] [--tests tests/test_tokenizer.py] [-k EXPR]

Why this exists: graders that import student code in the process that decides the grade can be fooled (a
`conftest.py`, a pytest hook, an `__eq__` that is always True, a fake results file). Here the grade is decided in a
process that never runs student code:

1. Stage (judge/staging.py): a fresh temporary copy of the kit (tests, fixtures, harness, pytest config) plus only the
   student-owned files of the submission (`cs336_basics/**`, `tests/adapters.py`); anything else is ignored and listed.
2. Judge (judge/run.py): the kit's pytest suite runs in a child process with the verdict plugin (judge/verdicts.py);
   every call into the student's code goes to a sandboxed worker process (bpe_harness.client); the whole child is
   bounded by an overall timeout and killed with everything it started.
3. Verdicts (judge/results.py): read from files the plugin wrote into a directory only this process can write,
   validated (types and sizes); a test without a verdict (crash, timeout, missing output) scores 0 with the reason,
   never a pass.
4. Report: a table on stdout (judge/console.py), and a Gradescope results.json (written atomically, by this process
   only).

The exit code says whether grading worked (0), not the score; 2 means the judge itself failed (the results still
say why, with score 0).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpe_harness import extensions
from bpe_harness.files import write_atomically
from bpe_harness.judge.console import format_table, report_failure
from bpe_harness.judge.results import Results, build_results, valid_manifest, valid_verdicts
from bpe_harness.judge.run import DEFAULT_TIMEOUT, JudgeRun, run_judge
from bpe_harness.judge.staging import (
    SubmissionError,
    kit_file,
    kit_version,
    private_kit,
    read_submission,
    stage,
)
from bpe_harness.sandbox import SandboxRefused, judges_base
from bpe_harness.settings import ROOT

CHECKOUT_SECRETS = (".git",)  # its history may hold what the registered secret paths hold


class GradingStopped(Exception):
    """Grading was stopped from outside (GradeOptions.stop: a batch interrupted by Ctrl-C or SIGTERM): the judge and
    everything it started were killed and its staging removed; no results were written."""


@dataclass
class GradeOptions:
    tests: list[str] = field(default_factory=lambda: ["tests"])
    keyword: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    extra_kit: tuple[str, ...] = ()  # kit paths staged beside the public kit (the course's own tests and solution)
    env: dict[str, str] = field(default_factory=dict)
    sandbox: bool = True
    stop: threading.Event | None = None  # set it to stop this grading at once (GradingStopped, nothing written)


def _failed(results: Results, out: Path | None, output: str) -> tuple[Results, int]:
    """A grading that could not run: its one entry says why; written to `out` all the same (exit code 2)."""
    results["tests"][0]["output"] = output
    if out:
        write_atomically(out, json.dumps(results, indent=1))
    return results, 2


def _secrets(kit: Path, staged: Path) -> tuple[Path, ...]:
    """Paths the workers must not read: the checkout's secret paths, and the staged kit's private ones."""
    in_checkout = (kit / p for p in (*CHECKOUT_SECRETS, *extensions.secret_paths()))
    return tuple(path for path in (*in_checkout, *(staged / p for p in private_kit())) if path.exists())


def _judge_with_retry(
    scratch: Path, staged: Path, options: GradeOptions, secrets: tuple[Path, ...], name: str
) -> tuple[JudgeRun, list[dict[str, Any]] | None, dict[str, dict[str, Any]]]:
    """The judge on the staged kit; the tests a busy machine may have decided graded again alone (their verdicts
    replaced). (run, manifest, verdicts); SandboxRefused when no tier may run it, GradingStopped when stopped."""

    def judge(into: Path, selection: list[str]) -> JudgeRun:
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
            raise GradingStopped(f"grading of {name} was stopped")
        return run

    private = scratch / "private"
    private.mkdir(mode=0o700)
    run = judge(private, [*options.tests] + (["-k", options.keyword] if options.keyword else []))
    manifest = valid_manifest(private / "manifest.json")
    verdicts = valid_verdicts(private / "verdicts.jsonl")
    affected = [name for name, v in verdicts.items() if v["load_affected"]]
    if affected and manifest is not None:  # graded again alone: a busy machine does not decide a grade
        again = scratch / "private-again"
        again.mkdir(mode=0o700)
        judge(again, affected)
        for test, v in valid_verdicts(again / "verdicts.jsonl").items():
            if test in affected:
                verdicts[test] = {**v, "retried_for_load": True}
    return run, manifest, verdicts


def grade(submission_path: Path, out: Path | None, options: GradeOptions, kit: Path = ROOT) -> tuple[Results, int]:
    """Grade one submission; (results, exit code). results.json is written to `out` even when grading fails."""
    meta: dict[str, Any] = {"python": platform.python_version(), "kit_version": kit_version(kit, options.extra_kit)}
    scratch = Path(tempfile.mkdtemp(prefix="cs336-judge-", dir=judges_base()))
    try:
        try:
            submission = read_submission(Path(submission_path), scratch)
        except SubmissionError as e:
            return _failed(
                build_results(None, {}, JudgeRun(None, False, 0.0, str(e)), meta), out, f"grading failed: {e}"
            )
        meta.update(ignored=[rel for rel in submission.ignored if not kit_file(kit, rel)], notes=submission.notes)
        staged = scratch / "kit"
        stage(kit, submission, staged, options.extra_kit)
        try:
            run, manifest, verdicts = _judge_with_retry(
                scratch, staged, options, _secrets(kit, staged), str(submission_path)
            )
        except SandboxRefused as e:
            run = JudgeRun(None, False, 0.0, str(e), sandbox={"tier": "refused", "notes": [str(e)]})
            return _failed(build_results(None, {}, run, meta), out, f"grading refused: {e}")
        results = build_results(manifest, verdicts, run, meta)
        if out:
            write_atomically(out, json.dumps(results, indent=1))
        return results, 0 if manifest is not None else 2
    finally:
        _remove_tree(scratch)


def _remove_tree(path: Path) -> None:
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            with contextlib.suppress(OSError):
                os.chmod(Path(dirpath) / d, 0o700)
    shutil.rmtree(path, ignore_errors=True)


# --- the command line ----------------------------------------------------------------------------------------------


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


def check_out(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
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


def grade_and_report(submission: Path, out: Path, options: GradeOptions) -> int:
    """Grade, print the table and where results.json went, and why grading failed if it did; the exit code."""
    results, code = grade(submission, out, options)
    print(format_table(results))
    print(f"results written to {out}")
    report_failure(results, code)
    return code


def main(argv: list[str] | None = None) -> int:
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
    return grade_and_report(args.submission, args.out, options)


if __name__ == "__main__":
    sys.exit(main())
