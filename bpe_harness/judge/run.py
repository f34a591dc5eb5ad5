"""Run the judge: the staged kit's pytest in a child process of its own session, with the verdict plugin
(judge/verdicts.py) writing into a folder only the grader can write; every call into the submission goes to a
sandboxed worker (bpe_harness.client). The whole child is bounded by an overall timeout and killed with everything it
started; orphaned sandbox processes are killed while it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from bpe_harness.client.tree import kill_process_tree
from bpe_harness.judge.staging import STUDENT_ADAPTERS
from bpe_harness.sandbox import Sandbox, keep_out_of_reach, others_can_read, probe_tier
from bpe_harness.settings import cache_dir

DEFAULT_TIMEOUT = 540.0  # seconds for the whole judge (Gradescope stops everything at 600 s by default)
LOG_TAIL_BYTES = 6000  # of the judge's pytest log, kept for the report


@dataclass
class JudgeRun:
    returncode: int | None
    timed_out: bool
    seconds: float
    log_tail: str
    leftovers: int = 0  # processes still running after the judge, killed
    sandbox: dict[str, Any] = field(default_factory=dict)  # the tier that held and what it guarantees


def _watch(proc: subprocess.Popen[bytes], box: Sandbox | None, deadline: float, stop: threading.Event | None) -> bool:
    """Wait for the judge; meanwhile kill orphaned sandbox processes (a daemonized grandchild would hold the worker's
    pipes open and stall the harness). True when the deadline passed first, or `stop` was set."""
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


def announce_tier(stream: IO[str] | None = None) -> None:
    """Say on the console, once per process, in which sandbox tier submissions are graded here and why no stronger
    one held (a fallback must never go unnoticed in results.json alone)."""
    tier = probe_tier()
    view = " (allowlisted view: the worker sees only the interpreter, the kit and its own files)" if tier.view else ""
    lines = [f"sandbox: tier {tier.label}{view}" + (" -- REFUSED, nothing is graded" if tier.refused else "")]
    lines += [f"sandbox note: {note}" for note in tier.notes]
    text = "\n".join(lines)
    if text not in _ANNOUNCED:
        _ANNOUNCED.add(text)
        print(text, file=stream or sys.stderr, flush=True)


def _judge_environment(env_extra: dict[str, str]) -> dict[str, str]:
    """The judge's pytest environment: the grader's, without pytest, sandbox or Python settings of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CS336_SANDBOX", "PYTHON"))}
    env.update(
        PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", CS336_CACHE_DIR=str(cache_dir()), **env_extra
    )
    return env


def _open_sandbox(private: Path, hide: tuple[Path, ...], env: dict[str, str]) -> Sandbox:
    """The grader's handle on the workers' uids (a block it reserves, freed by cleanup(): to kill what is left); it
    opens the scratch to them alone and hands itself to the judge's pytest in `env`."""
    announce_tier()
    keep_out_of_reach()  # this process holds the seed in its environment: not readable by same-uid code
    scratch = private.parent
    box = Sandbox(workdir=scratch / "work", hide=tuple(str(p) for p in (*hide, private)), scratch=scratch)
    box.protect_interpreter()
    box.open_to_workers(scratch)
    env.update(box.environment())
    # the judge's temporary files (the inputs hidden tests write for the worker) in its own scratch, not the
    # machine's /tmp: a worker's allowlisted view shows this folder, and no other judge's worker reaches it
    own_temp = scratch / "tmp"
    shutil.rmtree(own_temp, ignore_errors=True)  # a second judge in one scratch (the load retry) starts empty
    own_temp.mkdir(mode=0o711)
    env["TMPDIR"] = str(own_temp)
    if box.tier is not None and box.tier.name == "root" and not others_can_read(cache_dir()):
        # the workers' uids could not read the generated inputs there: this run keeps its own, in its scratch
        own_cache = scratch / "cache"
        own_cache.mkdir(mode=0o755)
        env["CS336_CACHE_DIR"] = str(own_cache)
        box.notes.append(
            f"{cache_dir()} is not readable by the sandbox's users, so this run generated its inputs in its own "
            "scratch (slower): make the folders on the way readable by others (chmod o+rx) or set CS336_CACHE_DIR"
        )
    return box


def _pytest_command(staged: Path, private: Path, pytest_args: list[str]) -> list[str]:
    return [
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


def run_judge(
    staged: Path,
    private: Path,
    pytest_args: list[str],
    *,
    timeout: float,
    env_extra: dict[str, str],
    sandbox: bool = True,
    hide: tuple[Path, ...] = (),
    stop: threading.Event | None = None,
) -> JudgeRun:
    """The kit's pytest in a child process (its own session), verdicts into `private`; killed at `timeout`.
    `hide`: secret paths of the checkout the workers must not read, as far as the tier permits.
    `stop`: when set, the judge's whole tree is killed at once, as at the timeout."""
    env = _judge_environment(env_extra)
    box = _open_sandbox(private, hide, env) if sandbox else None
    log_path = private / "pytest.log"
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            _pytest_command(staged, private, pytest_args),
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
        f.seek(max(0, log_path.stat().st_size - LOG_TAIL_BYTES))
        tail = f.read().decode("utf-8", "replace")
    return JudgeRun(
        None if timed_out else proc.returncode,
        timed_out,
        time.monotonic() - start,
        tail,
        max(0, leftovers),
        box.describe() if box is not None else {"tier": "none (not sandboxed)"},
    )
