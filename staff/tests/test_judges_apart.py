"""No judge reads what is not its own: not another judge's staged submission, not the hidden seed.

Both are judge-level: real gradings, side by side where the attack needs a neighbour.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bpe_harness.judge.grade import GradeOptions, grade
from bpe_harness.sandbox import judges_base
from staff.grading.staff_judge import staff_options
from staff.hostile.cases import by_name, materialize, tier_key

ONE_TEST = ["tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte"]

ENV_DUMP = """
import glob, os
def _everything():
    seen = dict(os.environ)
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            seen[path] = open(path, "rb").read().decode("latin-1")
        except OSError:
            pass
    return repr(seen)

def run_train_bpe(*args, **kwargs):
    raise RuntimeError(_everything())

def get_tokenizer(*args, **kwargs):
    raise RuntimeError(_everything())
"""


@pytest.mark.slow
def test_a_submission_cannot_read_the_judge_beside_it(tmp_path):
    """Batch grading, two at a time: a submission with no code of its own looks for the other judge's staged kit
    (and is even told its path, as if it had guessed it), to run the other student's code as its own. It can read
    none of it: 0 points (before, it scored full marks), while the neighbour gets its own full marks."""
    spy = materialize(_spy_case(), tmp_path / "spy")
    neighbour = materialize(by_name("grandchild"), tmp_path / "neighbour")  # the reference, plus a stray process
    target = Path("/tmp/cs336-spy-target")
    before = set(judges_base().iterdir())

    def one(sub: Path, tests: list[str], keyword: str | None = None):
        return grade(sub, tmp_path / f"{sub.name}.json", GradeOptions(tests=tests, keyword=keyword))[0]

    with ThreadPoolExecutor(2) as pool:
        theirs = pool.submit(one, neighbour, ["tests"], "not limits")  # long enough to be found
        kit = _staged_kit(before)
        target.write_text(str(kit))
        target.chmod(0o644)
        try:
            spied = pool.submit(one, spy, ONE_TEST).result()
        finally:
            target.unlink()
        graded = theirs.result()
    assert graded["score"] == graded["extra_data"]["max_score"] > 0, graded["tests"][0]["output"][:500]
    output = spied["tests"][0]["output"]
    if (
        tier_key() == "user"
    ):  # same user, no namespaces: not a boundary (staff/README.md's tier table); only grading held
        assert "tried" in output or spied["score"] > 0, output[:1000]
    elif tier_key().endswith("+view"):  # an allowlisted view: neither the other judge nor the hint is there at all
        assert spied["score"] == 0, output[:1000]
        assert re.search(r"tried \d+ other judge folder\(s\), could read none", output), output[:1000]
    else:
        assert spied["score"] == 0, output[:1000]
        assert re.search(r"tried [1-9]\d* other judge folder\(s\), could read none", output), output[:1000]
        assert str(kit) in output, output[:1000]


def _staged_kit(before: set[Path], wait: float = 20.0) -> Path:
    """The neighbour's staged kit, once it is there."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for judge in set(judges_base().iterdir()) - before:
            if (judge / "kit" / "cs336_basics" / "train.py").exists():
                return judge / "kit"
        time.sleep(0.05)
    raise AssertionError("the neighbour's judge never staged its kit")


def _spy_case():
    from staff.hostile.cases import Case

    return Case("reads_other_judge", 0, "")


@pytest.mark.slow
def test_the_hidden_seed_never_reaches_the_submission(tmp_path):
    """A submission that prints its whole environment and every /proc environ it can read into the test output:
    the hidden seed appears nowhere in results.json (students see that file on Gradescope)."""
    seed = 3141592653
    sub = tmp_path / "dump"
    (sub / "tests").mkdir(parents=True)
    (sub / "tests" / "adapters.py").write_text(ENV_DUMP, encoding="utf-8")
    results, _ = grade(sub, tmp_path / "results.json", staff_options(tests=ONE_TEST, seed=seed))
    text = (tmp_path / "results.json").read_text(encoding="utf-8")
    assert "RuntimeError" in text, text[:2000]  # the dump did run and was reported
    assert str(seed) not in text and "CS336_HIDDEN_SEED" not in text, "the hidden seed reached the submission"
    assert json.loads(text)["score"] == 0
