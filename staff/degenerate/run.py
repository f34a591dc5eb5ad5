"""Grade a degenerate implementation with the graded suite (public and hidden tests) in a child pytest, with the
grading plugin's points: what it would score on Gradescope, test by test."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bpe_harness.judge.results import valid_manifest, valid_verdicts
from bpe_harness.settings import ROOT
from staff.degenerate import Degenerate

SUITES = ("tests", "staff/hidden")


@dataclass
class Scored:
    name: str
    points: dict[str, float] = field(default_factory=dict)  # suite -> points earned
    totals: dict[str, float] = field(default_factory=dict)  # suite -> points available
    passed: dict[str, float] = field(default_factory=dict)  # node id -> points, for every passed test with points
    output: str = ""

    def unexpected(self, d: Degenerate) -> list[str]:
        """What disagrees with the catalog: points other than listed, or a passed test it should not pass."""
        problems = []
        for suite, wanted in (("tests", d.public), ("staff/hidden", d.hidden)):
            if suite in self.totals and self.points.get(suite, 0.0) != wanted:
                problems.append(
                    f"{suite}: {self.points.get(suite, 0.0):g}/{self.totals[suite]:g} points, catalog says {wanted:g}"
                )
        problems += [
            f"passed {test} ({pts:g} points), not in the catalog's list"
            for test, pts in self.passed.items()
            if pts > 0 and not any(test.startswith(e) for e in d.earns)
        ]
        return problems


def grade(d: Degenerate, suites=SUITES, seed: int = 18, timeout: float = 900, extra: tuple[str, ...] = ()) -> Scored:
    """Run `suites` against the degenerate module; points per suite from the grading plugin's manifest/verdicts."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CS336_HIDDEN_SEED=str(seed))
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "bpe_harness.judge.verdicts",
            f"--grading-dir={tmp}",
            "--impl",
            d.module,
            *suites,
            *extra,
        ]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        scored = Scored(d.name, output=proc.stdout[-4000:] + proc.stderr[-2000:])
        manifest = valid_manifest(Path(tmp) / "manifest.json")
        if manifest is None:
            raise RuntimeError(f"{d.name}: the graded suite did not run:\n{scored.output}")
        verdicts = valid_verdicts(Path(tmp) / "verdicts.jsonl")
    for t in manifest:
        suite = next((s for s in suites if t["nodeid"].startswith(s + "/")), t["nodeid"].split("/")[0])
        scored.totals[suite] = scored.totals.get(suite, 0.0) + t["points"]
        v = verdicts.get(t["nodeid"])
        if v is not None and v["status"] == "passed":
            scored.points[suite] = scored.points.get(suite, 0.0) + t["points"]
            scored.passed[t["nodeid"]] = t["points"]
    return scored
