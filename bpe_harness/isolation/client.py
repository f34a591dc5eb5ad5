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
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bpe_harness.adapter import ROOT, ImplError, ImplSpec, resolve
from bpe_harness.isolation.busy_machine import LoadWatch
from bpe_harness.isolation.measure import Call, Progress, Sampler, default_tree_cap, mb
from bpe_harness.settings import WORKER_SYS_PATH
from bpe_harness.isolation.protocol import DEFAULT_CAP, Channel, Ids, Merges, ProtocolError, Vocab, encode_frame
from bpe_harness.isolation.tree import Tree, become_subreaper

DEFAULT_TIMEOUT = 600.0  # seconds, for a call with neither a timeout nor a budget
START_TIMEOUT = 120.0  # seconds for the worker to import the implementation and say it is ready
CONTROL_TIMEOUT = 30.0  # seconds for fork / reap / exit
STDERR_TAIL = 4000  # characters of the worker's stderr shown when it crashes or hangs
CAN_FORK = hasattr(os, "fork") and hasattr(socket, "send_fds")



# --- failures ---------------------------------------------------------------------------------------------------


class WorkerFailure(AssertionError):
    """The call did not complete: the worker hung (timed out) or died. It has been stopped."""


class WorkerTimeout(WorkerFailure):
    def __init__(self, message: str, seconds: float):
        super().__init__(message)
        self.seconds = seconds


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
        except Exception:  # noqa: BLE001 - a builtin whose constructor wants other arguments
            exc = RemoteError(f"{error['type']}: {error['message']}")
    else:
        exc = RemoteError(f"{error['module']}.{error['type']}: {error['message']}")
    exc.__cause__ = RemoteTraceback(error["traceback"])
    return exc


@dataclass
class StreamSummary:
    """What encode_iterable over a file produced, without the ids themselves."""

    count: int
    sha256: str
    head: list[int]
    blocks: list[str]  # protocol.block_digest of each protocol.BLOCK ids
    first_bad: tuple[int, list[int]] | None  # (block index, its ids) of the first block not as expected


# --- one process ----------------------------------------------------------------------------------------------------


class StderrTail:
    """The last STDERR_TAIL characters a worker (and its forks, which share the pipe) wrote, by position."""

    def __init__(self, pipe):
        self.chunks: collections.deque[tuple[int, str]] = collections.deque()
        self.total = 0
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe) -> None:
        with pipe:
            for chunk in iter(lambda: pipe.read1(65536), b""):
                text = chunk.decode("utf-8", "replace")
                self.chunks.append((self.total, text))
                self.total += len(text)
                while len(self.chunks) > 1 and self.total - self.chunks[1][0] > STDERR_TAIL:
                    self.chunks.popleft()

    def since(self, position: int) -> str:
        text = "".join(t[max(0, position - start):] for start, t in list(self.chunks) if start + len(t) > position)
        text = text[-STDERR_TAIL:].rstrip()
        return ("\n--- worker stderr (last lines) ---\n" + text) if text else "\n(the worker wrote nothing to stderr)"


