"""Parent side of the boundary (provisional facade over bpe_harness.worker; the API is the one to build on)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bpe_harness.worker import Call, StreamSummary, WorkerPool, Isolated

DEFAULT_TIMEOUT = 600.0


@dataclass
class Progress:
    """A live reading during a call (for progress lines)."""

    elapsed_s: float
    rss_bytes: int  # the worker's resident memory now
    peak_bytes: int  # its peak above the pre-call level so far
    children_bytes: int  # unique memory of its child processes now
    count: int = 0  # ids produced so far (streaming calls)


class Client:
    """An implementation (an --impl value) behind a worker process. One call at a time; use as a context manager."""

    def __init__(self, impl: str = "student", *, fresh: bool = True, sandbox=None):
        """sandbox: None, or an object with popen_kwargs(options: dict) -> dict, given the worker's subprocess.Popen
        keyword arguments (cwd, env) and returning them changed (user, env, cwd, preexec_fn/process_group...)."""
        self.impl = impl
        self._pool = WorkerPool(impl, sandbox=sandbox)
        self._isolated = Isolated(self._pool, fresh=fresh)
        self.last: Call | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._isolated.close()
        self._pool.close()

    @property
    def label(self) -> str:
        return self._isolated.worker().label

    def _record(self, call: Call) -> Any:
        self.last = call
        return call.value

    def train(self, input_path, vocab_size: int, special_tokens: list[str], *, timeout: float | None = None,
              on_progress: Callable[[Progress], None] | None = None, **kwargs):
        """run_train_bpe in the worker: (vocab, merges)."""
        __tracebackhide__ = True
        call = self._isolated.train(os.fspath(input_path), vocab_size, list(special_tokens),
                                    timeout=timeout or DEFAULT_TIMEOUT, **kwargs)
        return self._record(call)

    def tokenizer(self, vocab, merges, special_tokens=None, *, pattern=None, timeout: float | None = None):
        __tracebackhide__ = True
        remote = self._isolated.tokenizer(vocab, merges, special_tokens, pattern, timeout=timeout or DEFAULT_TIMEOUT)
        self.last = remote.built
        return RemoteTokenizer(self, remote)

    def calibrate(self, *, timeout: float | None = None) -> Call:
        call = self._isolated.calibrate(timeout=timeout or DEFAULT_TIMEOUT)
        self.last = call
        return call


class RemoteTokenizer:
    """A tokenizer living in the worker; methods return plain values, `client.last` holds the measurements."""

    def __init__(self, client: Client, remote):
        self._client, self._remote = client, remote

    def encode(self, text: str, *, timeout: float | None = None) -> list[int]:
        __tracebackhide__ = True
        return self._client._record(self._remote.encode(text, timeout=timeout or DEFAULT_TIMEOUT))

    def decode(self, ids: Iterable[int], *, timeout: float | None = None) -> str:
        __tracebackhide__ = True
        return self._client._record(self._remote.decode(list(ids), timeout=timeout or DEFAULT_TIMEOUT))

    def encode_iterable(self, chunks: Iterable[str], *, timeout: float | None = None) -> list[int]:
        __tracebackhide__ = True
        return self._client._record(self._remote.encode_iterable(list(chunks), timeout=timeout or DEFAULT_TIMEOUT))

    def encode_iterable_file(self, path, *, expected_blocks=None, timeout: float | None = None,
                             stall: float | None = None,
                             on_progress: Callable[[Progress], None] | None = None) -> StreamSummary:
        __tracebackhide__ = True
        call = self._remote.encode_iterable_file(path, expected_blocks=expected_blocks,
                                                 timeout=timeout or DEFAULT_TIMEOUT, stall=stall)
        return self._client._record(call)
