"""Where a slow run's time goes: a warning as soon as round 1 shows the run will be long, and `submit --profile`'s
one extra training under cProfile."""

from __future__ import annotations

from bpe_harness.tools.progress import ProgressLine
from leaderboard.calls import after_round, call, worker
from leaderboard.inputs import Spec, expose, round_input

SLOW_RUN = 120  # seconds: a run whose first round says it will take longer than this is warned about


def warn_if_slow(progress: ProgressLine, first_round_s: float, spec: Spec) -> str | None:
    """After round 1: if the whole run will take far longer than a good solution's (~30 s), say so at once, with
    what to do, instead of leaving the student to wait minutes without a word. The warning, or None."""
    expected = first_round_s * spec.rounds
    if expected <= SLOW_RUN:
        return None
    warning = (
        f"warning: round 1 took {first_round_s:.0f} s, so all {spec.rounds} rounds will take about "
        f"{expected / 60:.0f} min (at the default size a good solution needs about 30 s in all). Usually the "
        "training is slow: stop with Ctrl-C and run "
        "`uv run python -m leaderboard submit --name try --size 1MB --rounds 1 --profile` "
        "to see where its time goes, then fix that first; or let this run finish."
    )
    progress.finish(warning)
    return warning


def profile_training(impl_value: str, spec: Spec, *, sandbox=None, top: int = 12) -> tuple[dict, str]:
    """Where the training time goes: one extra (untimed) training on round 0's corpus under cProfile, in a fresh
    worker. (the profile, for record.hints; its top functions by cumulative time, as lines to print)."""
    corpus = round_input(spec, 0)[0]
    expose(spec, 0)
    with worker(impl_value, sandbox) as impl:
        call(
            "run_train_bpe() under the profiler",
            impl.train,
            corpus,
            spec.vocab_size,
            spec.special_tokens,
            spec=spec,
            profile=True,
        )
        prof = impl.last.profile or {}
    after_round(sandbox)
    lines = [
        f"profile of one training on {corpus.name} ({prof.get('total_s', 0):.2f} s under cProfile; "
        "cumulative = the function and everything it calls):"
    ]
    for row in prof.get("top", [])[:top]:
        lines.append(
            f"  {row['cumtime']:8.2f} s cumulative {row['tottime']:8.2f} s own {row['ncalls']:>10} calls  "
            f"{row['function']}"
        )
    return prof, "\n".join(lines)
