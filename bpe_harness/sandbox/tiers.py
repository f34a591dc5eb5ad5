"""The sandbox's names under their former module path, for judge/grade.py and leaderboard/benchmark.py until they
import from `bpe_harness.sandbox` (then delete this file)."""

from bpe_harness.sandbox import (
    Sandbox,
    SandboxRefused,
    judges_base,
    keep_out_of_reach,
    others_can_read,
    probe_tier,
    sandbox_from_environment,
)

__all__ = [
    "Sandbox",
    "SandboxRefused",
    "judges_base",
    "keep_out_of_reach",
    "others_can_read",
    "probe_tier",
    "sandbox_from_environment",
]
