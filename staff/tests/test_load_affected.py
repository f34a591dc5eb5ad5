"""Grades that do not depend on load: a verdict a busy machine may have decided (a call that timed out, or was charged
its wall time, while no CPU was idle) is marked load-affected in the verdict and in results.json, the grader runs
that test again alone, and the batch grades such a submission again with no other judge running ("regraded: load").

Cost: about 1 s for the unit tests, 40 s for the two graded ones (hogs on every core, limits scaled down).
"""

from __future__ import annotations

import threading
import time

import pytest

from bpe_harness.client import Client, WorkerTimeout, busy_machine
from bpe_harness.judge.grade import grade
from bpe_harness.judge.results import LOAD_AFFECTED_NOTE
from staff.grading import batch as batch_module
from staff.grading import load
from staff.grading.staff_judge import reference_submission, staff_options
from staff.tests.test_busy_machine import CORPUS, FIXED_WORK, WORK, busy  # noqa: F401 - busy is a fixture

TRAIN_TEST = "tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte"
LOOPING = """
def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    while True:
        pass


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    raise NotImplementedError
"""
STUB = LOOPING.replace("    while True:\n        pass\n", "    raise NotImplementedError\n")
FAST = {"CS336_LIMIT_SCALE": "0.2"}  # a looping call is stopped in seconds; importing four lines still fits


def _submission(into, adapters: str):
    (into / "cs336_basics").mkdir(parents=True)
    (into / "cs336_basics" / "__init__.py").write_text("")
    (into / "tests").mkdir()
    (into / "tests" / "adapters.py").write_text(adapters)
    return into


@pytest.mark.slow
def test_a_timeout_on_a_busy_machine_is_noted(tmp_path, busy):  # noqa: F811 - the fixture
    path = tmp_path / "fixed_work.py"
    path.write_text(FIXED_WORK)
    busy_machine.take_load_notes()
    with Client(str(path)) as impl, pytest.raises(WorkerTimeout):
        impl.train(CORPUS, 300, ["<|endoftext|>"], timeout=WORK / 10)
    notes = busy_machine.take_load_notes()
    assert notes and "did not finish" in notes[0], notes


@pytest.mark.slow
def test_a_timeout_on_an_idle_machine_is_not_noted(monkeypatch):
    """The twin: the same kind of stop while the machine had CPU to give is the code's own verdict."""
    clock = time.monotonic
    monkeypatch.setattr(busy_machine, "machine_idle_seconds", lambda: 4 * clock())  # every core idle, always
    busy_machine.take_load_notes()
    with Client("staff.bad.sleeping_trainer") as impl, pytest.raises(WorkerTimeout):
        impl.train(CORPUS, 300, ["<|endoftext|>"], timeout=0.5)
    assert busy_machine.take_load_notes() == []


@pytest.mark.slow
def test_a_busy_timeout_is_marked_and_graded_again_alone(tmp_path, busy):  # noqa: F811 - the fixture
    """Under two hogs per core, an endless loop's timeout is load-affected: marked in the test and at the top of
    results.json, and graded again (still busy here, so still marked, and said to be so)."""
    submission = _submission(tmp_path / "looping", LOOPING)
    options = staff_options(tests=[TRAIN_TEST], hidden=False)
    options.env.update(FAST)
    results, code = grade(submission, tmp_path / "results.json", options)
    (test,) = results["tests"]
    assert code == 0 and test["score"] == 0, test["output"][:2000]
    assert test["load_affected"] and test["retried_for_load"], test["output"][:2000]
    assert results["extra_data"]["load_affected"] is True
    assert test["output"].startswith(LOAD_AFFECTED_NOTE) and "also when graded again alone" in test["output"]
    assert load.load_affected(results)


@pytest.mark.slow
def test_a_wrong_answer_under_load_is_not_load_affected(tmp_path, busy):  # noqa: F811 - the fixture
    """The twin: a failure that is not a timeout or a wall-time charge is the code's, however busy the machine."""
    submission = _submission(tmp_path / "stub", STUB)
    options = staff_options(tests=[TRAIN_TEST], hidden=False)
    options.env.update(FAST)
    results, code = grade(submission, tmp_path / "results.json", options)
    (test,) = results["tests"]
    assert code == 0 and test["score"] == 0 and "NotImplementedError" in test["output"], test["output"][:2000]
    assert not test["load_affected"] and not test["retried_for_load"]
    assert not load.load_affected(results)


