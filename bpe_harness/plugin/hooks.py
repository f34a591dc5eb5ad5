"""pytest plugin: the --impl option, the `impl` fixture (a client of the worker process) and the handout's
`run_train_bpe` and `get_tokenizer` through it, calibration, the `limits` fixture, snapshots.

Loaded from the repository's root conftest.py, so the graded tests and staff tests share it. This process never
imports the implementation under test: `impl` is a `bpe_harness.client.Client`, every call goes to the worker
with a time limit from the calibration (bpe_harness.plugin.limits.CallBudget), and each test starts from a fresh fork of
the worker, so no test sees state another one left behind.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bpe_harness import settings
from bpe_harness.client import Client
from bpe_harness.implementation import ROOT, ImplError, ImplSpec, resolve
from bpe_harness.plugin.generated_inputs import FreshInputs
from bpe_harness.plugin.limit_checks import Limits
from bpe_harness.plugin.limits import Calibration, CallBudget, calibrate, parse_scale
from bpe_harness.plugin.snapshots import SnapshotStore

DEFAULT_SNAPSHOTS = ROOT / "tests" / "snapshots"


@dataclass
class Session:
    """What the plugin keeps for one pytest run (in config.stash)."""

    spec: ImplSpec
    scale: float
    client: Client | None = None
    sandbox: object | None = None  # the grader's Sandbox, shared by every Client of the run
    calibration: Calibration | None = None
    warnings: dict[str, list[str]] = field(default_factory=dict)  # test id -> warnings about the implementation
    limits: list[str] = field(default_factory=list)  # measured vs allowed, one line per limit test
    not_implemented: dict[str, list[str]] = field(default_factory=dict)  # what to write -> failing tests
    # the secret every fresh input of this run is drawn from (generated_inputs): held by this process only, never in
    # an argument, the environment, a file name or the output
    secret: int = field(default_factory=lambda: secrets.randbits(256))
    inputs: FreshInputs | None = None  # this run's folder of fresh inputs


SESSION = pytest.StashKey[Session]()


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
        help="multiply every time limit by this factor, for a slow or busy machine "
        f"(default: ${settings.LIMIT_SCALE.name}, else 1). Memory budgets do not change.",
    )


def _sandbox(session: Session):
    """The grader's sandbox, one for every worker of the run, when CS336_SANDBOX=1 (None otherwise)."""
    if not settings.sandbox_requested():
        return None
    if session.sandbox is None:
        from bpe_harness.sandbox import keep_out_of_reach, sandbox_from_environment

        keep_out_of_reach()  # a grader's pytest holds the hidden seed: not readable through /proc by the workers
        session.sandbox = sandbox_from_environment()
    return session.sandbox


def pytest_configure(config):
    value = config.getoption("--impl")
    try:
        spec = resolve(value)
        scale = parse_scale(config.getoption("--limit-scale"))
    except (ImplError, ValueError) as e:
        raise pytest.UsageError(str(e)) from None
    if config.getoption("--snapshot-update") and value != "reference":
        raise pytest.UsageError(
            "--snapshot-update writes the expected answers, so it only runs with --impl reference "
            f"(got --impl {value}). Nothing was written."
        )
    session = Session(spec, scale)
    config.stash[SESSION] = session
    if spec.module is not None:
        # A module name can only be checked by importing it, which happens in a worker: do it now, so a typo is a
        # usage error and not 70 failures. (A file's import errors are the student's to see, test by test.)
        client = Client(spec, sandbox=_sandbox(session))
        try:
            client.start()
        except ImplError as e:
            client.close()
            raise pytest.UsageError(str(e)) from None
        except BaseException:  # any other import failure fails the tests, with its message
            pass
        session.client = client


def pytest_unconfigure(config):
    """Stop every worker process the session started; remove the fresh inputs it wrote."""
    session = config.stash.get(SESSION, None)
    if session is not None and session.client is not None:
        session.client.close()
    if session is not None and session.sandbox is not None:
        from bpe_harness.client.tree import end_adopted_children

        end_adopted_children()  # a grader's pytest: any child left now is an orphan of a worker
        session.sandbox.cleanup()
    if session is not None and session.inputs is not None:
        session.inputs.remove()


def pytest_report_header(config):
    session = config.stash[SESSION]
    scale = f"; time limits x {session.scale:g}" if session.scale != 1 else ""
    return (
        f"implementation under test: {session.spec.label} (in a separate worker process){scale}; "
        "limit tests on inputs generated for this run"
    )


