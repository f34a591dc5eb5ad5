"""pytest plugin the judge loads (`-p bpe_harness.judge.verdicts`): points per test, verdicts written as they happen.

Why this exists: the grade must not depend on anything the code under test can reach. This plugin runs in the
trusted pytest process (which never imports student code) and writes, into a directory only the grader can write:

* `manifest.json` after collection: every test's node id, points and visibility, so a test that never reports (the
  run was killed) still shows up, scored 0;
* `verdicts.jsonl`, one line per finished test, appended and flushed as each test ends, so verdicts of tests that
  finished survive a judge that dies later. A failure that a busy machine may have decided (a call timed out or was
  charged its wall time while no CPU was idle: client/busy_machine.py) is marked `load_affected`, and the grader
  runs that test again alone (bpe_harness/judge/grade.py).

Points are declared next to the tests: `@pytest.mark.points(3)` on a test (each collected case of a parametrized
test gets that many), or `pytest.param(..., marks=pytest.mark.points(2))` on one case. Unmarked tests are worth
DEFAULT_POINTS. Tests the course registers as late (bpe_harness/extensions.py: its hidden tests) are shown to
students on Gradescope only after the due date.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import pytest

from bpe_harness import extensions
from bpe_harness.client.busy_machine import take_load_notes
from bpe_harness.files import write_atomically

DEFAULT_POINTS = 1.0
REASON_CHARS = 300
OUTPUT_CHARS = 4000
_log: IO[str] | None = None  # verdicts.jsonl, open while the session runs


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grading", "judge (used by bpe_harness.judge.grade)")
    group.addoption("--grading-dir", default=None, help="directory for manifest.json and verdicts.jsonl")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): points this test is worth when graded (default 1)")


def test_points(item: pytest.Item) -> float:
    marker = item.get_closest_marker("points")
    if marker is None:
        return DEFAULT_POINTS
    value = marker.args[0] if marker.args else marker.kwargs.get("n", DEFAULT_POINTS)
    if not isinstance(value, (int, float)) or value < 0:
        raise pytest.UsageError(f"{item.nodeid}: points must be a number >= 0, got {value!r}")
    return float(value)


HIDDEN_VISIBILITY = "after_due_date"  # Gradescope: shown once the due date has passed (see _visibility)


def _visibility(nodeid: str) -> str:
    """Gradescope visibility. Late tests (the course's hidden tests) are `after_due_date`, not `hidden`: Gradescope
    shows a student no total score while any test is hidden, and `hidden` would stay hidden for good. Before the due
    date a student sees the public tests only (Gradescope then holds back the total); afterwards the hidden tests and
    the total as well."""
    return HIDDEN_VISIBILITY if nodeid.startswith(extensions.late_tests()) else "visible"


def _out(config: pytest.Config) -> Path | None:
    folder = config.getoption("--grading-dir", None)
    return Path(folder) if folder else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    folder = _out(config)
    if folder is None:
        return
    manifest = [{"nodeid": it.nodeid, "points": test_points(it), "visibility": _visibility(it.nodeid)} for it in items]
    write_atomically(folder / "manifest.json", json.dumps(manifest))
    global _log
    _log = open(folder / "verdicts.jsonl", "a", encoding="utf-8")  # closed in pytest_unconfigure


def _reason(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr or "")


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    take_load_notes()  # what earlier tests left is theirs


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """One verdict per test: the first failure (setup, call or teardown) wins, else the call's outcome."""
    if _log is None:
        return
    if report.when == "call" or report.failed or (report.when == "setup" and report.skipped):
        status = "failed" if report.failed else ("skipped" if report.skipped else "passed")
        if report.failed and report.when != "call":
            status = "error"
        reason = _reason(report).strip()
        record = {
            "nodeid": report.nodeid,
            "when": report.when,
            "status": status,
            "reason": reason.splitlines()[0][:REASON_CHARS] if reason else "",
            "output": (report.longreprtext or "")[-OUTPUT_CHARS:] if report.failed else "",
            "duration": float(report.duration),
        }
        notes = take_load_notes()
        if report.failed and notes:
            record["load_affected"] = True
            record["load_notes"] = [n[:REASON_CHARS] for n in notes[:3]]
        _log.write(json.dumps(record) + "\n")
        _log.flush()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _log
    if _log is not None:
        _log.close()
        _log = None
