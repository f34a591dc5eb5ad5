"""The harness's side of the boundary: start the worker, call the implementation in it, replace it on hang or crash.

A `Client` owns one zygote process (server.py, the implementation imported once) and, at any time, at most one
child forked from it, which serves the calls of one test (or one tool run). `reset()` throws the child away, so the
next call starts from the state right after import: no test sees what another left behind. Tokenizers built before
the first other call of a test are built in the zygote, once per distinct (vocab, merges, specials, pattern), and
each test works on a fork of that fresh state, so a 200k-merge vocab is not rebuilt for every test.

Every call has a time limit (`timeout=`, else the client's `budget`, else DEFAULT_TIMEOUT); when it runs out, the
child (or the zygote) is killed with everything it started, the call raises WorkerTimeout, and the next call gets
a new process. A process that dies raises WorkerCrashed with its exit code or signal and its last stderr lines.
Results are decoded by protocol.py into plain data (ids arrive as uint32 arrays), so nothing the implementation
makes ever runs here. Where os.fork is missing (Windows), each reset starts a new worker process instead.
The processes themselves (starting, waiting with a deadline, killing, reporting a crash) are endpoint.py's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpe_harness.client.endpoint import (
    CAN_FORK,
    START_TIMEOUT,
    Child,
    Endpoint,
    Zygote,
)
from bpe_harness.client.failures import WorkerFailure, WorkerTimeout
from bpe_harness.client.measure import Call, Progress
from bpe_harness.implementation import ImplSpec, resolve
from bpe_harness.protocol import DEFAULT_CAP, Ids, Merges, Vocab, encode_frame

DEFAULT_TIMEOUT = 600.0  # seconds, for a call with neither a timeout nor a budget


@dataclass
class StreamSummary:
    """What encode_iterable over a file produced, without the ids themselves."""

    count: int
    sha256: str
    head: list[int]
    blocks: list[str]  # protocol.block_digest of each protocol.BLOCK ids
    first_bad: tuple[int, list[int]] | None  # (block index, its ids) of the first block not as expected


# --- what tests and tools hold ---------------------------------------------------------------------------------


def _describe_path(path) -> str:
    size = os.path.getsize(path) if os.path.exists(path) else None
    return f"{Path(path).name!r}" + (f" ({size / 1e3:,.0f} KB)" if size is not None else " (missing)")


def _content_digest(vocab: dict, merges: list) -> str:
    return hashlib.sha256(encode_frame({"v": Vocab(vocab), "m": Merges(merges)})).hexdigest()


class Client:
    """An implementation (an --impl value) behind a worker process; use as a context manager.

    budget: optional callable (op, facts) -> (seconds, advice) giving each call's time limit when the caller gives
    none (see plugin/limits.py, CallBudget); sandbox: optional object with popen_kwargs(options) -> options, which
    adjusts how the worker is started (user, environment, limits); fork=False: calls run in the worker process
    itself, which `reset()` replaces (memory tests use this, so no earlier state shows up in their figures).
    """

    def __init__(
        self,
        impl: str | ImplSpec = "student",
        *,
        budget=None,
        sandbox=None,
        fork: bool = CAN_FORK,
        cap: int = DEFAULT_CAP,
    ):
        self.spec = impl if isinstance(impl, ImplSpec) else resolve(impl)
        self.budget, self.sandbox, self.fork, self.cap = budget, sandbox, fork and CAN_FORK, cap
        self.zygote: Zygote | None = None
        self.child: Child | None = None
        self.last: Call | None = None
        self.warnings: list[str] = []
        self.start_failure: BaseException | None = None
        self._digests: dict[tuple, tuple[str, dict, list]] = {}
        self.timed_out_builds: dict[str, WorkerTimeout] = {}  # content key -> how building that tokenizer ended
        self.generation = 0  # bumped by reset(): tokenizers built in a child belong to one generation
        # more wall time for a call stopped on a busy machine (busy_machine.py); speed limits turn it off: their
        # verdict is the call's charge, and a cheat whose helpers' CPU the kernel hides also makes the machine busy
        self.busy_grace = True

    @property
    def label(self) -> str:
        return self.spec.label

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> Zygote:
        """The worker, started if needed. If the implementation cannot be imported (ImplError, or the import's own
        exception), that failure is remembered: the code does not change during a run, so later calls fail at once
        with the same message instead of importing (or hanging) again."""
        __tracebackhide__ = True
        if self.start_failure is not None:
            raise self.start_failure.with_traceback(None)  # the same message, without piling up tracebacks
        if self.zygote is None or not self.zygote.alive:
            self._drop_child()
            timeout = self.budget("start", {})[0] if self.budget is not None else START_TIMEOUT
            try:
                self.zygote = Zygote(self.spec, self.sandbox, self.cap, timeout)
            except BaseException as e:
                self.start_failure = e
                raise
        return self.zygote

    def _drop_child(self) -> None:
        if self.child is not None:
            with contextlib.suppress(Exception):
                self.child.end()
            self.child = None

    def reset(self) -> None:
        """Forget the state of earlier calls: the next call runs in a fresh fork (or, without fork, a new worker)."""
        self._drop_child()
        if not self.fork and self.zygote is not None:
            self.zygote.kill()
            self.zygote = None
        self.generation += 1

    def close(self) -> None:
        self._drop_child()
        if self.zygote is not None:
            self.zygote.kill()
            self.zygote = None

    def restart(self) -> None:
        """A fresh worker for the next call: the implementation imported again in a new process, with nothing that
        it (or any process it started) kept from earlier calls. Tokenizers built before are rebuilt on first use."""
        self.close()
        self.generation += 1

    def endpoint(self) -> Endpoint:
        """Where the next call runs: this test's child (forked now if needed), or the worker itself without fork."""
        zygote = self.start()
        if not self.fork:
            return zygote
        if self.child is None or not self.child.alive:
            self._drop_child()
            self.child = zygote.fork()
        return self.child

    def _timeout(self, op: str, facts: dict, timeout: float | None) -> tuple[float, Callable[[float], str] | None]:
        if timeout is not None:
            return timeout, None
        if self.budget is None:
            return DEFAULT_TIMEOUT, None
        seconds, advice = self.budget(op, facts)
        return seconds, (lambda _s: advice)

    def call(
        self, endpoint: Endpoint, what: str, op: str, args: dict, facts: dict, timeout: float | None, **options
    ) -> Call:
        __tracebackhide__ = True
        seconds, advice = self._timeout(op, facts, timeout)
        try:
            endpoint.busy_grace = self.busy_grace
            self.last = endpoint.call(what, op, args, seconds, advice=advice, **options)
        except WorkerFailure:
            if endpoint is self.zygote:
                self.zygote = None
            if endpoint is self.child:
                self.child = None
            raise
        return self.last

    # --- the adapter contract --------------------------------------------------------------------------------

    def train(
        self,
        input_path,
        vocab_size: int,
        special_tokens: list[str],
        *,
        timeout: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        profile: bool = False,
        **kwargs,
    ):
        """run_train_bpe in the worker: (vocab, merges); `self.last` has the measurements (and, with profile=True,
        `self.last.profile`: the top functions by cumulative time, from cProfile in the worker)."""
        __tracebackhide__ = True
        specials = list(special_tokens)
        what = f"run_train_bpe({_describe_path(input_path)}, vocab_size={vocab_size}, special_tokens={specials!r})"
        args = {
            "input_path": os.fspath(input_path),
            "vocab_size": vocab_size,
            "special_tokens": specials,
            "kwargs": kwargs,
            "profile": profile,
        }
        size = os.path.getsize(input_path) if os.path.exists(input_path) else 0
        facts = {"bytes": size, "vocab_size": vocab_size, "specials": len(specials)}
        call = self.call(
            self.endpoint(),
            what,
            "train",
            args,
            facts,
            timeout,
            on_progress=on_progress,
            decode=lambda v: (v["vocab"], v["merges"]),
        )
        return call.value

    def tokenizer(
        self,
        vocab: dict[int, bytes],
        merges: list[tuple[bytes, bytes]],
        special_tokens=None,
        *,
        pattern: str | None = None,
        timeout: float | None = None,
    ) -> RemoteTokenizer:
        """get_tokenizer in the worker. Built in the zygote (once per content) while this test has made no other
        call yet, else in this test's own process."""
        __tracebackhide__ = True
        specials = None if special_tokens is None else list(special_tokens)
        args = {"vocab": Vocab(vocab), "merges": Merges(merges), "special_tokens": specials, "pattern": pattern}
        what = f"get_tokenizer() with {len(vocab):,} vocab entries, {len(merges):,} merges, special_tokens={specials!r}"
        facts = {"merges": len(merges)}
        in_zygote = self.fork and self.child is None
        if in_zygote:
            args["key"] = key = self._content_key(vocab, merges, specials, pattern)
            if key in self.timed_out_builds:  # the code does not change during a run: it would time out again
                raise self.timed_out_builds[key].with_traceback(None)
            known = self.call(self.start(), what, "tokenizer", {"key": key}, facts, timeout)  # built already?
            if known.value["handle"] is not None:
                tok = RemoteTokenizer(self, known.value["handle"], None)
                tok.rebuild = (vocab, merges, special_tokens, pattern)
                return tok
        endpoint = self.start() if in_zygote else self.endpoint()
        try:
            call = self.call(endpoint, what, "tokenizer", args, facts, timeout)
        except WorkerTimeout as e:
            if in_zygote:
                self.timed_out_builds[key] = e
            raise
        if call.value["mutated"]:
            self.warnings.append(
                f"get_tokenizer() changed the {' and the '.join(call.value['mutated'])} it was given; the rule is to "
                "leave the caller's objects alone (copy before adding special tokens)"
            )
        tok = RemoteTokenizer(self, call.value["handle"], None if in_zygote else self.generation)
        tok.rebuild = (vocab, merges, special_tokens, pattern)
        return tok

    def _content_key(self, vocab: dict, merges: list, special_tokens, pattern) -> str:
        """A digest of everything a tokenizer is built from, so one built earlier can be reused. The digest of a
        vocab and merges is remembered by object identity (the objects are kept alive here, so an id is never
        reused): tests pass the same cached objects again and again, and must not change them."""
        memo = (id(vocab), id(merges), len(vocab), len(merges))
        if memo not in self._digests:
            self._digests[memo] = (_content_digest(vocab, merges), vocab, merges)
        extra = json.dumps([special_tokens, pattern]).encode("utf-8", "surrogatepass")
        return hashlib.sha256(self._digests[memo][0].encode() + extra).hexdigest()

    def calibrate(self, *, rounds: int = 6, timeout: float | None = None) -> Call:
        return self.call(self.endpoint(), "calibration workload", "calibrate", {"rounds": rounds}, {}, timeout)

    def ping(self, *, timeout: float | None = None) -> Call:
        return self.call(self.endpoint(), "ping", "ping", {}, {}, timeout)