class Endpoint:
    """One worker process and the channel to it: the zygote, or a child forked from it. One call at a time."""

    def __init__(self, sock: socket.socket, pid: int, stderr: StderrTail, cap: int, tree: Tree,
                 tree_cap: int | None, exclude: set[int] = frozenset()):
        self.channel = Channel(sock, cap)
        self.pid, self.stderr, self.tree, self.tree_cap = pid, stderr, tree, tree_cap
        self.ps = psutil.Process(pid)
        self.sampler = Sampler(self.ps, tree, exclude, tree_cap, on_over_cap=self._over_cap)
        self.stderr_from = stderr.total
        self.dead_reason: str | None = None
        self.load: LoadWatch | None = None  # the current call's view of the machine's load (busy_machine.py)
        self.extension = 0.0  # wall seconds the current call was given because the machine was busy

    # how the process ended, for messages; overridden by the zygote (its own Popen) and by children (reaped)
    def exit_code(self) -> int | None:
        raise NotImplementedError

    def send(self, message: dict) -> None:
        try:
            self.channel.send(message)
        except OSError:
            pass  # the worker is gone; receive() reports how it ended

    def tail(self) -> str:
        return self.stderr.since(self.stderr_from)

    def receive(self, what: str, deadline: float, stall_at: float = float("inf"), stall: float = 0.0,
                on_timeout: Callable[[float], str] | None = None) -> dict:
        """The next message, waiting at most until `deadline` (and `stall_at`); checks every quarter second that
        the process is still there (a process whose socket lives on in a grandchild sends no end of file)."""
        __tracebackhide__ = True
        while True:
            try:
                return self.channel.receive(min(deadline + self.extension, stall_at, time.monotonic() + 0.25))
            except TimeoutError:
                now = time.monotonic()
                if now >= deadline + self.extension:
                    grace = self.load.grace(now) if self.load is not None else 0.0
                    if grace:
                        self.extension += grace
                        continue
                    self._timed_out(what, f"did not finish within {self.allowed:.1f} s", self.allowed, on_timeout)
                if now >= stall_at:
                    self._timed_out(what, f"made no progress for {stall:.1f} s (after {self.progress_count:,} ids, "
                                          f"{now - self.started:.1f} s in)", stall, on_timeout)
                if not self.alive:
                    self._died(what)
            except (EOFError, OSError):
                self._died(what)
            except ProtocolError as e:
                self.kill()
                raise WorkerCrashed(f"{what}: the worker sent something that is not a reply ({e}); it was stopped") \
                    from None

    def _over_cap(self, total: int) -> None:
        """From the sampler's thread: the tree holds more than its cap. Stop all of it (the zygote too: what holds
        the memory may have been started at import); the waiting call then reports it."""
        self.dead_reason = f"stopped: its processes held {mb(total)} together"
        self.tree.kill()

    def _timed_out(self, what: str, how: str, seconds: float, advice: Callable[[float], str] | None) -> None:
        __tracebackhide__ = True
        self.kill()
        self.dead_reason = f"stopped: {how}"
        busy = self.load.describe(time.monotonic()) if self.load is not None else ""
        extra = "".join("\n" + line for line in (busy, advice(seconds) if advice is not None else "") if line)
        raise WorkerTimeout(f"{what} {how}; the worker was stopped.{extra}{self.tail()}", seconds)

    def _died(self, what: str) -> None:
        __tracebackhide__ = True
        code = self.exit_code()
        self.kill()
        time.sleep(0.05)  # let the stderr reader catch the last words
        if self.sampler.over_cap is not None:
            self.dead_reason = "stopped: over the memory cap of its process tree"
            raise WorkerCrashed(
                f"{what}: the worker and the processes it started held {mb(self.sampler.over_cap)} of memory "
                f"together, over the cap of {mb(self.tree_cap)} for the whole process tree; all of them were "
                f"stopped. Usual cause: keeping every occurrence instead of counts, or a pool whose every process "
                f"holds a copy of the whole input.{self.tail()}")
        if code is None:
            how = "closed its channel"
        elif code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            how = f"was killed by signal {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
        else:
            how = f"exited with code {code}"
        self.dead_reason = how
        raise WorkerCrashed(f"{what}: the worker process {how} before replying.{self.tail()}")

    @property
    def alive(self) -> bool:
        try:
            return self.dead_reason is None and self.ps.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def kill(self) -> None:
        """Stop the process and every process of the tree below it (the zygote: the whole tree)."""
        self.sampler.close()
        self.channel.close()
        self.dead_reason = self.dead_reason or "stopped"
        self.tree.kill(below=self.below())

    def below(self) -> int | None:
        """Whose processes kill() ends: this one's and all it started (None: the whole tree)."""
        return self.pid

    def expect(self, message: dict, event: str) -> dict:
        if message.get("event") != event:
            self.kill()
            raise WorkerCrashed(f"protocol error: expected {event!r}, got {str(message)[:200]}")
        return message

    def control(self, op: str, args: dict, event: str) -> dict:
        """A process-control request (fork, reap): not measured, short timeout."""
        __tracebackhide__ = True
        self.started, self.allowed, self.progress_count = time.monotonic(), CONTROL_TIMEOUT, 0
        self.send({"op": op, "args": args})
        return self.expect(self.receive(op, self.started + CONTROL_TIMEOUT), event)

    def call(self, what: str, op: str, args: dict, timeout: float, stall: float | None = None,
             on_progress: Callable[[Progress], None] | None = None,
             advice: Callable[[float], str] | None = None, on_ids: Callable[[bytes], None] | None = None,
             decode: Callable[[Any], Any] | None = None) -> Call:
        """Run one operation; the measured Call, its value the reply (through `decode`, if given; a "profile" in the
        reply becomes the Call's profile). Raises the implementation's exception, rebuilt.

        Stopped (WorkerTimeout) after `timeout` seconds, or after `stall` seconds without a progress report
        (streaming operations send one about every half second while ids keep coming)."""
        __tracebackhide__ = True
        if not self.alive:
            raise WorkerCrashed(f"{what}: the worker is no longer running ({self.dead_reason})")
        self.started, self.allowed, self.progress_count = time.monotonic(), timeout, 0
        self.stderr_from = self.stderr.total
        self.load, self.extension = None, 0.0
        deadline = self.started + timeout
        self.send({"op": op, "args": args})
        self.expect(self.receive(what, deadline, on_timeout=advice), "start")
        sampler = self.sampler
        sampler.begin(on_progress)
        self.load = LoadWatch.start(timeout, self.tree.cpu, self.started)
        t0 = time.perf_counter()
        self.send({"go": True})
        try:
            while True:
                stall_at = time.monotonic() + stall if stall else float("inf")
                done = self.receive(what, deadline, stall_at, stall or 0.0, advice)
                if done.get("event") not in ("progress", "ids"):
                    break
                self.progress_count = sampler.count = done["count"]
                if done["event"] == "ids" and on_ids is not None:
                    on_ids(done["ids"])
            self.expect(done, "done")
        finally:
            wall = time.perf_counter() - t0
            cost = sampler.finish()
        reply = self.expect(self.receive(what, deadline, on_timeout=advice), "result")
        if not reply["ok"]:
            raise rebuild_exception(reply["error"])
        profile = reply["value"].get("profile") if op == "train" else None
        value = reply["value"] if decode is None else decode(reply["value"])
        return Call(what, value, wall, cost["cpu"], cost["peak"], done.get("os_peak"), done.get("os_source"),
                    sampler.samples, cost["children_peak"], cost["processes"], cost["tree_peak"], cost["allowance"],
                    profile=profile)


