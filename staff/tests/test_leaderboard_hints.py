"""The leaderboard's training hint comes from the profile when there is one (not always "recounting all pairs"),
and a slow first round is warned about at once. Cost: well under a second (no benchmark runs)."""

from __future__ import annotations

import io

from bpe_harness.plugin.limits import TRAINING_SPEED
from bpe_harness.tools.progress import ProgressLine
from leaderboard import record
from leaderboard.inputs import Spec
from leaderboard.profiling import warn_if_slow


def _profile(function: str, own: float) -> dict:
    rows = [
        {"function": "train.py:10(train_bpe)", "ncalls": "1", "tottime": 0.1, "cumtime": 9.0},
        {"function": function, "ncalls": "3700", "tottime": own, "cumtime": own},
        {"function": "train.py:40(apply_merge)", "ncalls": "3700", "tottime": 0.5, "cumtime": 1.0},
    ]
    return {"total_s": 9.0, "top": rows}


def test_a_max_over_all_pairs_is_named_not_recounting():
    hint = record.training_hint(_profile("<built-in method builtins.max>", 7.5))
    assert "builtins.max" in hint and "heap" in hint and "83% of the profile" in hint, hint
    assert TRAINING_SPEED.hint not in hint and "recounting" not in hint


def test_a_recounting_loop_gets_the_recount_hint():
    hint = record.training_hint(_profile("train.py:25(count_pairs)", 7.5))
    assert "train.py:25(count_pairs)" in hint and TRAINING_SPEED.hint in hint, hint


def test_without_a_profile_the_hint_asks_for_one_and_names_both_causes():
    hint = record.training_hint(None)
    assert "--profile" in hint and "max()" in hint and "recounting" in hint


def test_the_board_hint_uses_the_profile():
    rec = {"train": {"ratio": 20.0}, "encode": {"ratio": 1.0}}
    (line,) = record.hints(rec, profile=_profile("<built-in method builtins.max>", 7.5))
    assert "training dominates" in line and "heap" in line


def test_a_slow_first_round_is_warned_about_and_a_quick_one_is_not():
    out = io.StringIO()
    progress = ProgressLine(stream=out, steps=3)
    assert warn_if_slow(progress, 5.0, Spec()) is None and out.getvalue() == ""
    warning = warn_if_slow(progress, 70.0, Spec())
    assert warning and "about 6 min" in warning and "--profile" in warning and warning in out.getvalue()
