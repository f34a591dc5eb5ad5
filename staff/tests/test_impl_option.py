"""--impl: bad values get a usage error naming what was tried; an outside solution with its own packages grades."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from staff.tests.runpytest import ROOT, run_suite


def _pytest(*args):
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("no/such/file.py", "no such file"),
        ("no_such_module_xyz", "no module named 'no_such_module_xyz'"),
        ("json", "lacks run_train_bpe, get_tokenizer"),
    ],
)
def test_bad_impl_is_a_usage_error(value, says):
    proc = _pytest("tests", "--impl", value, "--co")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert says in proc.stderr and "--impl accepts" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


def test_snapshot_update_refuses_non_reference():
    proc = _pytest("tests", "--impl", "student", "--snapshot-update", "--co")
    assert proc.returncode == 4 and "only runs with --impl reference" in proc.stderr, proc.stderr


def test_outside_solution_with_its_own_package(tmp_path):
    """A CS336-style project elsewhere, whose adapters import its own cs336_basics (not this repo's stubs)."""
    project = tmp_path / "their_solution"
    (project / "cs336_basics").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'theirs'\nversion = '0'\n")
    (project / "cs336_basics" / "__init__.py").write_text("")
    (project / "cs336_basics" / "bpe.py").write_text(
        "from staff.reference.tokenizer import Tokenizer\nfrom staff.reference.train import train_bpe\n"
    )
    (project / "tests" / "adapters.py").write_text(
        textwrap.dedent(
            """
            from cs336_basics.bpe import Tokenizer, train_bpe

            def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
                return train_bpe(input_path, vocab_size, special_tokens)

            def get_tokenizer(vocab, merges, special_tokens=None):
                vocab[max(vocab) + 1] = b"<|appended by this solution|>"  # the harness hands out copies
                return Tokenizer(vocab, merges, special_tokens)
            """
        )
    )
    selection = "minimum_vocab or ties_ or roundtrip_short or special_token_is_one_id or cl100k_base-english"
    proc, outcomes = run_suite(tmp_path, "tests", "--impl", str(project / "tests" / "adapters.py"), "-k", selection)
    by_status = {}
    for o in outcomes:
        by_status.setdefault(o.status, []).append(o)
    assert len(by_status.get("passed", [])) >= 10, proc.stdout[-3000:]
    # the o200k/cl100k tests need `pattern`; this get_tokenizer lacks it, and the message says so
    [failed] = by_status["failed"]
    assert "takes no `pattern` argument" in failed.message, failed.message
