"""Run the implementation under test in a separate worker process, and measure each call from the outside.

Why this exists: a memory or speed limit is only trustworthy if the code under test cannot lift it, hide from it,
or hang the run. So the test process starts a worker (`python -m bpe_harness.worker --impl VALUE`, cwd = repo root),
which loads the implementation with the same `--impl` value as the session, and the test process calls it there:
train, build a tokenizer, encode, decode, encode_iterable over a list of chunks or over a file.

Each call is measured by the test process:
  * time: wall clock, and CPU time of the worker plus its child processes (a pool), from psutil;
  * memory: peak resident memory of the worker above its level just before the call, sampled every few ms by a
    thread here, cross-checked with what the OS itself recorded in the worker (Linux: VmHWM after resetting it
    through /proc/self/clear_refs; macOS: ru_maxrss). Both are reported; a limit uses the larger. Child processes
    (a pool) are not charged, since each pays for its own interpreter; their peak unique memory is reported.
A call that does not finish within its timeout, or a worker that dies, fails that call with a clear message (timed
out after N s / exit code / signal, plus the worker's stderr tail); the worker is killed and replaced on the next call.

Protocol (no pickle anywhere: nothing the implementation produces is ever unpickled here): JSON lines. Requests go
to the worker's stdin; replies come back on a private duplicate of its original stdout, while the worker's fd 1 and
sys.stdout are pointed at stderr, so the implementation's own prints cannot corrupt the channel. Bytes travel as hex,
id lists as base64 of a little-endian uint32 array. For every call the worker says "start", waits for "go" (the
test process takes its baseline in between), runs the call, says "done" (with the OS peak) and then sends the result.
encode_iterable over a file never keeps the ids in the worker: it returns their count, the sha256 of the uint32
stream and the first few ids; given the expected sha256 of each block of BLOCK ids, it also returns the first block
that differs (at most BLOCK ids), so a failure can show where the ids go wrong.
"""

from __future__ import annotations

import base64
import builtins
import collections
import contextlib
import hashlib
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT = 600.0  # seconds; limit tests pass their own, much shorter, calibrated timeouts
START_TIMEOUT = 120.0  # seconds for the worker to import the implementation and say it is ready
STDERR_TAIL = 4000  # characters of the worker's stderr shown when it crashes or hangs
SAMPLE_PERIOD = 0.002  # seconds between RSS samples of the worker
CHILD_SCAN_PERIOD = 0.025  # seconds between scans for (and unique-memory reads of) the worker's child processes
STREAM_BATCH = 8192  # ids taken from encode_iterable at a time when streaming a file (never the whole list)
BLOCK = 1 << 16  # ids per block digest when streaming a file (a multiple of STREAM_BATCH)
PROGRESS_PERIOD = 0.5  # seconds between progress reports while streaming
MEMORY_PLATFORMS = ("linux", "darwin")


# --- encoding of values on the wire ------------------------------------------------------------------------------


def pack_ids(ids) -> str:
    """Base64 of a little-endian uint32 array."""
    arr = array("I", ids)
    if sys.byteorder == "big":
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


def unpack_ids(text: str) -> list[int]:
    arr = array("I")
    arr.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tolist()


def ids_bytes(ids) -> bytes:
    """Ids as little-endian uint32: the byte stream both sides hash. TypeError/OverflowError if one is not an id."""
    arr = array("I", ids)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tobytes()


def block_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class StreamDigest:
    """Count, sha256 and per-block digests of an id stream fed in batches; keeps only one block of ids at a time.

    With `expected` block digests, the ids of the first block that differs are kept (`first_bad`)."""

    def __init__(self, expected: list[str] | None = None, head: int = 16):
        self.total, self.count, self.head_size = hashlib.sha256(), 0, head
        self.head: list[int] = []
        self.blocks: list[str] = []
        self.expected = expected
        self.pending = bytearray()
        self.first_bad: tuple[int, list[int]] | None = None

    def update(self, ids: list[int], data: bytes) -> None:
        self.total.update(data)
        if len(self.head) < self.head_size:
            self.head += [int(x) for x in ids[: self.head_size - len(self.head)]]
        self.count += len(ids)
        self.pending += data
        while len(self.pending) >= 4 * BLOCK:
            self._close_block(bytes(self.pending[: 4 * BLOCK]))
            del self.pending[: 4 * BLOCK]

    def _close_block(self, data: bytes) -> None:
        k = len(self.blocks)
        self.blocks.append(block_digest(data))
        wrong = self.expected is not None and (k >= len(self.expected) or self.expected[k] != self.blocks[-1])
        if wrong and self.first_bad is None:
            arr = array("I")
            arr.frombytes(data)
            if sys.byteorder == "big":
                arr.byteswap()
            self.first_bad = (k, arr.tolist())

    def finish(self) -> dict:
        if self.pending:
            self._close_block(bytes(self.pending))
            self.pending.clear()
        if self.first_bad is None and self.expected is not None and len(self.blocks) < len(self.expected):
            self.first_bad = (len(self.blocks), [])  # the stream stopped before this block
        return {"count": self.count, "sha256": self.total.hexdigest(), "head": self.head, "blocks": self.blocks,
                "first_bad": self.first_bad}


