"""Correct code on a busy machine is not turned into a timeout: a call's limit counts CPU time while the machine has
no idle CPU (up to busy_machine.WALL_STOP x in wall time), and a timeout under load says the machine was busy.
A call that only waits on an idle machine still stops at its limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bpe_harness.client import Client, WorkerTimeout, busy_machine
from bpe_harness.rules import EOT

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "corpora" / "documents.txt"


WORK = 0.5  # CPU seconds the fixed-work trainer needs, however busy the machine
FIXED_WORK = f"""
import time

def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    end = time.process_time() + {WORK}
    while time.process_time() < end:
        pass
    return {{i: bytes([i]) for i in range(256)}}, []

def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    raise NotImplementedError
"""


@pytest.fixture
def busy():
    """Two CPU-bound processes per core: a call gets at most 2/5 of a core (less if the machine is busier still)."""
    # each in a session of its own: with the kernel's autogroup scheduling, CPU is shared between sessions first, and
    # hogs sharing one session would together get no more than the worker's own
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(2 * (os.cpu_count() or 2))
    ]
    time.sleep(0.5)
    yield
    for hog in hogs:
        hog.kill()
        hog.wait()


@pytest.fixture
def fixed_work(tmp_path) -> str:
    path = tmp_path / "fixed_work.py"
    path.write_text(FIXED_WORK)
    return str(path)


def _train(impl, timeout):
    impl.train(CORPUS, 300, [EOT], timeout=timeout)
    return impl.last


def test_correct_code_on_a_busy_machine_finishes(fixed_work, busy):
    """0.5 s of CPU with a 1 s limit: at 2/5 of a core it needs 1.25 s, within the grace (up to 3 s)."""
    with Client(fixed_work) as impl:
        call = _train(impl, 2 * WORK)
    assert call.wall_s > 2 * WORK, f"the machine was not busy enough to show anything ({call.wall_s:.2f} s)"


def test_the_grace_is_what_lets_it_finish(fixed_work, busy, monkeypatch):
    """The control: without the grace (wall stop = the limit), the same call under the same load times out."""
    monkeypatch.setattr(busy_machine, "WALL_STOP", 1.0)
    with Client(fixed_work) as impl, pytest.raises(WorkerTimeout) as stopped:
        _train(impl, 2 * WORK)
    assert "busy" not in str(stopped.value)


def test_a_timeout_under_load_says_the_machine_was_busy(fixed_work, busy):
    with Client(fixed_work) as impl, pytest.raises(WorkerTimeout) as stopped:
        _train(impl, WORK / 10)
    assert "The machine was busy during this call" in str(stopped.value), str(stopped.value)


def test_a_waiting_call_on_a_busy_machine_still_stops():
    """A sleeping call gets the grace only while the machine is busy, never beyond WALL_STOP x its limit."""
    with Client("staff.bad.sleeping_trainer") as impl:
        start = time.monotonic()
        with pytest.raises(WorkerTimeout):
            impl.train(CORPUS, 300, [EOT], timeout=1.0)
        waited = time.monotonic() - start
    assert waited < busy_machine.WALL_STOP * 1.0 + 2, f"a sleeping call was given {waited:.1f} s for a 1 s limit"


@pytest.mark.parametrize(
    ("idle_per_second", "cpu_per_second", "at", "grace"),
    [
        (1.0, 0.0, 1.0, False),  # waiting (sleep, deadlock) while the machine has CPU to give: stopped at the limit
        (0.0, 0.5, 1.0, True),  # half a core on a busy machine: the missing CPU as extra time
        (0.0, 0.0, 1.0, True),  # no CPU at all, machine saturated: it may still be given the chance
        (0.0, 0.5, busy_machine.WALL_STOP, False),  # the wall stop holds however busy the machine
        (0.0, 2.0, 1.0, True),  # a pool on every core: its share shrank too
        (0.2, 0.5, 1.0, True),  # a fifth of a core idle on average: still busy
        (0.5, 0.5, 1.0, False),  # half a core idle: the machine had CPU to give
    ],
)
def test_the_grace_rule(monkeypatch, idle_per_second, cpu_per_second, at, grace):
    clock = {"t": 0.0}
    monkeypatch.setattr(busy_machine, "machine_idle_seconds", lambda: idle_per_second * clock["t"])
    watch = busy_machine.LoadWatch.start(1.0, lambda: cpu_per_second * clock["t"], 0.0)
    clock["t"] = at
    assert (watch.grace(at) > 0) == grace
    assert ("The machine was busy" in watch.describe(at)) == grace


def test_speed_limits_give_no_grace(fixed_work, busy):
    """SpeedLimit.run turns the grace off (Client.busy_grace): a speed verdict is the call's charge, and a cheat whose
    helpers' CPU the kernel hides makes the machine look busy too. The same call as above then times out."""
    with Client(fixed_work) as impl, pytest.raises(WorkerTimeout):
        impl.busy_grace = False
        _train(impl, 2 * WORK)
