"""The staff's judge: the one students run (bpe_harness.judge.grade) with the hidden tests added on top, so the two can
never drift apart; and the reference as a student-shaped submission, which must score full marks.

Hidden tests (staff/hidden) are differential tests against the reference on corpora drawn from a secret seed:
--hidden-seed, else $CS336_HIDDEN_SEED (the Gradescope zip fixes one at build time, so a regrade gives the same
score), else fresh per run.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from bpe_harness.judge.grade import GradeOptions
from bpe_harness.settings import ROOT

STAFF_KIT = ("staff/__init__.py", "staff/extension.py", "staff/reference", "staff/hidden")
HIDDEN_SEED_ENV = "CS336_HIDDEN_SEED"


def staff_options(tests=None, keyword=None, timeout=None, seed=None, hidden=True) -> GradeOptions:
    options = GradeOptions(keyword=keyword)
    options.tests = tests or (["tests", "staff/hidden"] if hidden else ["tests"])
    if timeout:
        options.timeout = timeout
    if hidden:
        options.extra_kit = STAFF_KIT
        options.env = {HIDDEN_SEED_ENV: str(seed if seed is not None else secrets.randbits(32))}
    return options


def reference_submission(into: Path) -> Path:
    """A student-shaped checkout whose code is the reference: cs336_basics/ holds staff/reference's modules and
    tests/adapters.py imports them. Grading it must give full marks."""
    package = into / "cs336_basics"
    package.mkdir(parents=True, exist_ok=True)
    for source in (ROOT / "staff" / "reference").glob("*.py"):
        shutil.copyfile(source, package / source.name)
    (into / "tests").mkdir(exist_ok=True)
    (into / "tests" / "adapters.py").write_text(
        "from cs336_basics.adapters import get_tokenizer, run_train_bpe  # noqa: F401\n", encoding="utf-8"
    )
    return into
