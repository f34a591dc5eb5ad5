"""The limit tests are armed: each known-bad implementation fails its limit, the reference passes them all.

The bad variants live in staff/bad/ (`--impl staff.bad.NAME`); `uv run python -m staff.stability` repeats the
graded limit tests many times, under load, to show the outcomes never flip.
"""

from __future__ import annotations

import json

import pytest

from staff.bad import LIMIT_TESTS
from staff.tests.runpytest import run_suite

pytest_plugins = ["pytester"]

# --- the graded limit tests, run in a child pytest -----------------------------------------------------------------


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("variant", LIMIT_TESTS)
def test_bad_variant_fails_its_limit(tmp_path, variant):
    test, words, _bug = LIMIT_TESTS[variant]
    proc, outcomes = run_suite(tmp_path, "tests/test_limits.py", "--impl", variant, "-k", test)
    [outcome] = [o for o in outcomes if o.test.endswith(test)] or [None]
    assert outcome is not None, proc.stdout[-3000:]
    assert outcome.status == "failed", f"{variant} was not caught by {test}: {outcome.status}"
    missing = [w for w in words if w not in outcome.message]
    assert not missing, f"{test}'s message lacks {missing}:\n{outcome.message[:3000]}"


@pytest.mark.slow
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


def test_a_bad_limit_scale_is_a_usage_error(pytester):
    pytester.makepyfile("def test_x(): pass\n")
    result = pytester.runpytest_inprocess("-p", "bpe_harness.plugin.hooks", "--limit-scale", "fast", "--co")
    assert result.ret == 4 and "--limit-scale must be a number" in result.stderr.str(), result.stderr.str()


@pytest.mark.slow
def test_limits_show_measured_vs_allowed_in_the_summary(tmp_path):
    """Pass or fail, each limit test's figure and its limit are in the terminal summary."""
    proc, _ = run_suite(tmp_path, "tests/test_limits.py", "--impl", "staff.bad.naive_encoder", "-k", "speed")
    summary = proc.stdout[proc.stdout.index("limits: measured vs allowed") :]
    assert "training on 257 KB of text generated" in summary and "% of the limit)" in summary, summary
    encode_line = next(line for line in summary.splitlines() if line.startswith("encode() of 97 KB"))
    assert "allowed" in encode_line and ("x over" in encode_line or "too slow" in encode_line), summary


# --- answers prepared ahead gain nothing ----------------------------------------------------------------

# variant -> (the limit tests it passed before issue 24 and must fail now, words of each failure); its honest twin
# (the reference for the trainer, staff.bad.naive_encoder for the encoder) is tested above
AHEAD = {
    "staff.bad.baked_trainer": (
        ("test_training_speed", "test_training_in_bounded_memory"),
        ["generated for this run", "not this corpus's"],
    ),
    "staff.bad.seed_in_name_encoder": (("test_encoding_speed",), ["calibration", "allowed"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", AHEAD)
def test_answers_prepared_ahead_gain_nothing(tmp_path, variant):
    """The baked trainer returns the merges of the old inputs (the shuffled fixture, the seed-21 corpus); the encoder
    precomputes the encoding-speed text from a seed it reads in a fresh file's name (the training-speed test runs
    first in the same session, as in a real run). Both scored every point of those tests before the inputs were drawn
    from the run's secret (measured on b4bf298: 2/2 and 1/1 tests passed); now each fails."""
    tests, words = AHEAD[variant]
    selected = " or ".join((*tests, "test_training_speed"))
    proc, outcomes = run_suite(tmp_path, "tests/test_limits.py", "--impl", variant, "-k", selected)
    for test in tests:
        [outcome] = [o for o in outcomes if o.test.endswith(test)] or [None]
        assert outcome is not None, proc.stdout[-3000:]
        assert outcome.status == "failed", f"{variant} passed {test} with an answer prepared ahead"
        missing = [w for w in words if w not in outcome.message]
        assert not missing, f"{test}'s message lacks {missing}:\n{outcome.message[:3000]}"
