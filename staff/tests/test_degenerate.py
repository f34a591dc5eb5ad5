"""No points without correct output: each degenerate implementation (staff/degenerate) scores exactly what the
catalog says on the graded suite, public and hidden (0 for those that do no work)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from staff.degenerate import CATALOG, by_name
from staff.degenerate.run import grade
from staff.tests.runpytest import run_suite


def test_catalog_covers_the_cheap_answers():
    names = {d.name for d in CATALOG}
    assert {"empty", "equal_to_anything", "identity", "constant", "bytes_only"} <= names
    assert all(d.public == 0 and d.hidden == 0 for d in CATALOG if d.name in ("empty", "equal_to_anything", "identity"))


@pytest.mark.slow
@pytest.mark.own_step("python -m staff.degenerate")
def test_every_degenerate_implementation_scores_what_the_catalog_says():
    with ThreadPoolExecutor(2) as pool:
        graded = list(pool.map(lambda d: (d, grade(d)), CATALOG))
    wrong = [f"{d.name}: {'; '.join(s.unexpected(d))}\n{s.output[-1500:]}" for d, s in graded if s.unexpected(d)]
    assert not wrong, "\n".join(wrong)
    for d, s in graded:  # the hidden tests ran too, and counted
        assert s.totals.get("staff/hidden", 0) > 0 and s.totals.get("tests", 0) > 0, (d.name, s.totals)


@pytest.mark.slow
def test_a_stream_as_wrong_as_its_encode_says_so(tmp_path):
    """encode_iterable is compared with the true ids; when it equals the implementation's own (wrong) encode, the
    message points at encode."""
    proc, outcomes = run_suite(
        tmp_path,
        "tests/test_encode_iterable.py",
        "--impl",
        by_name("bytes_only").module,
        "-k",
        "test_file_handle and documents",
    )
    [outcome] = outcomes
    assert outcome.status == "failed", proc.stdout[-2000:]
    assert "token ids differ at position" in outcome.message
    assert "Your encode() of the joined text gives these same wrong ids" in outcome.message, outcome.message
