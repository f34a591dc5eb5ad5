"""Batch grading a TA can trust: whole names (a clash refused), resume keyed on content + kit + hidden seed,
--regrade, failed gradings retried, the seed in the batch's records and gradebook (never in results.json), reasons
and per-test pass rates. One small test graded per submission, to stay fast."""

from __future__ import annotations

import csv
import json

import pytest

from staff.grade import main
from staff.grading.batch import BatchError, batch
from staff.grading.staff_judge import reference_submission, staff_options

ONE_TEST = "tests/test_special_tokens.py::test_special_token_is_one_id"
SEED = 424242


def _gradebook(out):
    return {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open(encoding="utf-8"))}


def test_batch_resume_regrade_seed_and_names(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CS336_HIDDEN_SEED", raising=False)
    subs, out = tmp_path / "subs", tmp_path / "grading"
    reference_submission(subs / "alice.v1")
    (subs / "alice.v2").mkdir()  # the handout's stubs: 0 points, "not implemented"
    (subs / "bob.zip").write_bytes(b"not a zip")  # cannot be graded
    options = staff_options(tests=[ONE_TEST], seed=SEED)

    assert batch(subs, out, 2, options) == 1  # bob failed to grade
    rows = _gradebook(out)
    assert set(rows) == {"alice.v1", "alice.v2", "bob"}, "names are kept whole: alice.v1 and alice.v2 are two rows"
    assert (
        float(rows["alice.v1"]["score"]) == float(rows["alice.v1"]["max_score"]) > 0 and not rows["alice.v1"]["reason"]
    )
    assert float(rows["alice.v2"]["score"]) == 0 and rows["alice.v2"]["reason"] == "not implemented"
    assert rows["bob"]["grading"] == "failed" and rows["bob"]["reason"] == "grader error"
    assert "not a valid zip" in rows["bob"]["detail"], rows["bob"]
    assert {r["hidden_seed"] for r in rows.values()} == {str(SEED)}
    assert json.loads((out / "records" / "alice.v1.json").read_text())["hidden_seed"] == SEED
    assert str(SEED) not in (out / "results" / "alice.v1.json").read_text(), "students see results.json"
    text = (out / "summary.md").read_text()
    assert f"hidden seed {SEED}" in text and "## Failed to grade" in text and "| bob |" in text
    assert f"| {ONE_TEST} | 1/2 | 50% |" in text, text
    assert "retrying once" in capsys.readouterr().out

    # same content, kit and seed: resumed; the failed one is graded again
    batch(subs, out, 2, options)
    assert "1 to grade, 2 already graded" in capsys.readouterr().out
    # a changed resubmission is graded again (and now scores)
    reference_submission(subs / "alice.v2")
    batch(subs, out, 2, options)
    assert "2 to grade, 1 already graded" in capsys.readouterr().out
    assert float(_gradebook(out)["alice.v2"]["score"]) > 0
    (subs / "bob.zip").unlink()
    # without --hidden-seed, a resumed batch keeps the seed it was graded with
    assert main(["--batch", str(subs), "--out-dir", str(out), "--tests", ONE_TEST]) == 0
    printed = capsys.readouterr().out
    assert f"hidden seed {SEED}: the one" in printed and "0 to grade, 2 already graded" in printed
    # another seed: nothing of the old one is reused
    batch(subs, out, 2, staff_options(tests=[ONE_TEST], seed=SEED + 1))
    assert "2 to grade, 0 already graded" in capsys.readouterr().out
    assert {r["hidden_seed"] for r in _gradebook(out).values()} == {str(SEED + 1)}
    # --regrade: everything again
    batch(subs, out, 2, staff_options(tests=[ONE_TEST], seed=SEED + 1), regrade=True)
    assert "2 to grade, 0 already graded" in capsys.readouterr().out


def test_batch_refuses_a_name_clash(tmp_path, capsys):
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice.zip").write_bytes(b"PK")
    (subs / "Bob").mkdir()
    (subs / "bob").mkdir()
    with pytest.raises(BatchError, match="alice and alice.zip.*Bob and bob|Bob and bob.*alice and alice.zip"):
        batch(subs, tmp_path / "out", 1, staff_options(tests=[ONE_TEST], seed=1))
    assert not (tmp_path / "out" / "gradebook.csv").exists()
    assert (
        main(["--batch", str(subs), "--out-dir", str(tmp_path / "out"), "--tests", ONE_TEST, "--hidden-seed", "1"]) == 2
    )
    assert "nothing was graded" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("reason", "cls"),
    [
        ("NotImplementedError: write train_bpe() in cs336_basics/train_bpe.py", "not implemented"),
        ("ModuleNotFoundError: No module named 'heapdict'", "import failed"),
        ("importlib.metadata.PackageNotFoundError: No package metadata was found for cs336_basics", "import failed"),
        (
            "bpe_harness.isolation.endpoint.WorkerTimeout: encode() of 1,203 characters did not finish within 2.4 s",
            "too slow",
        ),
        ("WorkerCrashed: the worker was killed by signal SIGSEGV", "crashed"),
        ("AssertionError: encode() returned str 'abc'; expected a list of int token ids", "wrong output"),
        ("AssertionError: merges differ at merge #37 (merges 0..36 agree)", "wrong output"),
        ("MemoryError: the worker's tree held 900 MB, over its 600 MB memory cap", "over memory"),
        ("the judge was stopped after 540 s (overall time limit): this test never finished", "timed out"),
        ("RuntimeError: something odd", "raised an error"),
    ],
)
def test_failure_classes(reason, cls):
    from staff.grading.batch import REASONS, failure_class

    assert failure_class(reason) == cls and cls in REASONS


def test_an_exception_at_import_is_import_failed(tmp_path):
    """A submission whose package raises at import (left-over debug code): "import failed", with the exception in
    the detail column, not a class of its own."""
    subs, out = tmp_path / "subs", tmp_path / "grading"
    sub = reference_submission(subs / "debug")
    (sub / "cs336_basics" / "__init__.py").write_text('raise RuntimeError("oops, my debug code")\n')
    assert batch(subs, out, 1, staff_options(tests=[ONE_TEST], hidden=False)) == 0
    row = _gradebook(out)["debug"]
    assert row["reason"] == "import failed" and "RuntimeError: oops, my debug code" in row["detail"], row
    assert "| import failed | 1 |" in (out / "summary.md").read_text()


def test_a_failed_batch_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    """The batch's files are written whole or not at all: a write that fails midway (here summary.md, whose text
    cannot be encoded) leaves the previous summary.md as it was and no temporary file beside it."""
    from staff.grading import batch as batch_module

    subs, out = tmp_path / "subs", tmp_path / "grading"
    subs.mkdir()
    out.mkdir()
    (out / "summary.md").write_text("the last batch's summary\n", encoding="utf-8")
    monkeypatch.setattr(batch_module, "summary", lambda *args: "a lone surrogate: \ud800")
    with pytest.raises(UnicodeEncodeError):
        batch(subs, out, 1, staff_options(tests=[ONE_TEST], seed=1))
    assert (out / "summary.md").read_text(encoding="utf-8") == "the last batch's summary\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "batch.json",
        "gradebook.csv",
        "records",
        "results",
        "summary.md",
    ], "no temporary file is left behind"