def pack_vocab(vocab: dict[int, bytes]) -> list:
    return [[int(i), bytes(t).hex()] for i, t in vocab.items()]


def unpack_vocab(items: list) -> dict[int, bytes]:
    return {int(i): bytes.fromhex(t) for i, t in items}


def pack_merges(merges) -> list:
    return [[bytes(a).hex(), bytes(b).hex()] for a, b in merges]


def unpack_merges(items: list) -> list[tuple[bytes, bytes]]:
    return [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in items]


# =================================================================================================================
# The worker (child process)
# =================================================================================================================


def calibration_workload(rounds: int = 6) -> int:
    """A fixed pure-Python workload (dict counting over int pairs, list rebuilding, max with a key): the kind of work
    BPE code does. Ints only, so its speed does not depend on the per-process string hash seed."""
    words = [tuple((i * 7919 + j * 104729) % 61 for j in range(2 + i % 7)) for i in range(6000)]
    checksum = 0
    for _ in range(rounds):
        for _ in range(4):
            counts: dict[tuple[int, int], int] = {}
            for word in words:
                for pair in itertools.pairwise(word):
                    counts[pair] = counts.get(pair, 0) + 1
            best = max(counts, key=lambda p: (counts[p], p))
            merged = []
            for word in words:
                out, i = [], 0
                while i < len(word):
                    if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                        out.append(best[0])
                        i += 2
                    else:
                        out.append(word[i])
                        i += 1
                merged.append(tuple(out))
            checksum = (checksum * 31 + len(counts) + best[0] * 61 + best[1]) % 1_000_003
        checksum += sum(map(len, merged))
    return checksum


class _OsPeak:
    """The worker's own record of its peak memory: reset before a call where the OS allows, read after it."""

    def __init__(self):
        self.source = None

    def before(self) -> None:
        self.rss_before = self._current_rss()
        if sys.platform.startswith("linux"):
            try:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")  # resets VmHWM to the current RSS
                self.source = "VmHWM"
            except OSError:
                self.source = None
        elif sys.platform == "darwin":
            import resource

            # ru_maxrss (bytes on macOS) cannot be reset; meaningful only if no earlier peak was higher
            self.maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.source = "ru_maxrss"

    def after(self) -> int | None:
        """Peak bytes above the RSS just before the call, or None when the OS gives no usable figure."""
        if self.source == "VmHWM":
            return max(0, _proc_status_kb("VmHWM") * 1024 - self.rss_before)
        if self.source == "ru_maxrss":
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if peak <= self.maxrss_before:  # the lifetime peak predates the call: no information about this call
                return 0
            return max(0, peak - self.rss_before)
        return None

    @staticmethod
    def _current_rss() -> int:
        if sys.platform.startswith("linux"):
            return _proc_status_kb("VmRSS") * 1024
        try:
            return psutil.Process().memory_info().rss
        except (psutil.Error, OSError):
            return 0


