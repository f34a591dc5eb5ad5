"""A call stopped for time shows where the worker's Python was: the implementation's frames, most recent first, and
none of the harness's (worker/where_stopped.py). Cost: about 3 s."""

from __future__ import annotations

import pytest

from bpe_harness.client import Client, WorkerTimeout
from bpe_harness.rules import EOT
from bpe_harness.worker import where_stopped
from staff.tests.test_busy_machine import CORPUS

LOOPING = """
import sys


def _merge_step(counts):
    while True:
        counts["x"] = counts.get("x", 0) + 1


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    print("starting to merge", file=sys.stderr, flush=True)
    _merge_step({})


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    raise NotImplementedError
"""


def test_a_stopped_call_shows_the_students_frames_first(tmp_path):
    path = tmp_path / "looping.py"
    path.write_text(LOOPING)
    with Client(str(path)) as impl, pytest.raises(WorkerTimeout) as stopped:
        impl.train(CORPUS, 300, [EOT], timeout=1.0)
    message = str(stopped.value)
    assert "Where your code was when it was stopped (most recent call first):" in message, message
    frames = stopped.value.where.splitlines()[1:]
    assert frames[0].endswith("in _merge_step") and frames[1].endswith("in run_train_bpe"), frames
    assert all(str(path) in f for f in frames), "only the implementation's frames, none of the harness's"
    assert "starting to merge" in message, "the worker's own stderr is still shown"
    assert "most recent call first):\n  File" not in message, "the raw dump is not repeated in the stderr tail"


def test_describe_picks_the_thread_running_the_call():
    dump = (
        "Thread 0x00007f01 (most recent call first):\n"
        '  File "/usr/lib/python3.11/threading.py", line 320 in wait\n\n'
        "Current thread 0x00007f02 (most recent call first):\n"
        '  File "/sub/cs336_basics/train.py", line 7 in merge\n'
        f'  File "{where_stopped.HARNESS}/worker/server.py", line 160 in measured\n'
    )
    assert where_stopped.describe(dump).splitlines()[1:] == ["  /sub/cs336_basics/train.py, line 7, in merge"]
    assert where_stopped.describe("") == ""
