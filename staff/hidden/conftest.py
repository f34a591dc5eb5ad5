"""Fixtures of the hidden tests: the reference behind its own worker, and a scratch folder the sandboxed worker can
read. The implementation under test is reached through the plugin's `run_train_bpe` and `get_tokenizer` (calls of its
`impl`, a Client with calibrated per-call time limits)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from bpe_harness.client import Client


@pytest.fixture(scope="session")
def reference():
    """The answer key, out of process too (it is trusted, but a crash there must not take the judge down)."""
    with Client("reference") as client:
        yield client


@pytest.fixture
def corpus_dir():
    """A scratch folder the sandboxed worker can read (pytest's tmp_path is private to the grader's user)."""
    folder = Path(tempfile.mkdtemp(prefix="cs336-hidden-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
