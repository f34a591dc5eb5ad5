"""--impl: bad values get a usage error naming what was tried; an outside solution with its own packages grades."""

from __future__ import annotations

import textwrap

import pytest

from staff.tests.runpytest import run_suite

pytest_plugins = ["pytester"]


def _plugin(pytester, *args):
    """The kit's pytest plugin on a one-test file, in process (pytester): how it answers its options."""
    pytester.makepyfile("def test_x(): pass\n")
    return pytester.runpytest_inprocess("-p", "bpe_harness.plugin.hooks", "-p", "no:cacheprovider", *args)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("no/such/file.py", "no such file"),
        ("no_such_module_xyz", "no module named 'no_such_module_xyz'"),
        ("json", "lacks run_train_bpe, get_tokenizer"),
    ],
)
def test_bad_impl_is_a_usage_error(pytester, value, says):
    result = _plugin(pytester, "--impl", value, "--co")
    stderr = result.stderr.str()
    assert result.ret == 4, result.stdout.str() + stderr
    assert says in stderr and "--impl accepts" in stderr, stderr
    assert "Traceback" not in stderr, stderr


def test_snapshot_update_refuses_non_reference(pytester):
    result = _plugin(pytester, "--impl", "student", "--snapshot-update", "--co")
    assert result.ret == 4 and "only runs with --impl reference" in result.stderr.str(), result.stderr.str()


@pytest.mark.slow
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


def _planted_project(root, adapters_rel):
    """A project without pyproject.toml or .git whose cs336_basics raises when imported."""
    (root / "cs336_basics").mkdir(parents=True)
    (root / "cs336_basics" / "__init__.py").write_text("raise RuntimeError('planted: the other project ran')\n")
    adapters = root / adapters_rel
    adapters.parent.mkdir(parents=True, exist_ok=True)
    adapters.write_text(
        "from cs336_basics.tokenizer import Tokenizer\n"
        "def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):\n    raise ValueError\n"
        "def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):\n    raise ValueError\n"
    )
    return adapters


@pytest.mark.slow
def test_impl_in_the_kits_layout_without_a_project_file_runs_that_project(tmp_path):
    """ROOT/tests/adapters.py beside ROOT/cs336_basics/: ROOT is the project, even without pyproject.toml or .git."""
    adapters = _planted_project(tmp_path / "theirs", "tests/adapters.py")
    proc, outcomes = run_suite(
        tmp_path, "tests/test_special_tokens.py", f"--impl={adapters}", "-k", "special_token_is_one_id"
    )
    assert len(outcomes) == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    [outcome] = outcomes
    assert outcome.status == "failed" and "planted: the other project ran" in outcome.message, (
        f"{outcome.status}: {outcome.message[:2000]}"
    )


@pytest.mark.slow
def test_impl_without_a_project_root_is_refused_with_the_fix(pytester, tmp_path):
    adapters = _planted_project(tmp_path / "theirs", "glue/adapters.py")
    result = _plugin(pytester, f"--impl={adapters}", "--co")
    stderr = result.stderr.str()
    assert result.ret == 4, result.stdout.str()[-2000:] + stderr
    assert "no folder at or above" in stderr and "empty pyproject.toml" in stderr, stderr
    assert "Traceback" not in stderr
    # with the fix the message gives, that project's own package runs
    (tmp_path / "theirs" / "pyproject.toml").write_text("")
    proc, outcomes = run_suite(
        tmp_path, "tests/test_special_tokens.py", f"--impl={adapters}", "-k", "special_token_is_one_id"
    )
    assert [o.status for o in outcomes] == ["failed"] and "planted" in outcomes[0].message, proc.stdout[-2000:]


@pytest.mark.slow
def test_an_outside_path_works_in_the_documented_spellings(tmp_path):
    """`--impl=PATH`, and `--impl PATH` when the tests are named (README: a lone `--impl /outside/path` is read by
    pytest as the tests to run, before the kit's options exist)."""
    adapters = _planted_project(tmp_path / "theirs", "tests/adapters.py")
    for args in ([f"--impl={adapters}"], ["tests/test_special_tokens.py", "--impl", str(adapters)]):
        proc, outcomes = run_suite(
            tmp_path,
            *args,
            "-k",
            "special_token_is_one_id",
            *(["tests/test_special_tokens.py"] if len(args) == 1 else []),
        )
        assert [o.status for o in outcomes] == ["failed"] and "planted" in outcomes[0].message, (
            args,
            proc.stdout[-2000:],
        )
