"""Every environment variable the kit reads, in one place (staff/README.md's "Settings" table lists them all).

CS336_LIMIT_SCALE     multiply every time limit (a slow or busy machine); --limit-scale wins over it
CS336_CACHE_DIR       where every cache lives: generated corpora, expected digests, tiktoken data (default .cache/)
CS336_ALLOW_DOWNLOAD  1: let tiktoken download encodings it cannot find offline
CS336_LIMITS_LOG      staff: append one JSON line per limited call to this file (staff/stability.py reads it)
CS336_SANDBOX         1: start every worker in the grader's sandbox (bpe_harness/sandbox/tiers.py)
CS336_WORKER_SYS_PATH internal: the harness's sys.path, handed to the worker process
CS336_WORKER_CHILD    internal: set by the worker for the processes its code starts (worker/child_environment.py)
"""

from __future__ import annotations

import os
from pathlib import Path

from bpe_harness.protocol import WORKER_SYS_PATH  # noqa: F401  (read by the worker; listed here with the rest)

ROOT = Path(__file__).resolve().parent.parent
LIMIT_SCALE = "CS336_LIMIT_SCALE"
CACHE_DIR = "CS336_CACHE_DIR"
ALLOW_DOWNLOAD = "CS336_ALLOW_DOWNLOAD"
LIMITS_LOG = "CS336_LIMITS_LOG"
SANDBOX = "CS336_SANDBOX"


def cache_dir() -> Path:
    """The one place the cache location is decided (read when asked, not at import): every cache the kit writes
    (limits/, leaderboard/, experiments/, bench/, tiktoken/, merges/) is a folder under it."""
    return Path(os.environ.get(CACHE_DIR) or ROOT / ".cache")


def limit_scale_text() -> str | None:
    return os.environ.get(LIMIT_SCALE)


def allow_download() -> bool:
    return os.environ.get(ALLOW_DOWNLOAD) == "1"


def limits_log() -> str | None:
    return os.environ.get(LIMITS_LOG) or None


def sandbox_requested() -> bool:
    return os.environ.get(SANDBOX) == "1"