def _proc_status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class _Server:
    """The worker's side: reads requests, calls the implementation through `Implementation`'s checked methods."""

    def __init__(self, requests, channel, value: str):
        self.requests, self.channel = requests, channel
        self.tokenizers: dict[int, Any] = {}
        from bpe_harness.impl import Implementation, load_adapters

        label, module = load_adapters(value)
        self.impl = Implementation(label, module, value)

    def send(self, message: dict) -> None:
        self.channel.write(json.dumps(message).encode("utf-8") + b"\n")
        self.channel.flush()

    def serve(self) -> None:
        self.send({"event": "ready", "pid": os.getpid(), "label": self.impl.label})
        for line in self.requests:
            request = json.loads(line)
            self.handle(request["op"], request.get("args", {}))

    def handle(self, op: str, args: dict) -> None:
        method = getattr(self, "op_" + op, None)
        peak = _OsPeak()
        self.send({"event": "start"})
        if json.loads(self.requests.readline()).get("go") is not True:
            raise SystemExit("protocol error: expected go")
        peak.before()
        try:
            if method is None:
                raise ValueError(f"unknown worker operation {op!r}")
            finish = method(**args)  # the measured part; returns how to build the reply
        except BaseException as e:  # noqa: BLE001 - everything goes back to the test process
            self.send({"event": "done", "os_peak": peak.after(), "os_source": peak.source})
            self.send({"event": "result", "ok": False, "error": _describe_exception(e)})
            return
        self.send({"event": "done", "os_peak": peak.after(), "os_source": peak.source})
        try:
            self.send({"event": "result", "ok": True, "value": finish()})
        except BaseException as e:  # noqa: BLE001
            self.send({"event": "result", "ok": False, "error": _describe_exception(e)})

    # --- operations: each does the measured work, then returns a function building the (unmeasured) reply --------

    def op_ping(self):
        return lambda: "pong"

    def op_calibrate(self, rounds: int = 6):
        checksum = calibration_workload(rounds)
        return lambda: checksum

    def op_train(self, input_path: str, vocab_size: int, special_tokens: list[str], kwargs: dict):
        vocab, merges = self.impl.train(input_path, vocab_size, special_tokens, **kwargs)
        return lambda: {"vocab": pack_vocab(vocab), "merges": pack_merges(merges)}

    def op_tokenizer(self, vocab: list, merges: list, special_tokens, pattern):
        tok = self.impl.tokenizer(unpack_vocab(vocab), unpack_merges(merges), special_tokens, pattern)
        handle = len(self.tokenizers) + 1
        self.tokenizers[handle] = tok
        return lambda: handle

    def op_encode(self, handle: int, text: str):
        ids = self.tokenizers[handle].encode(text)
        return lambda: pack_ids(ids)

    def op_decode(self, handle: int, ids: str):
        text = self.tokenizers[handle].decode(unpack_ids(ids))
        return lambda: text

    def op_encode_iterable(self, handle: int, chunks: list[str]):
        ids = self.tokenizers[handle].encode_iterable(iter(chunks))
        return lambda: pack_ids(ids)

    def op_encode_iterable_file(self, handle: int, path: str, head: int = 16, expected_blocks=None):
        """Consume encode_iterable(open file) a batch at a time, keeping only digests, the first ids and (given the
        expected block digests) the first block that differs."""
        from bpe_harness.impl import check_ids

        digest = StreamDigest(expected_blocks, head)
        next_report = time.monotonic() + PROGRESS_PERIOD
        with open(path, encoding="utf-8", newline="") as f:
            stream = self.tokenizers[handle].raw.encode_iterable(f)
            if isinstance(stream, (str, bytes)) or not hasattr(stream, "__iter__"):
                raise AssertionError(f"encode_iterable() returned {type(stream).__name__}; expected an iterable of ids")
            stream = iter(stream)
            while batch := list(itertools.islice(stream, STREAM_BATCH)):
                try:
                    data = ids_bytes(batch)
                except (TypeError, OverflowError):
                    check_ids(batch, f"encode_iterable() (ids {digest.count}..{digest.count + len(batch)})")
                    raise AssertionError(f"encode_iterable() yielded an id outside 0..2**32-1 near {digest.count}")
                digest.update(batch, data)
                if time.monotonic() >= next_report:
                    self.send({"event": "progress", "count": digest.count})
                    next_report = time.monotonic() + PROGRESS_PERIOD
        result = digest.finish()
        return lambda: result


def _describe_exception(e: BaseException) -> dict:
    return {"type": type(e).__name__, "module": type(e).__module__, "message": str(e), "traceback": _traceback(e)}


def _traceback(e: BaseException) -> str:
    """The exception's traceback without the harness's own leading frames (the worker loop, the type checks)."""
    frames = traceback.extract_tb(e.__traceback__)
    harness = str(Path(__file__).resolve().parent)
    first = next((i for i, f in enumerate(frames) if not f.filename.startswith(harness)), 0)
    return "".join(["Traceback (most recent call last):\n", *traceback.format_list(frames[first:]),
                    *traceback.format_exception_only(type(e), e)])


