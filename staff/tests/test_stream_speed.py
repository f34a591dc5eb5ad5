"""The streaming-memory test with a merge-loop encoder (correct ids, ~9 x calibration per 97 KB): it stops within
seconds and names encoding speed, instead of running minutes and then blaming memory."""

from __future__ import annotations

import time

import pytest

from staff.tests.runpytest import run_suite


@pytest.mark.slow
def test_a_far_too_slow_encoder_is_named_quickly_in_the_streaming_test(tmp_path):
    start = time.monotonic()
    proc, outcomes = run_suite(tmp_path, "tests/test_limits.py", "--impl", "staff.bad.naive_encoder", "-k", "streams")
    took = time.monotonic() - start
    [outcome] = outcomes
    assert outcome.status == "failed", proc.stdout[-3000:]
    for words in (
        "Memory not measured",
        "encoder is too slow",
        "test_encoding_speed",
        "every merge for every pre-token",
    ):
        assert words in outcome.message, outcome.message
    assert "never join the chunks" not in outcome.message, "the memory hint would blame the wrong thing"
    assert took < 60, f"took {took:.0f} s"
    assert "<-- encoder speed" in proc.stdout


@pytest.mark.slow
def test_the_reference_is_not_held_up_by_the_speed_check(tmp_path):
    proc, outcomes = run_suite(tmp_path, "tests/test_limits.py", "--impl", "reference", "-k", "streams")
    assert [o.status for o in outcomes] == ["passed"], proc.stdout[-3000:]
