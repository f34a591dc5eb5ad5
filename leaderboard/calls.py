"""Calling the implementation with clear failures: a fresh worker per round (`worker`), every way a call can fail
turned into a SubmitError or GateFailure that says what happened (`call`), the memory allowance (`check_memory`)."""

from __future__ import annotations

from bpe_harness.client import Client, WorkerCrashed, WorkerFailure, WorkerTimeout
from leaderboard.errors import GateFailure, SubmitError
from leaderboard.inputs import Spec


def call(what: str, fn, *args, spec: Spec, **kwargs):
    """fn(*args) in the worker; every way it can fail becomes a SubmitError saying what happened."""
    try:
        return fn(*args, timeout=spec.timeout, **kwargs)
    except WorkerTimeout as e:
        raise SubmitError(
            f"{what} did not finish within {spec.timeout:g} s (--timeout); it was stopped. "
            f"Does it hang, or is the corpus too big for it?\n{e}"
        ) from None
    except WorkerCrashed as e:
        raise SubmitError(f"{what}: the implementation's process died.\n{e}") from None
    except WorkerFailure as e:
        raise SubmitError(f"{what} failed in the worker: {e}") from None
    except AssertionError as e:  # type checks of the result, e.g. a vocab that is not dict[int, bytes]
        raise GateFailure(f"{what}: {e}") from None
    except NotImplementedError as e:
        raise GateFailure(f"{what} is not written yet: {e}") from None
    except MemoryError:
        raise SubmitError(f"{what} ran out of memory (MemoryError in the implementation)") from None
    except Exception as e:  # the implementation's own exception, rebuilt by the Client
        raise GateFailure(f"{what} raised {type(e).__name__}: {e}") from None


def check_memory(what: str, done, spec: Spec) -> None:
    """SubmitError when a call (a Client's `last`) rose above the allowed memory."""
    if done.peak_bytes > spec.max_memory:
        raise SubmitError(
            f"{what} used {done.peak_bytes / 1e6:,.0f} MB above the worker's starting level, more "
            f"than the {spec.max_memory / 1e6:,.0f} MB allowed (--max-memory)"
        )


def worker(impl_value: str, sandbox) -> Client:
    """A fresh worker process for one round: imports the implementation, serves that round's calls, then is gone."""
    return Client(impl_value, sandbox=sandbox, fork=False)


def after_round(sandbox) -> None:
    """Kill whatever the round's worker left running under its uids (a daemonized helper); a no-op without uids."""
    if sandbox is not None and getattr(sandbox, "uid", None) is not None:
        sandbox.kill_leftovers()
