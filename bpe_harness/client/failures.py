"""What a call into the worker can end with besides a result: the worker hung or died (WorkerFailure), or the
implementation raised, rebuilt here as the same builtin exception with the worker's traceback chained."""

from __future__ import annotations

import builtins

from bpe_harness.protocol import ImplError


class WorkerFailure(AssertionError):
    """The call did not complete: the worker hung (timed out) or died. It has been stopped."""


class WorkerTimeout(WorkerFailure):
    def __init__(self, message: str, seconds: float, where: str = ""):
        super().__init__(message)
        self.seconds = seconds
        self.where = where  # where the worker's Python was when it was stopped (where_stopped.py), or ""


class WorkerCrashed(WorkerFailure):
    pass


class RemoteError(Exception):
    """An exception from the worker whose type cannot be rebuilt here (not a builtin); the message says which."""


class RemoteTraceback(Exception):
    """The worker's traceback text, chained as the cause of a re-raised exception so pytest shows it."""

    def __str__(self) -> str:
        return "traceback in the worker process:\n" + self.args[0]


def rebuild_exception(error: dict) -> BaseException:
    """The worker's exception as one of the same builtin type and message (so a stub's NotImplementedError stays a
    NotImplementedError with its pointer), with the worker's traceback chained as its cause."""
    if error.get("usage"):
        return ImplError(error["message"])
    cls = getattr(builtins, error["type"], None) if error["module"] == "builtins" else None
    exc: BaseException
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            exc = cls(error["message"])
        except Exception:  # a builtin whose constructor wants other arguments
            exc = RemoteError(f"{error['type']}: {error['message']}")
    else:
        exc = RemoteError(f"{error['module']}.{error['type']}: {error['message']}")
    exc.__cause__ = RemoteTraceback(error["traceback"])
    return exc
