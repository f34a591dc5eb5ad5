"""The hostile and broken submissions the grader must survive, each with the score and reason it must produce.

Each case is a folder here holding only its hostile files; `materialize` lays them over a base checkout (the
handout's stubs, or the reference copied in as cs336_basics so a case can be "hostile but correct"). Expected score
is 0 or FULL (every point of the graded tests, whatever their markers say), or one per sandbox tier where a weaker
tier cannot hold (said in staff/README.md's tier table). `tests` is the subset graded, to keep
the staff suite fast; `hang_everywhere` is graded on the whole public suite in Gradescope's tier (root) to prove a
submission that hangs in every call is still fully graded well inside Gradescope's 10 minutes (the catalog's long
pole, ~280 s on 2 cores), and on the special-token tests in the other tiers, where a hang is stopped the same way.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL = "full"
WEAK = "weak"  # in this tier the defence cannot hold (staff/README.md's tier table): the score is reported, not checked
SPECIAL = ("tests/test_special_tokens.py",)
TIMEOUT = r"did not finish|timed out|time limit|stopped after|no progress"


SPEED = ("tests/test_limits.py::test_training_speed", "tests/test_limits.py::test_encoding_speed")
TRAINING = (
    "tests/test_train_bpe.py",
    "tests/test_limits.py::test_training_speed",
    "tests/test_limits.py::test_training_in_bounded_memory",
)
TOO_SLOW = r"x the limit|" + TIMEOUT


@dataclass(frozen=True)
class Case:
    name: str
    expected: object  # 0 or FULL, or {tier key or "*": 0, FULL or WEAK} (tier_key(): full, root, user+ns, user)
    reason: str  # regex the first failing test's reason (or output) must match; "" when nothing fails
    base: str = "stubs"  # or "reference"
    tests: tuple[str, ...] = SPECIAL
    env: tuple[tuple[str, str], ...] = ()  # for the judge (e.g. a many-core host)
    twin: str | None = None  # the honest case it must not beat
    tests_by_tier: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (tier name, tests) graded there instead of `tests`

    def expected_in(self, tier: str):
        if isinstance(self.expected, dict):
            return self.expected.get(tier, self.expected.get("*", 0))
        return self.expected

    def tests_in(self, tier: str) -> tuple[str, ...]:
        """The tests graded in `tier` (a tier key such as root+view: its name is what precedes the first +)."""
        return dict(self.tests_by_tier).get(tier.split("+")[0], self.tests)


def tier_key() -> str:
    """This machine's sandbox tier, as the expectations name it."""
    from bpe_harness.sandbox import probe_tier

    tier = probe_tier()
    return tier.name + ("+ns" if tier.user_namespaces else "") + ("+view" if tier.view else "")


CASES = [
    Case("infinite_loop", 0, TIMEOUT),
    Case("sleep_forever", 0, TIMEOUT),
    Case("memory_bomb", 0, r"MemoryError|" + TIMEOUT),  # the 2 GB cap, or the time limit when filling it is slower
    Case("fork_bomb", 0, r"fork bomb stopped after|" + TIMEOUT),  # the process cap, or the time limit first
    Case("segfault", 0, r"SIGSEGV"),
    Case("os_exit", 0, r"exit(ed with)? code 0"),
    Case("sys_exit", 0, r"SystemExit"),
    Case("ignores_sigterm", 0, TIMEOUT),
    Case("output_flood", FULL, "", base="reference"),
    Case("fake_results", {"*": FULL, "user": WEAK}, "", base="reference"),
    Case("monkeypatch", 0, r"expected|differ|Error"),
    Case("conftest_hook", 0, r"NotImplementedError"),
    Case("eq_always_true", 0, r"expected|differ"),
    Case("wrong_types", 0, r"expected"),
    Case(
        "reads_snapshots",
        {"*": 0, "user": WEAK},
        r"PermissionError|Permission denied|No such file|the grader's",
        base="reference",
        tests=("tests/test_train_bpe.py::test_training_matches_reference",),
    ),
    Case("import_error", 0, r"cannot be imported"),
    Case("syntax_error", 0, r"SyntaxError"),
    Case("missing_functions", 0, r"lacks|run_train_bpe|get_tokenizer"),
    Case("grandchild", FULL, "", base="reference"),
    Case("hang_everywhere", 0, TIMEOUT, tests_by_tier=(("root", ("tests",)),)),  # whole suite: Gradescope's tier
    # the whole process tree: each gains nothing over its honest twin, in every tier
    Case("slow_in_process", 0, TOO_SLOW, base="reference", tests=SPEED),
    Case("helper_at_import", 0, TOO_SLOW, base="reference", tests=SPEED, twin="slow_in_process"),
    Case("memoised_retry", 0, TOO_SLOW, base="reference", tests=SPEED[:1], twin="slow_in_process"),
    Case("auto_reaped_children", 0, TOO_SLOW, base="reference", tests=SPEED, twin="slow_in_process"),
    Case("answers_at_import", 0, TOO_SLOW + r"|importing", base="reference", tests=SPEED[:1], twin="slow_in_process"),
    Case(
        "memory_in_child",
        0,
        r"budget|MB",
        base="reference",
        tests=("tests/test_limits.py::test_training_in_bounded_memory",),
    ),
    Case(
        "memory_in_children",
        0,
        r"budget|MB",
        base="reference",  # the hoard split over 12 children
        tests=("tests/test_limits.py::test_training_in_bounded_memory",),
    ),
    Case(
        "balloon_at_import",
        0,
        r"budget|MB",
        base="reference",
        tests=("tests/test_limits.py::test_training_in_bounded_memory",),
    ),
    Case(
        "tree_memory_bomb",
        0,
        r"whole process tree",
        base="reference",  # a grader with ~3 GB: a 1.5 GB cap
        tests=("tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte",),
        env=(("CS336_SANDBOX_TREE_MEMORY_MB", "1500"),),
    ),
    Case(
        "reads_checkout_reference",
        {"*": 0, "user": WEAK},
        r"no staff reference|cannot read|Permission|No module|the grader.s",
        tests=("tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte",),
    ),
    Case("pool_for_96_cpus", FULL, "", base="reference", tests=TRAINING, env=(("CS336_SANDBOX_CPUS", "96"),)),
    # the worker's view: where an allowlisted view holds (+view), nothing of the machine is seen; with
    # permissions only, other checkouts and other processes' command lines are (not a boundary there: tier table)
    Case(
        "batch_parasite",
        {"*": WEAK, "full+view": 0, "root+view": 0, "user+ns+view": 0},
        r"batch parasite",
        tests=("tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte",),
    ),
    Case(
        "sees_only_its_own",
        {"*": WEAK, "full+view": FULL, "root+view": FULL, "user+ns+view": FULL},
        "",
        base="reference",
        tests=("tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte",),
    ),
]


def by_name(name: str) -> Case:
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(f"no hostile case {name!r}; known: {', '.join(c.name for c in CASES)}")


def materialize(case: Case, into: Path) -> Path:
    """A submission folder: the base checkout, then the case's own files over it."""
    from staff.grading.staff_judge import reference_submission

    into.mkdir(parents=True, exist_ok=True)
    if case.base == "reference":
        reference_submission(into)
    shutil.copytree(HERE / case.name, into, dirs_exist_ok=True)
    return into