@pytest.fixture(scope="session")
def fresh_inputs(pytestconfig) -> FreshInputs:
    """This run's folder of fresh inputs (generated_inputs.FreshInputs), open to its workers only; removed at the
    end of the run."""
    session = pytestconfig.stash[SESSION]
    if session.inputs is None:
        session.inputs = FreshInputs(_sandbox(session))
    return session.inputs


@pytest.fixture(scope="session")
def calibration(pytestconfig) -> Calibration:
    """How fast this machine runs a fixed pure-Python workload (in a process that loads no implementation, best of
    3): the unit of every time limit."""
    session = pytestconfig.stash[SESSION]
    if session.calibration is None:
        session.calibration = calibrate(session.scale)
    return session.calibration


@pytest.fixture
def impl(request, pytestconfig, calibration) -> Client:
    """The implementation under test, in the worker process: the only way tests reach student (or reference, or
    outside) code. Each test gets a fresh fork of the worker; every call has a time limit."""
    session = pytestconfig.stash[SESSION]
    if session.client is None:
        session.client = Client(session.spec, sandbox=_sandbox(session))
    client = session.client
    client.budget = CallBudget(calibration)
    client.reset()
    client.warnings = []
    yield client
    if client.warnings:
        session.warnings[request.node.nodeid] = list(client.warnings)
    client.reset()


@pytest.fixture
def run_train_bpe(impl):
    """tests/adapters.py's run_train_bpe(input_path, vocab_size, special_tokens), run in the worker process with a
    time limit: (vocab, merges)."""
    return impl.train


@pytest.fixture
def get_tokenizer(impl):
    """tests/adapters.py's get_tokenizer(vocab, merges, special_tokens=None, pattern=None), run in the worker
    process: a tokenizer whose encode, decode and encode_iterable run there too, each with a time limit."""
    return impl.tokenizer


@pytest.fixture
def impl_alone(pytestconfig, calibration) -> Client:
    """The implementation in a worker process of its own (no fork, nothing run in it before): memory tests use it,
    so nothing from earlier calls shows up in their figures."""
    session = pytestconfig.stash[SESSION]
    with Client(session.spec, sandbox=_sandbox(session), fork=False, budget=CallBudget(calibration)) as client:
        yield client


@pytest.fixture
def limits_report(pytestconfig):
    """Where a limit test reports its measured vs allowed line (shown in the terminal summary, pass or fail)."""
    return pytestconfig.stash[SESSION].limits.append


@pytest.fixture
def limits(request, pytestconfig, calibration, limits_report, fresh_inputs) -> Limits:
    """Runs a call of the implementation under one of the speed or memory limits, on this run's calibration and
    inputs generated from its secret, and reports measured vs allowed in the terminal summary
    (bpe_harness.plugin.limit_checks)."""
    secret = pytestconfig.stash[SESSION].secret
    return Limits(calibration, limits_report, secret, fresh_inputs, request.getfixturevalue)


@pytest.fixture(scope="session")
def snapshots(pytestconfig) -> SnapshotStore:
    return SnapshotStore(Path(pytestconfig.getoption("--snapshot-dir")), pytestconfig.getoption("--snapshot-update"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember which tests failed only because something is not written yet."""
    outcome = yield
    report = outcome.get_result()
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if report.failed and crash is not None and crash.message.startswith("NotImplementedError"):
        what = crash.message.split(": ", 1)[-1]
        item.config.stash[SESSION].not_implemented.setdefault(what, []).append(report.nodeid)


def pytest_terminal_summary(terminalreporter, config):
    session = config.stash.get(SESSION, None)
    if session is not None and session.limits:
        terminalreporter.section("limits: measured vs allowed")
        for line in session.limits:
            terminalreporter.write_line(line)
    if session is not None and session.warnings:
        terminalreporter.section("warnings about your implementation (not failures)")
        for test, lines in session.warnings.items():
            for line in dict.fromkeys(lines):
                terminalreporter.write_line(f"{test}: {line}")
    if session is not None and session.not_implemented:
        terminalreporter.section("still to write")
        for message, tests in sorted(session.not_implemented.items(), key=lambda item: -len(item[1])):
            terminalreporter.write_line(f"{len(tests):4d} failing test(s): {message}")