@pytest.mark.slow
def test_the_batch_regrades_a_load_affected_submission_alone(tmp_path, monkeypatch):
    """A stand-in grade (no judge): bob's first results are load-affected; the batch grades him again while no other
    judge runs, and his row says so. alice is graded once."""
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol"):
        reference_submission(subs / name)
        (subs / name / "who.txt").write_text(name)  # the batch grades a private copy: its folder is not named so
    running, most_beside_bob, calls = [0], [], []
    lock = threading.Lock()

    def fake_grade(sub, out, options):
        name = (sub / "who.txt").read_text()
        with lock:
            running[0] += 1
            calls.append(name)
            again = calls.count(name) > 1
        time.sleep(0.2)
        with lock:
            if name == "bob" and again:
                most_beside_bob.append(running[0] - 1)
            running[0] -= 1
        affected = name == "bob" and not again
        test = {"name": "t", "score": 0.0 if affected else 1.0, "max_score": 1.0, "status": "passed", "output": ""}
        test.update(load_affected=affected, reason="")
        extra = {"max_score": 1.0, "kit_version": "k", "python": "3", "load_affected": affected}
        return {"score": test["score"], "execution_time": 0.2, "tests": [test], "extra_data": extra, "output": ""}, 0

    monkeypatch.setattr(batch_module, "grade", fake_grade)
    assert batch_module.batch(subs, tmp_path / "out", 2, staff_options(tests=["t"], seed=1)) == 0
    rows = {r["submission"]: r for r in _rows(tmp_path / "out")}
    assert rows["bob"]["how"] == load.REGRADED and float(rows["bob"]["score"]) == 1.0
    assert rows["alice"]["how"] != load.REGRADED and calls.count("alice") == 1
    assert most_beside_bob == [0], f"bob's regrade ran beside {most_beside_bob} other judge(s)"


def _rows(out):
    import csv

    return list(csv.DictReader((out / "gradebook.csv").open(encoding="utf-8")))


CLASS_TESTS = [
    "tests/test_train_bpe.py::test_training_matches_reference[multilingual]",
    "tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte",
]
NAIVE_ADAPTERS = """from pathlib import Path

from cs336_basics.adapters import get_tokenizer  # noqa: F401
from cs336_basics.naive import naive_merges


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    specials = list(dict.fromkeys(special_tokens))
    text = Path(input_path).read_bytes().decode("utf-8")
    merges = naive_merges(text, vocab_size - 256 - len(specials), specials)
    vocab = {i: s.encode("utf-8") for i, s in enumerate(specials)}
    vocab.update({len(specials) + b: bytes([b]) for b in range(256)})
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return vocab, merges
"""


def naive_submission(into):
    """The lecture's naive trainer (staff/bad/naive_trainer.py) as a student would hand it in: correct, slow."""
    from bpe_harness.settings import ROOT

    reference_submission(into)
    naive = (ROOT / "staff" / "naive.py").read_text().replace("from staff.reference.", "from cs336_basics.")
    (into / "cs336_basics" / "naive.py").write_text(naive)
    (into / "tests" / "adapters.py").write_text(NAIVE_ADAPTERS)
    return into


@pytest.mark.slow
def test_the_same_class_grades_the_same_quiet_and_under_load(tmp_path, request):
    """A class (the reference, a correct naive trainer) graded on a quiet machine and again with two CPU hogs per
    core: each row scores the same, or it says it was graded again alone because load may have decided it."""
    subs = tmp_path / "subs"
    reference_submission(subs / "alice")
    naive_submission(subs / "bob")
    options = staff_options(tests=CLASS_TESTS, hidden=False)
    assert batch_module.batch(subs, tmp_path / "quiet", 2, options) == 0
    request.getfixturevalue("busy")  # hogs from here to the end of the test
    assert batch_module.batch(subs, tmp_path / "busy", 2, options) == 0
    quiet = {r["submission"]: r for r in _rows(tmp_path / "quiet")}
    busy_rows = {r["submission"]: r for r in _rows(tmp_path / "busy")}
    assert float(quiet["alice"]["score"]) == float(quiet["alice"]["max_score"]) > 0
    for name, row in busy_rows.items():
        assert row["score"] == quiet[name]["score"] or row["how"] == load.REGRADED, (name, row, quiet[name])