class Zygote(Endpoint):
    """The worker process itself: imports the implementation once, forks a child per test."""

    def __init__(self, spec: ImplSpec | None, sandbox=None, cap: int = DEFAULT_CAP, timeout: float = START_TIMEOUT):
        ours, theirs = socket.socketpair()
        env = dict(os.environ, **{WORKER_SYS_PATH: json.dumps([p for p in sys.path if p and os.path.isdir(p)])})
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        options: dict[str, Any] = {"cwd": ROOT, "env": env, "start_new_session": True}
        uid = None
        if sandbox is not None:
            options = sandbox.popen_kwargs(options)
            uid = sandbox.last_uid
        command = [sys.executable, "-m", "bpe_harness.isolation.server", "--channel-fd", str(theirs.fileno())]
        if spec is not None:
            command += ["--spec", json.dumps(spec.to_json())]
        become_subreaper()  # orphans of the worker's tree come back to this process, where the tree finds them
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, pass_fds=[theirs.fileno()], **options)
        theirs.close()
        tree = Tree(self.proc.pid, None if uid is None else frozenset({uid}))
        tree_cap = sandbox.tree_memory if sandbox is not None else default_tree_cap()
        super().__init__(ours, self.proc.pid, StderrTail(self.proc.stderr), cap, tree, tree_cap)
        self.started, self.allowed, self.progress_count = time.monotonic(), timeout, 0
        ready = self.receive("starting the worker (importing the implementation)", self.started + timeout)
        if ready.get("event") == "fatal":
            self.kill()
            raise rebuild_exception(ready["error"])
        self.expect(ready, "ready")
        self.import_cpu = self.tree.cpu(self.tree.scan())  # its whole tree's CPU until ready: start-up and import

    def exit_code(self) -> int | None:
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def below(self) -> None:
        return None  # the whole tree: helpers started at import and orphans too

    def kill(self) -> None:
        super().kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        self.tree.reap()  # its children, now the harness's (subreaper): reaped, so no zombie is left
        # stderr is not closed here: its reader thread may be blocked on it (a grandchild that outlived us can hold
        # the pipe open), and closing a pipe under a blocked reader can hang; the reader closes it at end of file.

    def fork(self) -> Child:
        ours, theirs = socket.socketpair()
        try:
            self.control("fork", {}, "send-fd")
            self.channel.send_fd(theirs.fileno())
        finally:
            theirs.close()
        forked = self.expect(self.receive("fork", time.monotonic() + CONTROL_TIMEOUT), "forked")
        child = Child(ours, forked["pid"], self)
        child.started, child.allowed = time.monotonic(), CONTROL_TIMEOUT
        child.expect(child.receive("starting a fresh worker", time.monotonic() + CONTROL_TIMEOUT), "ready")
        return child

    def reap(self, pid: int) -> int | None:
        return self.control("reap", {"pid": pid}, "reaped")["code"]


