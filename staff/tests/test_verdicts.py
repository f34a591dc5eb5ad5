"""staff/verdicts.py: compare finds every changed verdict and score, and a reason's category keeps only what is
stable (no grading here: milliseconds)."""

from __future__ import annotations

import json

from staff.verdicts import category, compare, verdict


def _snapshot(path, tests, score=3.0):
    entry = {"score": score, "max_score": 4.0, "exit": 0, "tests": tests}
    path.write_text(json.dumps({"meta": {"seed": 1, "tier": "full"}, "implementations": {"mutant/x": entry}}))
    return path


def test_identical_snapshots_compare_clean(tmp_path, capsys):
    tests = {"tests/a.py::t": "passed", "tests/b.py::t": "failed: AssertionError"}
    assert compare(_snapshot(tmp_path / "a.json", tests), _snapshot(tmp_path / "b.json", dict(tests))) == 0
    assert "0 differences" in capsys.readouterr().out


def test_a_changed_verdict_score_or_missing_test_is_reported(tmp_path, capsys):
    before = _snapshot(tmp_path / "a.json", {"tests/a.py::t": "passed", "tests/b.py::t": "failed: AssertionError"})
    after = _snapshot(tmp_path / "b.json", {"tests/a.py::t": "failed: time limit"}, score=2.0)
    assert compare(before, after) == 1
    out = capsys.readouterr().out
    assert "mutant/x: tests/a.py::t: passed -> failed: time limit" in out
    assert "mutant/x: tests/b.py::t: failed: AssertionError -> (absent)" in out
    assert "mutant/x: score 3.0 -> 2.0" in out


def test_category_keeps_the_exception_or_kind_not_the_numbers():
    assert category("AssertionError: vocab differs at id 301") == "AssertionError"
    assert category("bpe_harness.client.remote.WorkerTimeout: stopped after 12.3 s") == "WorkerTimeout"
    assert category("training took 4.2 x the limit (0.8 s allowed)") == "time limit"
    assert category("the worker was killed by SIGSEGV") == "signal"
    assert verdict("passed", "") == "passed"
    assert verdict("skipped", "no ranks in /tmp/x") == "skipped"


def test_an_incomplete_snapshot_is_compared_on_what_both_graded(tmp_path, capsys):
    before = _snapshot(tmp_path / "a.json", {"tests/a.py::t": "passed"})
    data = json.loads(before.read_text())
    data["implementations"]["reference"] = data["implementations"]["mutant/x"]
    before.write_text(json.dumps(data))
    after = _snapshot(tmp_path / "b.json", {"tests/a.py::t": "passed"})
    assert compare(before, after) == 1  # both say complete: the missing reference is a difference
    data = json.loads(after.read_text())
    data["meta"]["complete"] = False
    after.write_text(json.dumps(data))
    assert compare(before, after) == 0
    assert "only the 1 implementations graded in both" in capsys.readouterr().out
