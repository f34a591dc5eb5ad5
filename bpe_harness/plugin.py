"""pytest plugin: the --impl option, the one `impl` fixture tests reach an implementation through, and snapshots.

Loaded from the repository's root conftest.py, so the graded tests and staff tests share it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bpe_harness.impl import ROOT, ImplError, Implementation, load_adapters
from bpe_harness.snapshots import SnapshotStore

DEFAULT_SNAPSHOTS = ROOT / "tests" / "snapshots"


def pytest_addoption(parser):
    group = parser.getgroup("bpe", "BPE assignment kit")
    group.addoption(
        "--impl",
        default="student",
        help="implementation to grade: student (tests/adapters.py, default), reference, PATH.py, or a dotted module",
    )
    group.addoption(
        "--snapshot-update",
        action="store_true",
        help="staff: rewrite expected-output snapshots from the implementation under test (only with --impl reference)",
    )
    group.addoption("--snapshot-dir", default=str(DEFAULT_SNAPSHOTS), help="staff: where snapshots are read/written")
    group.addoption(
        "--limit-scale",
        default=None,
        help="multiply every time limit of tests/test_limits.py by this factor, for a slow or busy machine "
        "(default: $CS336_LIMIT_SCALE, else 1). Memory budgets do not change.",
    )


def pytest_configure(config):
    value = config.getoption("--impl")
    try:
        label, module = load_adapters(value)
    except ImplError as e:
        raise pytest.UsageError(str(e)) from None
    if config.getoption("--snapshot-update") and value != "reference":
        raise pytest.UsageError(
            f"--snapshot-update writes the expected answers, so it only runs with --impl reference (got --impl {value}). "
            "Nothing was written."
        )
    config._bpe_impl = Implementation(label, module, value)
    from bpe_harness.limits import parse_scale

    try:
        config._bpe_limit_scale = parse_scale(config.getoption("--limit-scale"))
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_unconfigure(config):
    """Stop every worker process the session started (limit tests run the implementation in workers)."""
    impl = getattr(config, "_bpe_impl", None)
    if impl is not None:
        impl.close_workers()


def pytest_report_header(config):
    scale = getattr(config, "_bpe_limit_scale", 1.0)
    return f"implementation under test: {config._bpe_impl.label}" + (f"; time limits x {scale:g}" if scale != 1 else "")


@pytest.fixture(scope="session")
def impl(pytestconfig) -> Implementation:
    """The implementation under test. The only way tests reach student (or reference, or outside) code."""
    return pytestconfig._bpe_impl


@pytest.fixture(scope="session")
def calibration(pytestconfig, impl):
    """How fast this machine runs a fixed pure-Python workload (in a worker, best of 3): the unit of speed limits.
    A `bpe_harness.limits.Calibration`."""
    from bpe_harness.limits import calibrate

    return calibrate(impl.isolated(), pytestconfig._bpe_limit_scale)


@pytest.fixture(scope="session")
def snapshots(pytestconfig) -> SnapshotStore:
    return SnapshotStore(Path(pytestconfig.getoption("--snapshot-dir")), pytestconfig.getoption("--snapshot-update"))


def pytest_runtest_logreport(report):
    """Remember which tests failed only because something is not written yet."""
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if report.failed and crash is not None and crash.message.startswith("NotImplementedError"):
        _not_implemented.setdefault(crash.message.split(": ", 1)[-1], []).append(report.nodeid)


_not_implemented: dict[str, list[str]] = {}


def pytest_terminal_summary(terminalreporter):
    if not _not_implemented:
        return
    terminalreporter.section("still to write")
    for message, tests in sorted(_not_implemented.items(), key=lambda item: -len(item[1])):
        terminalreporter.write_line(f"{len(tests):4d} failing test(s): {message}")