class Child(Endpoint):
    """A fork of the zygote serving one test on a socket of its own."""

    def __init__(self, sock: socket.socket, pid: int, zygote: Zygote):
        self.zygote, self._code, self._reaped = zygote, None, False
        super().__init__(sock, pid, zygote.stderr, zygote.channel.cap, zygote.tree, zygote.tree_cap,
                         exclude={zygote.pid})

    def _reap(self) -> int | None:
        if not self._reaped and self.zygote.alive:
            self._reaped = True
            with contextlib.suppress(WorkerFailure):
                self._code = self.zygote.reap(self.pid)
        return self._code

    def exit_code(self) -> int | None:
        return self._reap()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)  # its process group: whatever it started and did not move out
        super().kill()
        self._reap()

    def end(self) -> None:
        """Done with this child: kill it with everything it started. The zygote reaps it at its next fork."""
        self.dead_reason = self.dead_reason or "ended"
        self._reaped = True
        self.kill()


# --- what tests and tools hold ---------------------------------------------------------------------------------


def _describe_path(path) -> str:
    size = os.path.getsize(path) if os.path.exists(path) else None
    return f"{Path(path).name!r}" + (f" ({size / 1e3:,.0f} KB)" if size is not None else " (missing)")


def _content_digest(vocab: dict, merges: list) -> str:
    return hashlib.sha256(encode_frame({"v": Vocab(vocab), "m": Merges(merges)})).hexdigest()


