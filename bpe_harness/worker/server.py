"""Runs inside the worker process: loads the implementation once, then answers calls from the harness.

    python -m bpe_harness.worker.server --channel-fd N [--spec JSON]     (started by the client, never by hand)

Without --spec it loads nothing and only runs the calibration workload: the unit of every time limit is measured in a
process the code under test never touches.

The channel is a Unix socket (fd N). fd 0 is /dev/null and fd 1 a copy of stderr, so the implementation's prints, at
Python or C level, go to stderr and never into the channel. The process is a zygote: `fork` makes a child that
serves one test on a socket of its own, starting from the state right after import (and after any tokenizer built
here with `prepare`), and is thrown away after the test. A child that hangs or dies takes only its own socket with
it.

Every call of the implementation follows the same steps, so the harness can take its baseline in between: the
worker says "start", waits for "go", runs the call, says "done" (with the OS peak memory and children's CPU) and then
sends the result, built outside the measured part.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import inspect
import itertools
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from bpe_harness.protocol import (
    WORKER_CPUS,
    WORKER_NPROC,
    WORKER_SYS_PATH,
    Channel,
    Ids,
    ImplError,
    ImplSpec,
    Merges,
    StreamDigest,
    Vocab,
    pack_ids,
)
from bpe_harness.worker import allowed_imports, loading, where_stopped
from bpe_harness.worker import child_environment as worker_environment
from bpe_harness.worker.result_checks import check_ids, check_text, check_training_result
from bpe_harness.worker.self_measure import OsPeak, calibration_workload, profile_call

STREAM_BATCH = 1024  # ids taken from encode_iterable at a time when digesting a stream
SEND_BATCH = 1 << 16  # ids per "ids" event when a stream's ids are sent on
PROGRESS_PERIOD = 0.5  # seconds between progress reports while streaming
HARNESS = str(Path(__file__).resolve().parent.parent)

Finish = Callable[[], object]  # what a measured operation returns: builds the reply once the measurement is over


def describe_exception(e: BaseException) -> dict:
    message = str(e)
    if isinstance(e, OSError) and e.errno == errno.EAGAIN and os.environ.get(WORKER_NPROC):
        message += (
            f"\n(This is most likely the sandbox's process limit: your code may run "
            f"{os.environ[WORKER_NPROC]} processes and threads at once, and os.cpu_count() says "
            f"{os.cpu_count()} here. Size a pool by os.cpu_count(), and shut it down when you are done.)"
        )
    return {
        "type": type(e).__name__,
        "module": type(e).__module__,
        "message": message,
        "traceback": _traceback(e),
        "usage": isinstance(e, ImplError),
    }


def _traceback(e: BaseException) -> str:
    """The exception's traceback without the harness's own leading frames (the server loop, the type checks)."""
    frames = traceback.extract_tb(e.__traceback__)
    first = next((i for i, f in enumerate(frames) if not f.filename.startswith(HARNESS)), len(frames))
    return "".join(
        [
            "Traceback (most recent call last):\n",
            *traceback.format_list(frames[first:]),
            *traceback.format_exception_only(type(e), e),
        ]
    )


class Repeat:
    """The lines given, over and over, as an endless iterable of chunks; fails once it has handed out max_chars."""

    def __init__(self, lines: list[str], max_chars: int, message: str):
        self.lines, self.max_chars, self.message = lines, max_chars, message

    def __iter__(self) -> Iterator[str]:
        handed = 0
        for line in itertools.cycle(self.lines):
            handed += len(line)
            if handed > self.max_chars:
                raise AssertionError(self.message)
            yield line


class Server:
    def __init__(self, channel: Channel, module: ModuleType | None):
        self.channel, self.module = channel, module  # module: None in a worker started for calibration only
        self.tokenizers: dict[int, Any] = {}  # whatever get_tokenizer returned; what its methods return is checked
        self.prepared: dict[str, int] = {}  # content key -> handle of a tokenizer built before forking
        self.handles = itertools.count(1)
        self.is_child = False

    def send(self, message: dict) -> None:
        self.channel.send(message)

    def serve(self) -> None:
        self.send({"event": "ready", "pid": os.getpid()})
        while True:
            try:
                request = self.channel.receive()
            except EOFError:
                return
            op, args = request["op"], request.get("args", {})
            control = getattr(self, "control_" + op, None)
            if control is not None:
                control(**args)
            else:
                self.measured(op, args)

    # --- process control (not measured) ----------------------------------------------------------------------------

    def control_fork(self) -> None:
        """Fork a child that serves one test on the socket the harness passes next."""
        self.send({"event": "send-fd"})
        fd = self.channel.receive_fd()
        _reap_finished_children()
        gc.freeze()  # what exists now is never collected in a child: its garbage collector does not touch those pages
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)  # a process group of its own: ending the test ends whatever it started, in one call
            self.channel.close()
            self.channel, self.is_child = Channel(socket.socket(fileno=fd)), True
            _exit_when_orphaned()
            self.send({"event": "ready", "pid": os.getpid()})
            return
        os.close(fd)
        self.send({"event": "forked", "pid": pid})

    def control_reap(self, pid: int) -> None:
        """Wait for a child that ended (or was killed) and say how it ended."""
        code = _exit_codes.pop(pid, None)
        if code is not None:
            self.send({"event": "reaped", "code": code})
            return
        self._reap(pid)

    def _reap(self, pid: int) -> None:
        try:
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            code = None
        self.send({"event": "reaped", "code": code})

    def control_exit(self) -> None:
        sys.stderr.flush()
        os._exit(0)

    # --- measured calls ------------------------------------------------------------------------------------------

    def measured(self, op: str, args: dict) -> None:
        method = getattr(self, "op_" + op, None)
        peak = OsPeak()
        self.send({"event": "start"})
        if self.channel.receive().get("go") is not True:
            raise SystemExit("protocol error: expected go")
        peak.before()
        try:
            if method is None:
                raise ValueError(f"unknown worker operation {op!r}")
            finish = method(**args)  # the measured part; returns how to build the reply
        except BaseException as e:  # everything goes back to the harness
            self.send({"event": "done", **peak.after()})
            self.send({"event": "result", "ok": False, "error": describe_exception(e)})
            if isinstance(e, (SystemExit, KeyboardInterrupt)) and self.is_child:
                self.control_exit()
            return
        self.send({"event": "done", **peak.after()})
        try:
            self.send({"event": "result", "ok": True, "value": finish()})
        except (TypeError, OverflowError, ValueError) as e:
            self.send({"event": "result", "ok": False, "error": describe_exception(e)})

    def _implementation(self) -> ModuleType:
        if self.module is None:
            raise ValueError("this worker was started for calibration only: it has no implementation to call")
        return self.module

    def op_ping(self) -> Finish:
        return lambda: "pong"

    def op_calibrate(self, rounds: int = 6) -> Finish:
        checksum = calibration_workload(rounds)
        return lambda: checksum

    def op_train(
        self, input_path: str, vocab_size: int, special_tokens: list[str], kwargs: dict, profile: bool = False
    ) -> Finish:
        """run_train_bpe; with profile=True under cProfile, its top functions returned as plain data."""
        call = (self._implementation().run_train_bpe, input_path, vocab_size, list(special_tokens))
        result, top = profile_call(*call, **kwargs) if profile else (call[0](*call[1:], **kwargs), None)
        vocab, merges = check_training_result(result)
        return lambda: {"vocab": Vocab(vocab), "merges": Merges(merges), "profile": top}

    def op_tokenizer(
        self,
        vocab: dict | None = None,
        merges: list | None = None,
        special_tokens: list[str] | None = None,
        pattern: str | None = None,
        key: str | None = None,
    ) -> Finish:
        """Build a tokenizer; a handle for it. Given only a key: the handle of the one built earlier from the same
        content, or None when there is none yet."""
        if key is not None and (key in self.prepared or vocab is None):
            handle = self.prepared.get(key)
            return lambda: {"handle": handle, "mutated": []}
        if vocab is None or merges is None:
            raise ValueError("tokenizer: vocab and merges are needed to build a tokenizer")
        given_vocab, given_merges = dict(vocab), list(merges)
        specials = None if special_tokens is None else list(special_tokens)
        get_tokenizer = self._implementation().get_tokenizer
        if pattern is None:
            tokenizer = get_tokenizer(vocab, merges, specials)
        else:
            _require_pattern_argument(get_tokenizer)
            tokenizer = get_tokenizer(vocab, merges, specials, pattern=pattern)
        mutated = [
            name
            for name, now, before in (("vocab", vocab, given_vocab), ("merges", merges, given_merges))
            if now != before
        ]
        handle = next(self.handles)
        self.tokenizers[handle] = tokenizer
        if key is not None:
            self.prepared[key] = handle
        return lambda: {"handle": handle, "mutated": mutated}

    def op_encode(self, handle: int, text: str) -> Finish:
        ids = check_ids(self.tokenizers[handle].encode(text), "encode()")
        return lambda: Ids(ids)

    def op_decode(self, handle: int, ids: list[int]) -> Finish:
        text = check_text(self.tokenizers[handle].decode(ids), "decode()")
        return lambda: text

    def _stream(self, handle: int, chunks: Iterable[str]) -> Iterator[Any]:
        stream = self.tokenizers[handle].encode_iterable(chunks)
        if isinstance(stream, (str, bytes)) or not hasattr(stream, "__iter__"):
            raise AssertionError(f"encode_iterable() returned {type(stream).__name__}; expected an iterable of ids")
        return iter(stream)

    def op_encode_iterable(self, handle: int, source: dict, take: int | None = None) -> Finish:
        """encode_iterable over a list of chunks, an open file, or endlessly repeated lines; `take` ids at most."""
        with contextlib.ExitStack() as stack:
            chunks: Iterable[str]
            if "chunks" in source:
                chunks = iter(source["chunks"])
            elif "file" in source:
                chunks = stack.enter_context(open(source["file"], encoding="utf-8", newline=""))
            else:
                chunks = Repeat(source["lines"], source["max_chars"], source["message"])
            stream = self._stream(handle, chunks)
            ids = check_ids(itertools.islice(stream, take), "encode_iterable()")
        return lambda: Ids(ids)

    def op_encode_iterable_file(
        self, handle: int, path: str, head: int = 16, expected_blocks: list[str] | None = None, send_ids: bool = False
    ) -> Finish:
        """Consume encode_iterable(open file) a batch at a time, keeping only digests, the first ids and (given the
        expected block digests) the first block that differs. send_ids: also send the ids on, SEND_BATCH at a time
        (as packed uint32 in "ids" events), for a caller that writes them somewhere."""
        digest = StreamDigest(expected_blocks, head)
        next_report = time.monotonic() + PROGRESS_PERIOD
        outgoing: list[int] = []
        with open(path, encoding="utf-8", newline="") as f:
            stream = self._stream(handle, f)
            while batch := list(itertools.islice(stream, STREAM_BATCH)):
                try:
                    digest.update(batch)
                except (TypeError, OverflowError):
                    check_ids(batch, f"encode_iterable() (ids {digest.count:,}..{digest.count + len(batch):,})")
                    raise
                if send_ids:
                    outgoing += batch
                    if len(outgoing) >= SEND_BATCH:
                        self.send({"event": "ids", "ids": pack_ids(outgoing), "count": digest.count})
                        outgoing = []
                if time.monotonic() >= next_report:
                    self.send({"event": "progress", "count": digest.count})
                    next_report = time.monotonic() + PROGRESS_PERIOD
        if outgoing:
            self.send({"event": "ids", "ids": pack_ids(outgoing), "count": digest.count})
        result = digest.finish()
        return lambda: result

    def op_encode_range(self, handle: int, path: str, start: int, end: int) -> Finish:
        """encode() of bytes start..end of a file (cut at special tokens by the caller): the ids as packed uint32."""
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"{path} is not UTF-8: byte offset {start + e.start:,} starts an invalid sequence "
                f"{data[e.start : e.start + 4].hex(' ')} ({e.reason})"
            ) from None
        ids = self.tokenizers[handle].encode(text)
        try:
            packed = pack_ids(ids)
        except (TypeError, OverflowError):
            check_ids(ids, "encode()")  # says what is wrong, and where
            raise
        return lambda: packed


_exit_codes: dict[int, int] = {}  # children reaped before the harness asked how they ended


def _reap_finished_children() -> None:
    """Collect children that have ended (tests end by killing theirs), remembering how."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _exit_codes[pid] = os.waitstatus_to_exitcode(status)
        while len(_exit_codes) > 1000:
            del _exit_codes[next(iter(_exit_codes))]


