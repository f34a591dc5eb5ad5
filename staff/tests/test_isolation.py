"""The one boundary: student code runs only in the worker process, every call is bounded in time, each test starts
from fresh state, and the machinery survives hangs, crashes and noisy output while measuring what it claims to."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from bpe_harness.client import Client, WorkerCrashed, WorkerTimeout
from bpe_harness.client.measure import memory_unsupported_reason
from bpe_harness.plugin.snapshots import TrainingSnapshot
from bpe_harness.rules import EOT
from staff.tests.runpytest import ROOT, run_suite

CORPUS = ROOT / "tests" / "fixtures" / "corpora" / "tinystories_sample.txt"


def _own_tokenizer(client: Client):
    snap = TrainingSnapshot.parse((ROOT / "tests" / "snapshots" / "tinystories_sample.json").read_text("utf-8"))
    return client.tokenizer(snap.vocab_by_convention(), snap.merges, [EOT])


# --- the boundary ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_test_process_never_imports_the_submission(tmp_path, monkeypatch):
    """A submission that would replace the comparisons at import (so everything passes) still fails every test:
    it is imported only in worker processes, never where the verdicts are decided."""
    notes = tmp_path / "notes.txt"
    monkeypatch.setenv("CS336_SABOTEUR_NOTES", str(notes))
    proc, outcomes = run_suite(tmp_path, "tests", "--impl", "staff.bad.saboteur", "-k", "not limits")
    assert len(outcomes) > 50, proc.stdout[-3000:]
    passed = [o.test for o in outcomes if o.status == "passed"]
    assert not passed, f"these passed although nothing is implemented: {passed[:5]}"
    lines = notes.read_text().splitlines()
    assert lines and all(line.endswith("pytest loaded: False") for line in lines), lines


@pytest.mark.slow
def test_each_test_starts_from_fresh_state(tmp_path):
    """An encoder that breaks after 30 calls in one process passes every test: no test inherits another's state."""
    proc, outcomes = run_suite(
        tmp_path,
        "tests/test_tokenizer.py",
        "tests/test_special_tokens.py",
        "--impl",
        "staff.bad.stateful",
        "-k",
        "not do_not_share_state",
    )
    assert len(outcomes) >= 20 and all(o.status == "passed" for o in outcomes), proc.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variant", "words"),
    [
        ("staff.bad.naive_encoder", ["encode() of", "did not finish within", "every merge for every pre-token"]),
        ("staff.bad.naive_trainer", ["run_train_bpe(", "did not finish within", "recounting every pair"]),
    ],
)
def test_a_slow_implementation_cannot_stall_the_suite(tmp_path, variant, words):
    """The whole suite, with the lecture's naive encoder or trainer, ends within 3 minutes; the calls that run out
    of time fail with a message naming the call, the limit and the usual cause, and every other test reports its
    own verdict."""
    started = time.monotonic()
    proc, outcomes = run_suite(tmp_path, "tests", "--impl", variant, timeout=240)
    elapsed = time.monotonic() - started
    assert elapsed < 180, f"{variant}: the suite took {elapsed:.0f} s"
    timed_out = [o for o in outcomes if "did not finish within" in o.message]
    assert timed_out, proc.stdout[-3000:]
    missing = [w for w in words if not any(w in o.message for o in timed_out)]
    assert not missing, f"no timeout message says {missing}:\n{timed_out[0].message[:2000]}"
    assert sum(o.status == "passed" for o in outcomes) >= 30, proc.stdout[-3000:]


@pytest.mark.slow
def test_a_start_that_fails_is_reported_once_per_test_without_retrying(tmp_path):
    """A submission whose import fails makes each test fail fast with the import's own message."""
    adapters = tmp_path / "project" / "tests" / "adapters.py"
    adapters.parent.mkdir(parents=True)
    (tmp_path / "project" / "pyproject.toml").write_text("[project]\nname = 'broken'\n")
    adapters.write_text("import time\nraise RuntimeError('broken at import')\n")
    started = time.monotonic()
    proc, outcomes = run_suite(tmp_path, "tests", "--impl", str(adapters), "-k", "not limits")
    assert time.monotonic() - started < 60
    ran = [o for o in outcomes if o.status != "skipped"]
    assert ran and all(o.status == "failed" and "broken at import" in o.message for o in ran), proc.stdout[-2000:]


