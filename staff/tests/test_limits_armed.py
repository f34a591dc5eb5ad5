"""The limit tests are armed: each known-bad implementation fails its limit, the reference passes them all, and the
worker machinery behind them survives hangs, crashes and noisy output while measuring what it claims to.

The bad variants live in staff/bad/ (`--impl staff.bad.NAME`); `uv run python -m staff.stability` repeats the
graded limit tests many times, under load, to show the outcomes never flip.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from runpytest import ROOT, run_suite

from bpe_harness.impl import Implementation, load_adapters
from bpe_harness.snapshots import TrainingSnapshot
from bpe_harness.worker import WorkerCrashed, WorkerTimeout, memory_unsupported_reason

CORPUS = ROOT / "tests" / "fixtures" / "corpora" / "tinystories_sample.txt"
EOT = "<|endoftext|>"

# variant -> (the limit test it must fail, words its failure message must contain)
BAD = {
    "staff.bad.naive_trainer": ("test_training_speed", ["recounting all pairs", "calibration", "allowed"]),
    "staff.bad.naive_encoder": ("test_encoding_speed", ["every merge for every pre-token", "calibration", "allowed"]),
    "staff.bad.joining_iterable": ("test_encode_iterable_streams_in_bounded_memory", ["never join", "budget"]),
    "staff.bad.hoarding_trainer": ("test_training_in_bounded_memory", ["list of every occurrence", "budget"]),
}


def _isolated(value: str, fresh: bool = False):
    impl = Implementation(*load_adapters(value), value)
    return impl, impl.isolated(fresh=fresh)


# --- the graded limit tests, run in a child pytest -----------------------------------------------------------------


def test_reference_passes_every_limit_with_room_to_spare(tmp_path, monkeypatch):
    """All pass, and not narrowly: the reference stays under a quarter of each time limit and 3/4 of each budget."""
    log = tmp_path / "limits.jsonl"
    monkeypatch.setenv("CS336_LIMITS_LOG", str(log))
    proc, outcomes = run_suite(tmp_path, "tests/test_limits.py", "--impl", "reference")
    assert len(outcomes) == 4, proc.stdout[-3000:]
    failed = [f"{o.test}: {o.status}\n{o.message[:1500]}" for o in outcomes if o.status != "passed"]
    assert not failed, "\n".join(failed)
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    tight = [r for r in records if r["kind"] == "speed" and r["seconds"] > r["allowed"] / 4]
    tight += [r for r in records if r["kind"] == "memory" and r["peak"] > 0.75 * r["budget"]]
    assert not tight, f"the reference is close to a limit: {tight}"


@pytest.mark.parametrize("variant", BAD)
def test_bad_variant_fails_its_limit(tmp_path, variant):
    test, words = BAD[variant]
    proc, outcomes = run_suite(tmp_path, "tests/test_limits.py", "--impl", variant, "-k", test)
    [outcome] = [o for o in outcomes if o.test.endswith(test)] or [None]
    assert outcome is not None, proc.stdout[-3000:]
    assert outcome.status == "failed", f"{variant} was not caught by {test}: {outcome.status}"
    missing = [w for w in words if w not in outcome.message]
    assert not missing, f"{test}'s message lacks {missing}:\n{outcome.message[:3000]}"


@pytest.mark.parametrize("how", ["option", "env"])
def test_limit_scale_relaxes_the_time_limits(tmp_path, monkeypatch, how):
    """With limits x 40, even the naive encoder (~9 calibrations against a limit of 3) passes."""
    args = ["tests/test_limits.py", "--impl", "staff.bad.naive_encoder", "-k", "encoding_speed"]
    if how == "option":
        args += ["--limit-scale", "40"]
    else:
        monkeypatch.setenv("CS336_LIMIT_SCALE", "40")
    proc, outcomes = run_suite(tmp_path, *args)
    assert [o.status for o in outcomes] == ["passed"], proc.stdout[-3000:]


def test_a_bad_limit_scale_is_a_usage_error(tmp_path):
    proc, _ = run_suite(tmp_path, "tests/test_limits.py", "--limit-scale", "fast", "--co")
    assert proc.returncode == 4 and "--limit-scale must be a number" in proc.stderr, proc.stderr


# --- the worker: hangs, crashes, prints, measurements --------------------------------------------------------------


def test_a_hung_call_times_out_and_the_worker_is_replaced():
    impl, worker = _isolated("staff.bad.hanging_trainer")
    try:
        first = worker.worker().proc.pid
        started = time.monotonic()
        with pytest.raises(WorkerTimeout, match=r"run_train_bpe\(\) did not finish within 1.0 s"):
            worker.train(CORPUS, 300, [EOT], timeout=1.0)
        assert time.monotonic() - started < 10
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
        assert worker.ping().value == "pong" and worker.worker().proc.pid != first
    finally:
        impl.close_workers()


def test_a_stream_that_stops_yielding_is_stopped_early():
    impl, worker = _isolated("staff.bad.hanging_stream")
    try:
        snap = TrainingSnapshot.parse((ROOT / "tests" / "snapshots" / "tinystories_sample.json").read_text("utf-8"))
        tok = worker.tokenizer(snap.vocab_by_convention(), snap.merges, [EOT])
        started = time.monotonic()
        with pytest.raises(WorkerTimeout, match=r"made no progress for 1.5 s \(after 0 ids"):
            tok.encode_iterable_file(CORPUS, timeout=60, stall=1.5)
        assert time.monotonic() - started < 10
    finally:
        impl.close_workers()


def test_a_crash_names_the_exit_code_and_shows_stderr():
    impl, worker = _isolated("staff.bad.crashing_trainer")
    try:
        with pytest.raises(WorkerCrashed) as caught:
            worker.train(CORPUS, 300, [EOT], timeout=30)
        message = str(caught.value)
        assert "exited with code 7" in message, message
        assert "about to exit" in message and "last words on stderr" in message, message
        assert worker.ping().value == "pong"
    finally:
        impl.close_workers()


def test_a_killed_worker_names_the_signal():
    impl, worker = _isolated("staff.bad.hanging_trainer")
    try:
        pid = worker.worker().proc.pid
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
        with pytest.raises(WorkerCrashed, match="killed by signal SIGKILL"):
            worker.train(CORPUS, 300, [EOT], timeout=30)
    finally:
        impl.close_workers()


def test_prints_do_not_corrupt_the_channel():
    impl, worker = _isolated("staff.bad.noisy")
    reference_impl, reference = _isolated("reference")
    try:
        vocab, merges = worker.train(CORPUS, 300, [EOT]).value
        text = CORPUS.read_text(encoding="utf-8")[:5000]
        noisy = worker.tokenizer(vocab, merges, [EOT]).encode(text).value
        assert noisy == reference.tokenizer(vocab, merges, [EOT]).encode(text).value
    finally:
        impl.close_workers()
        reference_impl.close_workers()


def test_a_stub_not_implemented_error_comes_back_as_itself():
    impl, worker = _isolated("student")
    try:
        with pytest.raises(NotImplementedError, match=r"^write train_bpe\(\) in cs336_basics/") as caught:
            worker.train(CORPUS, 300, [EOT])
        assert "cs336_basics/train_bpe.py" in str(caught.value.__cause__)  # the worker's traceback, chained
    finally:
        impl.close_workers()


@pytest.mark.skipif(memory_unsupported_reason() is not None, reason=str(memory_unsupported_reason()))
@pytest.mark.parametrize("hold_s", [0.3, 0.0], ids=["held", "brief"])
def test_memory_meter_sees_a_known_peak(hold_s):
    """64 MB held for a while: both figures see it. Freed at once: the OS high-water mark still does."""
    impl, worker = _isolated("staff.bad.noisy", fresh=True)
    try:
        call = worker.train(CORPUS, 257, [EOT], ballast_mb=64, hold_s=hold_s)
        seen = call.describe_memory()
        assert call.peak_os is not None and 62e6 <= call.peak_os < 100e6, seen  # page rounding: a little under 64
        assert 62e6 <= call.peak_bytes < 100e6, seen
        if hold_s:
            assert 62e6 <= call.peak_sampled < 100e6, seen
    finally:
        impl.close_workers()


def test_workers_are_stopped_when_closed():
    impl, worker = _isolated("reference")
    pids = [worker.worker().proc.pid, impl.isolated(fresh=True).worker().proc.pid]
    impl.close_workers()
    time.sleep(0.1)
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive


def test_no_pickle_in_the_harness():
    """Nothing the implementation produces may be unpickled in the test process: the harness never imports it."""
    banned = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "multiprocessing"}
    for path in sorted((ROOT / "bpe_harness").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            used = {n.split(".")[0] for n in names} & banned
            assert not used, f"{Path(path).name} imports {used}"