def _require_pattern_argument(get_tokenizer: Callable[..., object]) -> None:
    parameters = inspect.signature(get_tokenizer).parameters
    if "pattern" not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        raise AssertionError(
            "get_tokenizer() takes no `pattern` argument, but this test needs a different pre-tokenization regex "
            "(tiktoken's o200k_base/cl100k_base each have their own). Add `pattern=None` to get_tokenizer in "
            "tests/adapters.py and pass it on to your Tokenizer."
        )


def _quiet_stdio() -> None:
    """fd 0 becomes /dev/null and fd 1 a copy of stderr: the implementation's prints cannot reach the channel."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull)  # lives as long as the worker


def _exit_when_orphaned() -> None:
    """Stop if the process that started us goes away without stopping us (killed, crashed)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def _report_allowed_cpus() -> None:
    """os.cpu_count() (and what is built on it: multiprocessing.cpu_count, ProcessPoolExecutor's default) says how
    many CPUs this worker may use, as the sandbox set it, not how many the machine has."""
    allowed = os.environ.get(WORKER_CPUS)
    if allowed:
        count = int(allowed)
        os.cpu_count = lambda: count
        if hasattr(os, "process_cpu_count"):
            os.process_cpu_count = lambda: count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpe_harness.worker.server", description=__doc__.splitlines()[0])
    parser.add_argument("--channel-fd", type=int, required=True)
    parser.add_argument("--spec", help="the implementation (ImplSpec as JSON); none: calibration only")
    args = parser.parse_args(argv)
    channel = Channel(socket.socket(fileno=args.channel_fd))
    _quiet_stdio()
    where_stopped.arm()  # a call stopped for time shows where it was
    _exit_when_orphaned()
    _report_allowed_cpus()
    for path in json.loads(os.environ.get(WORKER_SYS_PATH, "[]")):
        if path not in sys.path:
            sys.path.append(path)
    spec = ImplSpec.from_json(json.loads(args.spec)) if args.spec else None
    if spec is not None:
        own_package = spec.module.partition(".")[0] if spec.module else None
        # pool children started by spawn/forkserver install the same policy
        worker_environment.hand_down(spec.search_path, own_package, spec.kit_packages)
        allowed_imports.install(spec.search_path, own_package, spec.kit_packages)
    try:
        module = loading.load(spec) if spec is not None else None
    except BaseException as e:  # an import that fails is reported, whatever it raised
        channel.send({"event": "fatal", "error": describe_exception(e)})
        return 2
    Server(channel, module).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