def test_no_pickle_in_the_harness():
    """Nothing the implementation produces may be unpickled here: the harness never imports a pickler."""
    banned = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "multiprocessing"}
    for path in sorted((ROOT / "bpe_harness").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            used = {n.split(".")[0] for n in names} & banned
            assert not used, f"{path.relative_to(ROOT)} imports {used}"


@pytest.mark.slow
def test_the_graded_suite_collects_from_the_root():
    """`pytest .` from the repository root collects the graded and staff tests with no error."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", ".", "--co", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


# --- hangs, crashes, prints --------------------------------------------------------------------------------------


def test_a_hung_call_times_out_and_the_next_call_works():
    with Client("staff.bad.hanging_trainer") as client:
        started = time.monotonic()
        with pytest.raises(
            WorkerTimeout, match=r"run_train_bpe\('tinystories_sample.txt'.*did not finish within 1.0 s"
        ):
            client.train(CORPUS, 300, [EOT], timeout=1.0)
        assert time.monotonic() - started < 10
        assert client.ping().value == "pong"


def test_a_stream_that_stops_yielding_is_stopped_early():
    with Client("staff.bad.hanging_stream") as client:
        tok = _own_tokenizer(client)
        started = time.monotonic()
        with pytest.raises(WorkerTimeout, match=r"made no progress for 1.5 s \(after 0 ids"):
            tok.encode_iterable_file(CORPUS, timeout=60, stall=1.5)
        assert time.monotonic() - started < 10


def test_a_crash_names_the_exit_code_and_shows_stderr():
    with Client("staff.bad.crashing_trainer") as client:
        with pytest.raises(WorkerCrashed) as caught:
            client.train(CORPUS, 300, [EOT], timeout=30)
        message = str(caught.value)
        assert "exited with code 7" in message, message
        assert "about to exit" in message and "last words on stderr" in message, message
        assert client.ping().value == "pong"


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "own process"])
def test_a_killed_worker_names_the_signal(fork):
    with Client("staff.bad.hanging_trainer", fork=fork) as client:
        pid = client.endpoint().pid
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
        with pytest.raises(WorkerCrashed, match="killed by signal SIGKILL"):
            client.train(CORPUS, 300, [EOT], timeout=30)


def test_prints_do_not_corrupt_the_channel():
    with Client("staff.bad.noisy") as noisy, Client("reference") as reference:
        vocab, merges = noisy.train(CORPUS, 300, [EOT])
        text = CORPUS.read_text(encoding="utf-8")[:5000]
        assert noisy.tokenizer(vocab, merges, [EOT]).encode(text) == reference.tokenizer(vocab, merges, [EOT]).encode(
            text
        )


def test_a_stub_not_implemented_error_comes_back_as_itself():
    with Client("student") as client:
        with pytest.raises(NotImplementedError, match=r"^write train_bpe\(\) in cs336_basics/") as caught:
            client.train(CORPUS, 300, [EOT])
        assert "cs336_basics/train_bpe.py" in str(caught.value.__cause__)  # the worker's traceback, chained


@pytest.mark.slow
def test_cpu_of_a_forkserver_pool_is_counted():
    """The naive trainer run in a forkserver pool: its CPU is spent in a grandchild that has exited by the time the
    call returns, and is still charged (the tree's accounting), so it cannot look fast."""
    with Client("staff.bad.pool_naive_trainer") as client:
        client.train(CORPUS, 300, [EOT], timeout=120)
        call = client.last
    assert call.had_children and call.cpu_s > 0.7 * call.wall_s and call.seconds > 0.7 * call.wall_s, call


@pytest.mark.skipif(memory_unsupported_reason() is not None, reason=str(memory_unsupported_reason()))
@pytest.mark.parametrize("hold_s", [0.3, 0.0], ids=["held", "brief"])
def test_memory_meter_sees_a_known_peak(hold_s):
    """64 MB held for a while: both figures see it. Freed at once: the OS high-water mark still does."""
    with Client("staff.bad.noisy", fork=False) as client:
        client.train(CORPUS, 257, [EOT], ballast_mb=64, hold_s=hold_s)
        call = client.last
    seen = call.describe_memory()
    assert call.peak_os is not None and 62e6 <= call.peak_os < 100e6, seen  # page rounding: a little under 64
    assert 62e6 <= call.peak_bytes < 100e6, seen
    if hold_s:
        assert 62e6 <= call.peak_sampled < 100e6, seen


def test_workers_are_stopped_when_closed():
    client = Client("reference")
    zygote, child = client.start().pid, client.endpoint().pid
    client.close()
    time.sleep(0.1)
    alive = [p for p in (zygote, child) if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive


def test_an_outside_project_resolves_its_own_modules_in_the_worker(tmp_path):
    """An outside project whose module names differ from the kit's stubs loads in the worker exactly as named."""
    project = tmp_path / "theirs"
    (project / "cs336_basics").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'theirs'\n")
    (project / "cs336_basics" / "__init__.py").write_text("")
    (project / "cs336_basics" / "impl.py").write_text("from staff.reference.adapters import *  # noqa\n")
    (project / "tests" / "adapters.py").write_text("from cs336_basics.impl import run_train_bpe, get_tokenizer\n")
    with Client(str(project / "tests" / "adapters.py")) as client:
        vocab, merges = client.train(CORPUS, 300, [EOT])
    assert len(vocab) == 300
