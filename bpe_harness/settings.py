"""Every environment variable the kit reads, declared once, typed, and read through `Setting.read`.

Each `Setting` says who sets it (anyone, staff, the grader for its own children, or the harness for the worker) and
what it does; `python -m bpe_harness.settings` prints the Markdown table that staff/README.md carries ("Settings"),
and staff/tests/test_settings.py checks that the table is current and that no code reads a CS336_* variable declared
nowhere. Values are read when asked, not at import, so a test or a judge can change them for a child process.

The worker's own variables (CS336_WORKER_*) are declared here too, but the worker reads them by the names in
bpe_harness/protocol.py: it imports nothing else of the harness.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bpe_harness import protocol

ROOT = Path(__file__).resolve().parent.parent
Value = str | bool | int | float | Path | tuple[str, ...] | None  # what Setting.read returns, by kind
AUDIENCES = (
    "anyone",
    "staff",
    "judge",
    "harness",
)  # who sets it: a user, staff, the judge (for its pytest), the harness (for the worker)


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its kind (text, flag, number, path, paths) and who sets it."""

    name: str
    kind: str
    audience: str
    what: str

    def raw(self, environ: Mapping[str, str] | None = None) -> str:
        return (os.environ if environ is None else environ).get(self.name, "")

    def read(self, environ: Mapping[str, str] | None = None) -> Value:
        """The typed value, or None when unset or empty. A number that is not one raises ValueError naming the
        variable; a flag is true for 1/true/yes and false for anything else."""
        text = self.raw(environ).strip()
        if not text:
            return None
        if self.kind == "flag":
            return text.lower() in ("1", "true", "yes")
        if self.kind == "number":
            try:
                return float(text) if "." in text else int(text)
            except ValueError:
                raise ValueError(f"{self.name}={text!r}: expected a number") from None
        if self.kind == "path":
            return Path(text)
        if self.kind == "paths":
            return tuple(p for p in text.split(os.pathsep) if p)
        return text

    def is_off(self, environ: Mapping[str, str] | None = None) -> bool:
        """Explicitly turned off (`=0`): for switches that are on unless a rehearsal turns them off."""
        return self.raw(environ).strip() == "0"


def _s(name: str, kind: str, audience: str, what: str) -> Setting:
    assert audience in AUDIENCES and kind in ("text", "flag", "number", "path", "paths"), name
    return Setting(name, kind, audience, what)


LIMIT_SCALE = _s(
    "CS336_LIMIT_SCALE", "text", "anyone", "multiply every time limit (`--limit-scale` wins); memory stays"
)
CACHE_DIR = _s(
    "CS336_CACHE_DIR", "path", "anyone", "where every cache lives: generated inputs, tiktoken data (`.cache/`)"
)
ALLOW_DOWNLOAD = _s(
    "CS336_ALLOW_DOWNLOAD", "flag", "anyone", "`1`: let tiktoken download encodings it cannot find offline"
)
LIMITS_LOG = _s(
    "CS336_LIMITS_LOG", "path", "staff", "append one JSON line per limited call here (`staff/stability.py`)"
)
HIDDEN_SEED = _s(
    "CS336_HIDDEN_SEED", "text", "staff", "the hidden tests' secret seed (else `--hidden-seed`, else random)"
)
SANDBOX = _s("CS336_SANDBOX", "flag", "judge", "`1`: start every worker in the grader's sandbox")
SANDBOX_TIER = _s("CS336_SANDBOX_TIER", "text", "staff", "cap the tier (`root`, `user`): rehearse a weaker machine")
SANDBOX_USERNS = _s(
    "CS336_SANDBOX_USERNS", "flag", "staff", "`0`: no user namespaces (rehearse a machine without them)"
)
SANDBOX_VIEW = _s("CS336_SANDBOX_VIEW", "flag", "staff", "`0`: no allowlisted view (rehearse permissions only)")
SANDBOX_CPUS = _s("CS336_SANDBOX_CPUS", "number", "staff", "CPUs a worker may use (rehearse a many-core host)")
SANDBOX_UID = _s("CS336_SANDBOX_UID", "number", "judge", "first uid of the sandbox's block")
SANDBOX_DIR = _s("CS336_SANDBOX_DIR", "path", "judge", "the judge's private folder the sandbox works in")
SANDBOX_SCRATCH = _s("CS336_SANDBOX_SCRATCH", "path", "judge", "the workers' scratch folder")
SANDBOX_HIDE = _s("CS336_SANDBOX_HIDE", "paths", "judge", "secret paths covered where no allowlisted view holds")
SANDBOX_READABLE = _s("CS336_SANDBOX_READABLE", "paths", "judge", "folders the worker may read beside the kit")
SANDBOX_MEMORY_MB = _s("CS336_SANDBOX_MEMORY_MB", "number", "judge", "address space per worker process, MB")
SANDBOX_TREE_MEMORY_MB = _s("CS336_SANDBOX_TREE_MEMORY_MB", "number", "judge", "memory of the worker's whole tree, MB")
SANDBOX_NPROC = _s("CS336_SANDBOX_NPROC", "number", "judge", "processes and threads of one worker's uid")
SANDBOX_FSIZE_MB = _s("CS336_SANDBOX_FSIZE_MB", "number", "judge", "largest file a worker may write, MB")
WORKER_SYS_PATH = _s(
    protocol.WORKER_SYS_PATH, "text", "harness", "the harness's `sys.path` (JSON), handed to the worker"
)
WORKER_CHILD = _s(protocol.WORKER_CHILD, "text", "harness", "the worker's import policy, for processes its code starts")
WORKER_NPROC = _s(protocol.WORKER_NPROC, "number", "harness", "the worker's process limit, named in its EAGAIN message")
WORKER_CPUS = _s(protocol.WORKER_CPUS, "text", "harness", "the CPUs the worker may use (its affinity)")

SETTINGS = tuple(v for v in list(globals().values()) if isinstance(v, Setting))


def cache_dir() -> Path:
    """The one place the cache location is decided: every cache the kit writes (limits/, leaderboard/,
    experiments/, bench/, tiktoken/, merges/) is a folder under it."""
    return Path(CACHE_DIR.raw().strip() or ROOT / ".cache")


def allow_download() -> bool:
    return bool(ALLOW_DOWNLOAD.read())


def limits_log() -> str | None:
    return LIMITS_LOG.raw().strip() or None


def sandbox_requested(environ: Mapping[str, str] | None = None) -> bool:
    return bool(SANDBOX.read(environ))


def markdown_table() -> str:
    """The README's table: one row per setting, in declaration order."""
    rows = ["| variable | set by | what |", "| --- | --- | --- |"]
    rows += [f"| `{s.name}` | {s.audience} | {s.what} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
