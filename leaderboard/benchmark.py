"""The measuring behind `submit` and `verify` (shipped to students): `run()`, a correctness gate and then timed rounds,
with the kit's files guarded around the implementation (`KitGuard`, here).

Why this exists: a leaderboard number must mean the same on every laptop and must not be cheap to fake. So:

* every call into the implementation goes through `bpe_harness.client.Client` (a worker process, measured from
  outside; `calls`), in the grader's sandbox when the machine allows it (`sandboxing`); nothing here imports it;
* the gate (`gate`) trains on the kit's generated corpora and compares merges and vocab with the committed snapshots,
  and encodes held-out text against ids computed by tiktoken from the snapshot's merges, with the graded suite's own
  assertions, so a refusal reads like a failing graded test;
* inputs come from a seed (`inputs`): each round trains on its own generated corpus and encodes its own held-out
  text, so nothing learnt in one round helps the next. The published seed gives inputs anyone can precompute: a run
  on it is *practice* and is marked so; the ranked figure comes from staff `verify` on a seed drawn when it measures,
  handed over on a pipe, whose inputs get random file names and are readable by the sandbox's user only during the
  submission's calls;
* every round runs in fresh worker processes (`rounds`): no module-level memo, no state of an earlier round. The
  round's inputs are generated only after the submission's worker has imported the implementation, and CPU spent
  importing beyond an allowance counts as training. The ranked figure is the median over rounds of the submission's
  time over the pace-setter's (`results`), so both slow down together on a slower or busier machine;
* a call whose wall time is far above its charged (CPU) time is charged its wall time and flagged (`rounds.charge`):
  work handed to a process outside the measured tree shows up that way;
* the kit's files are digested before the implementation first runs and checked after every round (`KitGuard`): an
  implementation that writes into the kit (e.g. the pace-setter's source) is refused;
* the encoding ids of every round must equal the pace-setter's (tiktoken over the same merges), and the streamed ids
  of `encode_iterable` must equal them too; its memory is measured in a worker of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from bpe_harness import extensions
from bpe_harness.client import Client
from bpe_harness.files import sha256_file
from bpe_harness.kit_files import digest as kit_digest
from bpe_harness.kit_files import skipped_dir, skipped_file
from bpe_harness.settings import ROOT
from bpe_harness.tools.progress import ProgressLine
from leaderboard.calls import after_round, worker
from leaderboard.errors import SubmitError
from leaderboard.gate import GATE_TRAINING, gate
from leaderboard.inputs import Spec
from leaderboard.results import measured, run_fields
from leaderboard.rounds import PACER, measure

KIT_TOPS = (
    "bpe_harness",
    "leaderboard",
    "tests",
    "cs336_basics",
    "conftest.py",
    "pyproject.toml",
    "uv.lock",
)  # what the kit is (a student's data/ folder with a 2 GB corpus is not hashed every round)
PACER_PACKAGES = ("tiktoken", "regex")  # the pace-setter's tools, outside the kit (in the environment)


def _package_dirs() -> list[tuple[str, Path]]:
    from importlib import util as importlib_util

    out = []
    for name in PACER_PACKAGES:
        spec = importlib_util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            out.append((f"<{name}>", Path(folder)))
    return out


def kit_files(root: Path = ROOT) -> dict[str, str]:
    """{path: sha256} of the kit's files (the submission's own included; bytecode caches and the records left out)
    and of the pace-setter's packages (tiktoken, regex) in the environment."""
    out = {}
    tops = [(top, root / top) for top in (*KIT_TOPS, *extensions.secret_paths()) if (root / top).exists()]
    tops += _package_dirs()
    for label, top in tops:
        if top.is_file():
            out[label] = sha256_file(top)
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not skipped_dir(d))
            rel_dir = Path(label) / Path(dirpath).relative_to(top)
            if rel_dir.parts[:2] == ("leaderboard", "submissions"):
                continue  # the records themselves: written by the tool
            for name in filenames:
                if skipped_file(name):
                    continue
                path = Path(dirpath) / name
                if path.is_file() and not path.is_symlink():
                    out[(rel_dir / name).as_posix()] = sha256_file(path)
    return out


class KitGuard:
    """The kit's files, digested before the implementation first runs; `check()` refuses (SubmitError) when any was
    added, changed or removed since."""

    def __init__(self, root: Path = ROOT, inputs: list[Path] = ()):
        self.root = root
        self.before = kit_files(root)
        self.inputs = {p: sha256_file(p) for p in inputs}

    def add_inputs(self, *paths: Path) -> None:
        """Inputs generated during the run: digested now, checked from then on."""
        self.inputs.update({p: sha256_file(p) for p in paths if p not in self.inputs})

    def check(self, when: str) -> None:
        now = kit_files(self.root)
        changed = sorted(k for k in self.before.keys() | now.keys() if self.before.get(k) != now.get(k))
        changed += [str(p) for p, digest in self.inputs.items() if not p.exists() or sha256_file(p) != digest]
        if changed:
            shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
            raise SubmitError(
                f"the kit's files changed while your implementation ran ({when}): {shown}. The implementation may "
                "only read the kit and its input; writing into it (the pace-setter, the harness, its own code, the "
                "corpora) is not allowed. Nothing was written. Restore them (git checkout -- . ; git status) and "
                "remove whatever in your code writes there."
            )

    @property
    def digest(self) -> str:
        return kit_digest(self.before)


def steps(spec: Spec) -> int:
    """The progress line's steps: the gate's trainings and its encoding, three per round, encode_iterable."""
    return len(GATE_TRAINING) + 1 + 3 * spec.rounds + 1


def run(
    impl_value: str,
    spec: Spec,
    *,
    sandbox=None,
    sandbox_kind: str = "none",
    show_progress: bool = True,
    kit_root: Path = ROOT,
) -> dict:
    """Gate + benchmark of one implementation (an --impl value): the record's measured fields. SubmitError /
    GateFailure say why it cannot go on. `sandbox_kind`: make_sandbox's name for `sandbox`, recorded.

    The pace-setter's first worker starts before the implementation is ever imported; the kit is digested then, and
    checked after every round and at the end (KitGuard)."""
    progress = ProgressLine(steps=steps(spec), enabled=show_progress)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    try:
        with worker(PACER, None) as pacer:  # the pace-setter first: imported (and its bytecode cached) untouched
            pacer.ping()
        guard = KitGuard(kit_root)
        with Client(impl_value, sandbox=sandbox) as impl:
            passed = gate(impl, spec, progress)
        after_round(sandbox)
        guard.check("after the gate")
        tally = measure(impl_value, spec, progress, sandbox=sandbox, guard=guard)
        guard.check("at the end")
    finally:
        progress.finish()
    return run_fields(measured(spec, tally), spec, passed, sandbox_kind, guard.digest, load_before)
