"""Turn a mutant into an importable package and grade it with the real suite in a child pytest.

A mutant package is a copy of staff/reference with the mutant's edits applied, written under a scratch folder and
loaded with `--impl mutant_<name>.adapters` (the scratch folder goes on PYTHONPATH). Nothing in the repo changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bpe_harness.settings import ROOT
from staff.mutants.catalog import Mutant
from staff.tests.runpytest import read_junit

REFERENCE = ROOT / "staff" / "reference"


class AnchorError(RuntimeError):
    """A mutant's snippet is not in the reference exactly once: the catalog must follow the reference."""


def mutated_sources(mutant: Mutant) -> dict[str, str]:
    """{file name: source} of the reference with the mutant's edits applied."""
    sources = {p.name: p.read_text(encoding="utf-8") for p in REFERENCE.glob("*.py")}
    for file, old, new in mutant.edits:
        found = sources[file].count(old)
        if found != 1:
            raise AnchorError(f"mutant {mutant.name}: snippet found {found} times in staff/reference/{file}: {old!r}")
        sources[file] = sources[file].replace(old, new)
    return sources


def materialize(mutant: Mutant, scratch: Path) -> str:
    """Write the mutant under `scratch`; return the --impl value that loads it."""
    if mutant.module:
        return mutant.module
    package = scratch / f"mutant_{mutant.name}"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for name, source in mutated_sources(mutant).items():
        (package / name).write_text(source, encoding="utf-8")
    return f"{package.name}.adapters"


@dataclass
class Graded:
    mutant: str
    failed: set[str] = field(default_factory=set)
    passed: set[str] = field(default_factory=set)
    messages: dict[str, str] = field(default_factory=dict)
    output: str = ""

    def missed(self, declared) -> list[str]:
        """Declared tests this mutant did not fail."""
        return [t for t in declared if not any(f == t or f.startswith(t + "[") for f in self.failed)]


def grade(mutant: Mutant, tests: list[str], scratch: Path | None = None, timeout: float = 900) -> Graded:
    """Run `tests` (node ids or paths) against the mutant; collect which passed and failed."""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = scratch or Path(tmp)
        impl = materialize(mutant, scratch)
        report = Path(tmp) / "report.xml"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(scratch), str(ROOT)]))
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "--impl",
            impl,
            *tests,
        ]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        result = Graded(mutant.name, output=proc.stdout[-4000:] + proc.stderr[-2000:])
        for outcome in read_junit(report) if report.exists() else []:
            if outcome.status in ("failed", "error"):
                result.failed.add(outcome.test)
                result.messages[outcome.test] = outcome.message.strip()
            elif outcome.status == "passed":
                result.passed.add(outcome.test)
        return result