def _private_channels():
    """(requests, replies): private copies of stdin/stdout. fd 0 becomes /dev/null and fd 1 a copy of stderr, so
    the implementation's prints (Python or C level) go to stderr, never into the channel."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the worker
    return requests, replies


def _exit_when_orphaned() -> None:
    """Stop if the test process goes away without stopping us (killed, crashed)."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bpe_harness.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--impl", required=True, help="the same --impl value as the test session")
    args = parser.parse_args(argv)
    for path in json.loads(os.environ.get("CS336_WORKER_SYS_PATH", "[]")):
        if path not in sys.path:
            sys.path.append(path)
    requests, replies = _private_channels()
    _exit_when_orphaned()
    try:
        server = _Server(requests, replies, args.impl)
    except BaseException as e:  # noqa: BLE001
        replies.write(json.dumps({"event": "fatal", "error": _describe_exception(e)}).encode() + b"\n")
        replies.flush()
        return 2
    server.serve()
    return 0


# =================================================================================================================
# The test process's side
# =================================================================================================================


class WorkerFailure(AssertionError):
    """The call did not complete: the worker hung (timed out) or died. The worker has been stopped."""


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

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "traceback in the worker process:\n" + self.text


def rebuild_exception(error: dict) -> BaseException:
    """The worker's exception as one of the same builtin type and message (so a stub's NotImplementedError stays a
    NotImplementedError with its pointer), with the worker's traceback chained as its cause."""
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
class Call:
    """A finished call: its value and what it cost, measured from the test process."""

    what: str
    value: Any
    wall_s: float
    cpu_s: float  # worker + its child processes
    peak_sampled: int | None  # worker RSS: bytes above the pre-call level, sampled from here
    peak_os: int | None  # the same, as the worker's OS recorded it (None: not available)
    os_source: str | None
    samples: int = 0
    children_peak: int = 0  # unique memory of the worker's child processes (a pool), for information only

    @property
    def seconds(self) -> float:
        """Time charged against a speed limit: CPU time for a serial call (robust to other load on the machine),
        wall time when the call used several cores at once (a pool gets credit for its parallelism)."""
        return min(self.wall_s, self.cpu_s) if self.cpu_s > 0 else self.wall_s

    @property
    def peak_bytes(self) -> int:
        """The larger of the sampled and the OS-recorded peak (above the pre-call level)."""
        return max(self.peak_sampled or 0, self.peak_os or 0)

    def describe_memory(self) -> str:
        os_part = f"{mb(self.peak_os)} by {self.os_source}" if self.peak_os is not None else "no OS figure"
        kids = f"; child processes, not charged: {mb(self.children_peak)}" if self.children_peak else ""
        return f"sampled {mb(self.peak_sampled or 0)} in {self.samples} samples, {os_part}{kids}"


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


@dataclass
class StreamSummary:
    """What encode_iterable over a file produced, without the ids themselves."""

    count: int
    sha256: str
    head: list[int]
    blocks: list[str]  # block_digest of each BLOCK ids
    first_bad: tuple[int, list[int]] | None  # (block index, its ids) of the first block not as expected


def _cpu_seconds(proc, kids: dict) -> float:
    """CPU seconds of the worker, its reaped children, and its live descendants (`kids`: pid -> Process)."""
    t = proc.cpu_times()
    total = t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
    for child in list(kids.values()):
        with contextlib.suppress(psutil.Error, OSError):
            c = child.cpu_times()
            total += c.user + c.system
    return total


def _unique_memory(proc) -> int:
    """Memory only this process holds (so a forked pool child is not charged for pages it shares)."""
    try:
        return proc.memory_full_info().uss
    except (psutil.AccessDenied, NotImplementedError):
        try:
            return proc.memory_info().rss
        except (psutil.Error, OSError):
            return 0
    except (psutil.Error, OSError):
        return 0


