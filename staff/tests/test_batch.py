"""Batch grading a TA can trust: whole names (a clash refused), resume keyed on content + kit + hidden seed,
--regrade, failed gradings retried, the seed in the batch's records and gradebook (never in results.json), reasons
and per-test pass rates. One small test graded per submission, to stay fast."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
from pathlib import Path

import pytest

from bpe_harness.settings import ROOT
from staff.grade import main
from staff.grading.batch import BatchError, batch
from staff.grading.staff_judge import reference_submission, staff_options

ONE_TEST = "tests/test_special_tokens.py::test_special_token_is_one_id"
SEED = 424242


def _gradebook(out):
    return {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open(encoding="utf-8"))}


@pytest.mark.slow
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


@pytest.mark.slow
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
            "bpe_harness.client.failures.WorkerTimeout: encode() of 1,203 characters did not finish within 2.4 s",
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
    from staff.grading.gradebook import REASONS, failure_class

    assert failure_class(reason) == cls and cls in REASONS


@pytest.mark.slow
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


@pytest.mark.slow
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


def _own_staging(base, token):
    """Staging folders of this test's batch among every judge's (other graders share the base): those holding the
    marker module planted in its submissions, as a judge's staged kit or as the batch's private copy."""
    found = set()
    for entry in base.iterdir():
        for inner in ("kit", "submission"):
            if (entry / inner / "cs336_basics" / f"marker_{token}.py").exists():
                found.add(entry)
    return found


@pytest.mark.slow
def test_an_interrupted_batch_ends_its_judges_removes_staging_and_resumes_with_the_rest(tmp_path):
    """Ctrl-C (then SIGTERM, as `timeout` sends) in the middle of a batch: no traceback, every judge in flight and
    its workers ended (no process of the run left), no staging left, the finished submissions recorded; a rerun
    grades only the rest. (~15 s: two quick submissions, two that hang until their time limit.)"""
    import os
    import signal
    import subprocess
    import sys
    import time
    import uuid

    import psutil

    from bpe_harness.sandbox import judges_base
    from staff.hostile.cases import CASES, materialize

    token = uuid.uuid4().hex[:12]
    subs, out = tmp_path / "subs", tmp_path / "grading"
    hang = next(c for c in CASES if c.name == "sleep_forever")
    for name in ("a", "b"):
        reference_submission(subs / name)
    for name in ("c", "d"):
        materialize(hang, subs / name)
    for name in "abcd":
        (subs / name / "cs336_basics").mkdir(exist_ok=True)
        (subs / name / "cs336_basics" / f"marker_{token}.py").write_text("")
    cmd = [sys.executable, "-m", "staff.grade", "--batch", str(subs), "--out-dir", str(out), "--tests", ONE_TEST]
    env = {k: v for k, v in os.environ.items() if k != "CS336_HIDDEN_SEED"}
    proc = subprocess.Popen(
        [*cmd, "--no-hidden", "--jobs", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen, staging = {}, set()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            for p in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    seen.setdefault(p.pid, p.create_time())
            staging |= _own_staging(judges_base(), token)
            if (out / "records" / "a.json").exists() and (out / "records" / "b.json").exists():
                if _own_staging(judges_base(), token):  # c and d are in flight
                    break
            time.sleep(0.1)
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)  # a second signal while it stops
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGINT, (proc.returncode, stdout[-2000:], stderr[-2000:])
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    assert "stopped: 2 graded and recorded" in stdout and "left (c, d)" in stdout, stdout[-2000:]
    assert "run the same command again" in stdout

    def still_running() -> list[int]:  # a SIGKILLed process is gone once the kernel has torn it down
        alive = []
        for pid, started in seen.items():
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(pid)
                if p.create_time() == started and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
        return alive

    end = time.monotonic() + 10  # a loaded machine takes a moment to tear down what was killed
    while still_running() and time.monotonic() < end:
        time.sleep(0.2)
    alive = still_running()
    assert seen and not alive, f"processes of the interrupted batch still running: {alive}"
    assert staging, "the test never saw the batch's staging (its power depends on it)"
    assert not [p for p in staging if p.exists()], "staging left behind"
    assert sorted(p.name for p in (out / "records").iterdir()) == ["a.json", "b.json"]
    # the rerun grades only the rest (stopped at once here: its count is what matters)
    stop = threading.Event()
    stop.set()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert batch(subs, out, 2, staff_options(tests=[ONE_TEST], hidden=False), stop=stop) == 130
    assert "2 to grade, 2 already graded" in printed.getvalue(), printed.getvalue()


@pytest.mark.slow
def test_regrade_names_only_those(tmp_path, capsys):
    subs, out = tmp_path / "subs", tmp_path / "grading"
    reference_submission(subs / "alice")
    (subs / "bob").mkdir()
    options = staff_options(tests=[ONE_TEST], hidden=False)
    assert batch(subs, out, 2, options) == 0
    capsys.readouterr()
    args = ["--batch", str(subs), "--out-dir", str(out), "--tests", ONE_TEST, "--no-hidden"]
    assert main([*args, "--regrade", "alice"]) == 0
    printed = capsys.readouterr().out
    assert "1 to grade, 1 already graded" in printed and "  alice: " in printed and "  bob: " not in printed
    assert "--regrade" in _gradebook(out)["alice"]["how"] and _gradebook(out)["bob"]["how"] == "resumed"
    assert main([*args, "--regrade", "alice", "carol"]) == 2
    err = capsys.readouterr().err
    assert "--regrade carol: no such submission" in err and "alice, bob" in err and "nothing was graded" in err
    assert main([*args, "--regrade"]) == 0
    assert "2 to grade, 0 already graded" in capsys.readouterr().out


@pytest.mark.slow
def test_gradebook_is_private_and_its_cells_are_not_formulas(tmp_path):
    """The batch's outputs are the grader's alone (0700 folders, 0600 files: they hold the hidden seed and every
    student's results), the submissions folder is made private, and a submission named like a formula lands in
    gradebook.csv as text (OWASP: a leading quote)."""
    import os
    import stat

    subs, out = tmp_path / "subs", tmp_path / "grading"
    (subs / '=HYPERLINK("evil.example")').mkdir(parents=True)
    (subs / "@SUM(1+1)").mkdir()
    os.chmod(subs, 0o755)
    assert batch(subs, out, 2, staff_options(tests=[ONE_TEST], seed=SEED)) == 0
    raw = (out / "gradebook.csv").read_text(encoding="utf-8")
    cells = [r["submission"] for r in csv.DictReader(io.StringIO(raw))]
    assert sorted(cells) == sorted(['\'=HYPERLINK("evil.example")', "'@SUM(1+1)"]), cells
    assert stat.S_IMODE(subs.stat().st_mode) & 0o007 == 0
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"


PARASITE = """
import glob, os, sys

def _look():
    found = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            words = open(path, "rb").read().decode(errors="replace").split("\\0")
        except OSError:
            continue
        if "--batch" in words or any(w.startswith(({subs!r}, {out!r})) for w in words):
            found.append("command line: " + " ".join(words)[:200])
    for folder in ({subs!r}, {out!r}, {out!r} + "/results", {out!r} + "/records"):
        try:
            found.append(f"listed {{folder}}: {{sorted(os.listdir(folder))}}")
        except OSError:
            pass
    for name in ("batch.json", "gradebook.csv"):
        try:
            found.append(f"read {{name}}: {{open(os.path.join({out!r}, name)).read()[:100]}}")
        except OSError:
            pass
    return found

_found = _look()
if _found:
    raise RuntimeError("LEAKED " + " | ".join(_found))
from cs336_basics.adapters import get_tokenizer, run_train_bpe  # noqa: E402,F401
"""


@pytest.mark.slow
def test_a_worker_finds_neither_the_batch_nor_the_class(tmp_path):
    """The batch parasite (issue 24): a submission that looks for `--batch DIR` in every process's command line,
    lists the class's folder and the batch's outputs, and reads batch.json (the hidden seed) and the gradebook. It
    finds nothing: staff.grade keeps its arguments off its command line, the submissions folder is made private,
    the outputs are 0700/0600. Its honest twin (the same code without the look) scores the same. The folders are
    world-readable at first, as a TA's home often is. (~15 s)"""
    import os
    import subprocess
    import sys
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="cs336-parasite-"))
    try:
        os.chmod(base, 0o755)
        subs, out = base / "subs", base / "grading"
        reference_submission(subs / "honest")
        parasite = reference_submission(subs / "parasite")
        (parasite / "tests" / "adapters.py").write_text(PARASITE.format(subs=str(subs), out=str(out)))
        os.chmod(subs, 0o755)
        cmd = [sys.executable, "-m", "staff.grade", "--batch", str(subs), "--out-dir", str(out)]
        proc = subprocess.run(
            [*cmd, "--tests", ONE_TEST, "--hidden-seed", str(SEED), "--jobs", "2"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        rows = _gradebook(out)
        assert "LEAKED" not in rows["parasite"]["detail"], rows["parasite"]["detail"]
        assert rows["parasite"]["score"] == rows["honest"]["score"] == rows["honest"]["max_score"], rows
        assert str(SEED) not in (out / "results" / "parasite.json").read_text()
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