class Client:
    """An implementation (an --impl value) behind a worker process; use as a context manager.

    budget: optional callable (op, facts) -> (seconds, advice) giving each call's time limit when the caller gives
    none (see bpe_harness.limits.CallBudget); sandbox: optional object with popen_kwargs(options) -> options, which
    adjusts how the worker is started (user, environment, limits); fork=False: calls run in the worker process
    itself, which `reset()` replaces (memory tests use this, so no earlier state shows up in their figures).
    """

    def __init__(self, impl: str | ImplSpec = "student", *, budget=None, sandbox=None, fork: bool = CAN_FORK,
                 cap: int = DEFAULT_CAP):
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

    def call(self, endpoint: Endpoint, what: str, op: str, args: dict, facts: dict, timeout: float | None,
             **options) -> Call:
        __tracebackhide__ = True
        seconds, advice = self._timeout(op, facts, timeout)
        try:
            self.last = endpoint.call(what, op, args, seconds, advice=advice, **options)
        except WorkerFailure:
            if endpoint is self.zygote:
                self.zygote = None
            if endpoint is self.child:
                self.child = None
            raise
        return self.last

    # --- the adapter contract --------------------------------------------------------------------------------

    def train(self, input_path, vocab_size: int, special_tokens: list[str], *, timeout: float | None = None,
              on_progress: Callable[[Progress], None] | None = None, profile: bool = False, **kwargs):
        """run_train_bpe in the worker: (vocab, merges); `self.last` has the measurements (and, with profile=True,
        `self.last.profile`: the top functions by cumulative time, from cProfile in the worker)."""
        __tracebackhide__ = True
        specials = list(special_tokens)
        what = f"run_train_bpe({_describe_path(input_path)}, vocab_size={vocab_size}, special_tokens={specials!r})"
        args = {"input_path": os.fspath(input_path), "vocab_size": vocab_size, "special_tokens": specials,
                "kwargs": kwargs, "profile": profile}
        size = os.path.getsize(input_path) if os.path.exists(input_path) else 0
        facts = {"bytes": size, "vocab_size": vocab_size, "specials": len(specials)}
        call = self.call(self.endpoint(), what, "train", args, facts, timeout, on_progress=on_progress,
                         decode=lambda v: (v["vocab"], v["merges"]))
        return call.value

    def tokenizer(self, vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]], special_tokens=None, *,
                  pattern: str | None = None, timeout: float | None = None) -> RemoteTokenizer:
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
                "leave the caller's objects alone (copy before adding special tokens)")
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
        return self._call(f"encode() of {len(text):,} characters", "encode", {"text": text},
                          {"chars": len(text)}, timeout)

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
        return self._call(what, "encode_iterable", {"source": source, "take": take},
                          {"chars": chars, "take": take}, timeout)

    def encode_iterable_file(self, path, *, expected_blocks=None, head: int = 16, timeout: float | None = None,
                             stall: float | None = None, on_progress: Callable[[Progress], None] | None = None,
                             on_ids: Callable[[bytes], None] | None = None) -> StreamSummary:
        """encode_iterable(open(path)) consumed in the worker; only a StreamSummary comes back (count, sha256, first
        ids, block digests, and the first block that differs from `expected_blocks`), and, given `on_ids`, the ids
        themselves as they come, in batches of packed uint32 (so a caller can write them out in bounded memory).
        Stopped after `timeout` s, or after `stall` s during which no more ids came out."""
        __tracebackhide__ = True
        args = {"path": os.fspath(path), "head": head, "expected_blocks": expected_blocks,
                "send_ids": on_ids is not None}
        def summary(value: dict) -> StreamSummary:
            bad = value["first_bad"]
            return StreamSummary(value["count"], value["sha256"], value["head"], value["blocks"],
                                 None if bad is None else (bad[0], bad[1]))

        return self._call(f"encode_iterable(open({Path(path).name!r})) over {os.path.getsize(path) / 1e6:,.1f} MB",
                          "encode_iterable_file", args, {"chars": os.path.getsize(path)}, timeout,
                          stall=stall, on_progress=on_progress, on_ids=on_ids, decode=summary)


    def encode_range(self, path, start: int, end: int, *, timeout: float | None = None) -> bytes:
        """encode() of bytes start..end of a file, read in the worker (the caller cuts at special tokens, where
        encoding pieces separately changes nothing): the ids as packed little-endian uint32."""
        __tracebackhide__ = True
        return self._call(f"encode() of bytes {start:,}..{end:,} of {Path(path).name!r}", "encode_range",
                          {"path": os.fspath(path), "start": start, "end": end}, {"chars": end - start}, timeout)


def repeat_lines(lines: list[str], max_chars: int, message: str) -> dict:
    """An endless input for encode_iterable: `lines` over and over, built in the worker; it raises AssertionError
    with `message` once it has handed out `max_chars` characters (so an implementation that reads everything before
    yielding fails with that message instead of running forever)."""
    return {"lines": list(lines), "max_chars": max_chars, "message": message}