class _Sampler(threading.Thread):
    """Peak worker RSS, sampled every SAMPLE_PERIOD seconds during a call; and, for information, the peak of the
    unique memory its child processes hold together."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc, self.stop_event = proc, threading.Event()
        self.kids: dict[int, Any] = {}
        self.kid_memory = 0
        self.scan_children()
        self.kid_baseline = self.kid_peak = self.kid_memory
        self.baseline = self.proc.memory_info().rss
        self.peak, self.samples = self.baseline, 0

    def scan_children(self) -> None:
        try:
            current = {c.pid: c for c in self.proc.children(recursive=True)}
        except (psutil.Error, OSError):
            return
        self.kids = {pid: self.kids.get(pid, c) for pid, c in current.items()}
        self.kid_memory = sum(_unique_memory(c) for c in self.kids.values())
        self.kid_peak = max(getattr(self, "kid_peak", 0), self.kid_memory)

    def run(self) -> None:
        next_scan = time.perf_counter() + CHILD_SCAN_PERIOD
        while not self.stop_event.is_set():
            self.sample()
            if time.perf_counter() >= next_scan:
                self.scan_children()
                next_scan = time.perf_counter() + CHILD_SCAN_PERIOD
            self.stop_event.wait(SAMPLE_PERIOD)

    def sample(self) -> None:
        try:
            rss = self.proc.memory_info().rss
        except (psutil.Error, OSError):
            return
        self.samples += 1
        self.peak = max(self.peak, rss)

    def finish(self) -> tuple[int, int]:
        """(worker peak above baseline, children's peak unique memory above theirs)."""
        self.stop_event.set()
        self.join()
        self.sample()
        return max(0, self.peak - self.baseline), max(0, self.kid_peak - self.kid_baseline)


class Worker:
    """One worker process and the channel to it. Not thread-safe; one call at a time."""

    generation = itertools.count(1)

    def __init__(self, impl_value: str, sandbox=None):
        import psutil

        self.id = next(Worker.generation)
        env = dict(os.environ, CS336_WORKER_SYS_PATH=json.dumps([p for p in sys.path if p and os.path.isdir(p)]))
        options = {"cwd": ROOT, "env": env}
        if sandbox is not None:
            options = sandbox.popen_kwargs(options)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bpe_harness.worker", "--impl", impl_value],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **options,
        )
        self.ps = psutil.Process(self.proc.pid)
        self.replies: queue.Queue = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque()
        self._stderr_size = 0
        self.dead_reason: str | None = None
        self._started = time.monotonic()
        threading.Thread(target=self._read_replies, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        ready = self._receive("starting the worker", time.monotonic() + START_TIMEOUT)
        if ready["event"] == "fatal":
            self.kill()
            raise rebuild_exception(ready["error"])
        self.label = ready["label"]

    # --- plumbing ----------------------------------------------------------------------------------------------

    def _read_replies(self) -> None:
        for line in self.proc.stdout:
            try:
                self.replies.put(json.loads(line))
            except ValueError:
                self.replies.put({"event": "garbage", "line": line[:200].decode("utf-8", "replace")})
        self.replies.put(None)

    def _read_stderr(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
            text = chunk.decode("utf-8", "replace")
            self.stderr_tail.append(text)
            self._stderr_size += len(text)
            while self._stderr_size - len(self.stderr_tail[0]) > STDERR_TAIL and len(self.stderr_tail) > 1:
                self._stderr_size -= len(self.stderr_tail.popleft())

    def tail(self) -> str:
        text = "".join(self.stderr_tail)[-STDERR_TAIL:].rstrip()
        return ("\n--- worker stderr (last lines) ---\n" + text) if text else "\n(the worker wrote nothing to stderr)"

    def _send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker is gone; _receive reports how it ended

    def _receive(self, what: str, deadline: float, stall_at: float = float("inf")) -> dict:
        __tracebackhide__ = True
        while True:
            try:
                message = self.replies.get(timeout=min(0.1, max(0.0, min(deadline, stall_at) - time.monotonic())))
            except queue.Empty:
                if self.proc.poll() is not None and self.replies.empty():
                    self._died(what)
                if time.monotonic() >= deadline:
                    self._timed_out(what, f"did not finish within {deadline - self._started:.1f} s",
                                    deadline - self._started)
                if time.monotonic() >= stall_at:
                    self._timed_out(what, f"made no progress for {self._stall:.1f} s (after {self._progress:,} ids, "
                                          f"{time.monotonic() - self._started:.1f} s in)", self._stall)
                continue
            if message is None:
                self._died(what)
            if message.get("event") == "garbage":
                self.kill()
                raise WorkerCrashed(f"{what}: the worker sent something that is not a reply: {message['line']!r}")
            return message

    def _timed_out(self, what: str, how: str, seconds: float) -> None:
        __tracebackhide__ = True
        self.kill()
        self.dead_reason = f"stopped: {how}"
        raise WorkerTimeout(f"{what} {how}; the worker was stopped.{self.tail()}", seconds)

    def _died(self, what: str) -> None:
        __tracebackhide__ = True
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        time.sleep(0.05)  # let the stderr reader catch the last words
        if code is None:
            how = "closed its channel"
        elif code < 0:
            import signal

            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            how = f"was killed by signal {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
        else:
            how = f"exited with code {code}"
        self.dead_reason = how
        raise WorkerCrashed(f"{what}: the worker process {how} before replying.{self.tail()}")

    @property
    def alive(self) -> bool:
        return self.dead_reason is None and self.proc.poll() is None

    def kill(self) -> None:
        """Stop the worker and every process it started (children first, so none is orphaned)."""
        try:
            family = self.ps.children(recursive=True)
        except (psutil.Error, OSError):
            family = []
        for p in [*family, self.ps]:
            with contextlib.suppress(psutil.Error, OSError):
                p.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(Exception):
                stream.close()
        self.dead_reason = self.dead_reason or "stopped"

    # --- a call ------------------------------------------------------------------------------------------------

    def call(self, what: str, op: str, args: dict, timeout: float = DEFAULT_TIMEOUT,
             stall: float | None = None) -> tuple[Any, Call]:
        """Run one operation in the worker; (decoded value, measurements). Raises the worker's exception, rebuilt.

        The worker is stopped (WorkerTimeout) after `timeout` seconds, or after `stall` seconds without a progress
        report (operations that stream send one about every PROGRESS_PERIOD seconds while ids keep coming)."""
        __tracebackhide__ = True
        if not self.alive:
            raise WorkerCrashed(f"{what}: the worker is no longer running ({self.dead_reason})")
        self._started = time.monotonic()
        deadline = self._started + timeout
        self._send({"op": op, "args": args})
        self._expect(self._receive(what, deadline), "start")
        sampler = _Sampler(self.ps)
        cpu0 = _cpu_seconds(self.ps, sampler.kids)
        sampler.start()
        t0 = time.perf_counter()
        self._send({"go": True})
        try:
            done = self._await_done(what, deadline, stall)
        finally:
            wall = time.perf_counter() - t0
            peak, children_peak = sampler.finish()
        cpu = _cpu_seconds(self.ps, sampler.kids) - cpu0
        reply = self._expect(self._receive(what, deadline), "result")
        measured = Call(what, None, wall, cpu, peak, done.get("os_peak"), done.get("os_source"), sampler.samples,
                        children_peak)
        if not reply["ok"]:
            raise rebuild_exception(reply["error"])
        measured.value = reply["value"]
        return reply["value"], measured

    def _await_done(self, what: str, deadline: float, stall: float | None) -> dict:
        __tracebackhide__ = True
        self._stall, self._progress = stall, 0
        while True:
            stall_at = time.monotonic() + stall if stall else float("inf")
            message = self._receive(what, deadline, stall_at)
            if message.get("event") != "progress":
                return self._expect(message, "done")
            self._progress = message["count"]

    def _expect(self, message: dict, event: str) -> dict:
        if message.get("event") != event:
            self.kill()
            raise WorkerCrashed(f"protocol error: expected {event!r}, got {message!r}")
        return message


# --- what tests hold --------------------------------------------------------------------------------------------


@dataclass
class WorkerPool:
    """The workers of one session: a shared one reused across tests, plus dedicated ones. All killed at the end."""

    impl_value: str
    shared: Worker | None = None
    all: list[Worker] = field(default_factory=list)
    sandbox: object = None

    def new(self) -> Worker:
        worker = Worker(self.impl_value, self.sandbox)
        self.all.append(worker)
        return worker

    def get_shared(self) -> Worker:
        if self.shared is None or not self.shared.alive:
            self.shared = self.new()
        return self.shared

    def close(self) -> None:
        for worker in self.all:
            worker.kill()
        self.all.clear()
        self.shared = None


class Isolated:
    """The implementation, called in a worker process. From `impl.isolated()`; usable as a context manager.

    fresh=True gives a worker of its own, stopped when the handle is closed (memory tests use one, so nothing from
    earlier calls, and on macOS no earlier lifetime peak, shows up in the figures); otherwise the session's shared
    worker is used, and replaced if it hangs or crashes.
    """

    def __init__(self, pool: WorkerPool, fresh: bool = False):
        self.pool, self.fresh = pool, fresh
        self._own: Worker | None = None

    def worker(self) -> Worker:
        if not self.fresh:
            return self.pool.get_shared()
        if self._own is None or not self._own.alive:
            self._own = self.pool.new()
        return self._own

    def close(self) -> None:
        if self._own is not None:
            self._own.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def ping(self, timeout: float = DEFAULT_TIMEOUT) -> Call:
        return self.worker().call("ping", "ping", {}, timeout)[1]

    def calibrate(self, rounds: int = 6, timeout: float = DEFAULT_TIMEOUT) -> Call:
        return self.worker().call("calibration workload", "calibrate", {"rounds": rounds}, timeout)[1]

    def train(self, input_path, vocab_size: int, special_tokens: list[str], *, timeout=DEFAULT_TIMEOUT, **kwargs):
        """Call with value (vocab, merges)."""
        __tracebackhide__ = True
        args = {"input_path": os.fspath(input_path), "vocab_size": vocab_size,
                "special_tokens": list(special_tokens), "kwargs": kwargs}
        value, call = self.worker().call("run_train_bpe()", "train", args, timeout)
        call.value = (unpack_vocab(value["vocab"]), unpack_merges(value["merges"]))
        return call

    def tokenizer(self, vocab, merges, special_tokens=None, pattern=None, *, timeout=DEFAULT_TIMEOUT):
        __tracebackhide__ = True
        worker = self.worker()
        args = {"vocab": pack_vocab(vocab), "merges": pack_merges(merges),
                "special_tokens": None if special_tokens is None else list(special_tokens), "pattern": pattern}
        handle, call = worker.call("get_tokenizer()", "tokenizer", args, timeout)
        return RemoteTokenizer(worker, handle, call)


class RemoteTokenizer:
    """A tokenizer living in a worker. Each method returns a `Call` whose value is the (checked) result."""

    def __init__(self, worker: Worker, handle: int, built: Call):
        self.worker, self.handle, self.built = worker, handle, built

    def _call(self, what, op, args, timeout, stall=None) -> tuple[Any, Call]:
        __tracebackhide__ = True
        if not self.worker.alive:
            raise WorkerCrashed(f"{what}: this tokenizer's worker is no longer running ({self.worker.dead_reason})")
        return self.worker.call(what, op, {"handle": self.handle, **args}, timeout, stall)

    def encode(self, text: str, *, timeout=DEFAULT_TIMEOUT) -> Call:
        __tracebackhide__ = True
        value, call = self._call("encode()", "encode", {"text": text}, timeout)
        call.value = unpack_ids(value)
        return call

    def decode(self, ids, *, timeout=DEFAULT_TIMEOUT) -> Call:
        __tracebackhide__ = True
        return self._call("decode()", "decode", {"ids": pack_ids(ids)}, timeout)[1]

    def encode_iterable(self, chunks, *, timeout=DEFAULT_TIMEOUT) -> Call:
        __tracebackhide__ = True
        value, call = self._call("encode_iterable()", "encode_iterable", {"chunks": list(chunks)}, timeout)
        call.value = unpack_ids(value)
        return call

    def encode_iterable_file(self, path, *, expected_blocks=None, head: int = 16, timeout=DEFAULT_TIMEOUT,
                             stall: float | None = None) -> Call:
        """encode_iterable(open(path)) consumed in the worker; value is a StreamSummary (count, sha256, first ids,
        block digests, and the first block that differs from `expected_blocks`). Stopped after `timeout` s, or after
        `stall` s during which not one more batch of STREAM_BATCH ids came out."""
        __tracebackhide__ = True
        args = {"path": os.fspath(path), "head": head, "expected_blocks": expected_blocks}
        value, call = self._call("encode_iterable(open file)", "encode_iterable_file", args, timeout, stall)
        bad = value["first_bad"]
        call.value = StreamSummary(value["count"], value["sha256"], value["head"], value["blocks"],
                                   None if bad is None else (bad[0], bad[1]))
        return call


def memory_unsupported_reason() -> str | None:
    """Why memory cannot be measured on this system, or None when it can."""
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        return None
    return f"memory limits are measured on Linux and macOS only (this is {sys.platform})"


if __name__ == "__main__":
    sys.exit(main())