class RemoteTokenizer:
    """A tokenizer living in the worker. Methods return plain values; `client.last` holds the measurements."""

    def __init__(self, client: Client, handle: int, generation: int | None):
        self.client, self.handle, self.generation = client, handle, generation
        self.zygote = client.zygote
        self.rebuild: tuple | None = None  # get_tokenizer's arguments, to build it again in a new worker

    def _call(self, what: str, op: str, args: dict, facts: dict, timeout: float | None, **options) -> Any:
        __tracebackhide__ = True
        if self.generation is not None and self.generation != self.client.generation:
            raise WorkerFailure(f"{what}: this tokenizer was built before the worker was reset; build it again")
        if self.generation is None and self.client.zygote is not self.zygote and self.rebuild is not None:
            vocab, merges, specials, pattern = self.rebuild  # the worker it lived in is gone: build it in the new one
            again = self.client.tokenizer(vocab, merges, specials, pattern=pattern)
            self.handle, self.zygote = again.handle, again.zygote
        endpoint = self.client.endpoint()
        return self.client.call(endpoint, what, op, {"handle": self.handle, **args}, facts, timeout, **options).value

    def encode(self, text: str, *, timeout: float | None = None) -> list[int]:
        __tracebackhide__ = True
        return self._call(
            f"encode() of {len(text):,} characters", "encode", {"text": text}, {"chars": len(text)}, timeout
        )

    def decode(self, ids: Iterable[int], *, timeout: float | None = None) -> str:
        __tracebackhide__ = True
        ids = Ids(ids)
        return self._call(f"decode() of {len(ids):,} ids", "decode", {"ids": ids}, {"ids": len(ids)}, timeout)

    def encode_iterable(self, chunks, *, take: int | None = None, timeout: float | None = None) -> list[int]:
        """encode_iterable in the worker over `chunks`: a list of str (sent as is), an open text file (opened again
        there, by name, with the same newline handling), or `repeat_lines(...)` (an endless input built there).
        `take`: stop after that many ids."""
        __tracebackhide__ = True
        if isinstance(chunks, dict):
            source, chars, what = chunks, None, "encode_iterable() of an endless input"
        elif hasattr(chunks, "name") and hasattr(chunks, "read"):
            source = {"file": os.fspath(chunks.name)}
            chars = os.path.getsize(chunks.name)
            what = f"encode_iterable(open({Path(chunks.name).name!r}))"
        else:
            chunks = list(chunks)
            if not all(isinstance(c, str) for c in chunks):
                raise TypeError("encode_iterable: chunks must be str")
            source, chars = {"chunks": chunks}, sum(map(len, chunks))
            what = f"encode_iterable() of {len(chunks):,} chunks ({chars:,} characters)"
        return self._call(
            what, "encode_iterable", {"source": source, "take": take}, {"chars": chars, "take": take}, timeout
        )

    def encode_iterable_file(
        self,
        path,
        *,
        expected_blocks=None,
        head: int = 16,
        timeout: float | None = None,
        stall: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_ids: Callable[[bytes], None] | None = None,
    ) -> StreamSummary:
        """encode_iterable(open(path)) consumed in the worker; only a StreamSummary comes back (count, sha256, first
        ids, block digests, and the first block that differs from `expected_blocks`), and, given `on_ids`, the ids
        themselves as they come, in batches of packed uint32 (so a caller can write them out in bounded memory).
        Stopped after `timeout` s, or after `stall` s during which no more ids came out."""
        __tracebackhide__ = True
        args = {
            "path": os.fspath(path),
            "head": head,
            "expected_blocks": expected_blocks,
            "send_ids": on_ids is not None,
        }

        def summary(value: dict) -> StreamSummary:
            bad = value["first_bad"]
            return StreamSummary(
                value["count"],
                value["sha256"],
                value["head"],
                value["blocks"],
                None if bad is None else (bad[0], bad[1]),
            )

        return self._call(
            f"encode_iterable(open({Path(path).name!r})) over {os.path.getsize(path) / 1e6:,.1f} MB",
            "encode_iterable_file",
            args,
            {"chars": os.path.getsize(path)},
            timeout,
            stall=stall,
            on_progress=on_progress,
            on_ids=on_ids,
            decode=summary,
        )

    def encode_range(self, path, start: int, end: int, *, timeout: float | None = None) -> bytes:
        """encode() of bytes start..end of a file, read in the worker (the caller cuts at special tokens, where
        encoding pieces separately changes nothing): the ids as packed little-endian uint32."""
        __tracebackhide__ = True
        return self._call(
            f"encode() of bytes {start:,}..{end:,} of {Path(path).name!r}",
            "encode_range",
            {"path": os.fspath(path), "start": start, "end": end},
            {"chars": end - start},
            timeout,
        )


def repeat_lines(lines: list[str], max_chars: int, message: str) -> dict:
    """An endless input for encode_iterable: `lines` over and over, built in the worker; it raises AssertionError
    with `message` once it has handed out `max_chars` characters (so an implementation that reads everything before
    yielding fails with that message instead of running forever)."""
    return {"lines": list(lines), "max_chars": max_chars, "message": message}
