"""Fixtures of the hidden tests: the implementation under test and the reference, each behind its own worker.

TEMPORARY (until the lead's rebuild makes the plugin's `impl` fixture a bpe_harness.isolation.Client): `impl` is
overridden here with a Client on the session's --impl value, sandboxed like the judge's workers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from bpe_harness.isolation import Client
from bpe_harness.isolation.sandbox import sandbox_from_environment


@pytest.fixture
def impl(pytestconfig):  # TEMPORARY: remove once plugin.py's impl fixture is a Client
    with Client(pytestconfig.getoption("--impl"), sandbox=sandbox_from_environment(os.environ)) as client:
        yield client


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
