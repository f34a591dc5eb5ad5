"""The process side of the boundary: one worker process (or a child forked from it) reached over a socket.

An `Endpoint` sends a framed request and waits for the reply within a deadline, watching the process tree's memory
(measure.Sampler) and the worker's stderr while it waits; on a hang it kills the process with everything it started
and raises WorkerTimeout, and a process that dies raises WorkerCrashed with its exit code or signal and its last
stderr lines. A `Zygote` is the worker itself (server.py, the implementation imported once, started in a sandbox if
one is given); a `Child` is a fork of it that serves one test. The public API over these is client.Client.
"""

from __future__ import annotations

import collections
import contextlib
import importlib.machinery
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

from bpe_harness.client.busy_machine import LoadWatch, note_load_affected
from bpe_harness.client.failures import WorkerCrashed, WorkerFailure, WorkerTimeout, rebuild_exception
from bpe_harness.client.measure import Call, Progress, Sampler, default_tree_cap, mb
from bpe_harness.client.tree import Tree, become_subreaper
from bpe_harness.implementation import ROOT, ImplSpec
from bpe_harness.protocol import DEFAULT_CAP, WORKER_SYS_PATH, Channel, ProtocolError
from bpe_harness.worker import where_stopped

START_TIMEOUT = 120.0  # seconds for the worker to import the implementation and say it is ready
CONTROL_TIMEOUT = 30.0  # seconds for fork / reap / exit
DUMP_WAIT = 1.0  # seconds a stopped worker has to write its stacks (where_stopped.py) before it is killed
STDERR_TAIL = 4000  # characters of the worker's stderr shown when it crashes or hangs
CAN_FORK = hasattr(os, "fork") and hasattr(socket, "send_fds")


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

    def raw(self, position: int, end: int | None = None) -> str:
        """What was written from `position` (to `end`), as far as it is kept."""
        text = "".join(t[max(0, position - start) :] for start, t in list(self.chunks) if start + len(t) > position)
        return text if end is None else text[: max(0, end - position)]

    def since(self, position: int, end: int | None = None) -> str:
        text = self.raw(position, end)[-STDERR_TAIL:].rstrip()
        return ("\n--- worker stderr (last lines) ---\n" + text) if text else "\n(the worker wrote nothing to stderr)"


class Endpoint:
    """One worker process and the channel to it: the zygote, or a child forked from it. One call at a time."""

    def __init__(
        self,
        sock: socket.socket,
        pid: int,
        stderr: StderrTail,
        cap: int,
        tree: Tree,
        tree_cap: int | None,
        exclude: set[int] = frozenset(),
    ):
        self.channel = Channel(sock, cap)
        self.pid, self.stderr, self.tree, self.tree_cap = pid, stderr, tree, tree_cap
        self.ps = psutil.Process(pid)
        self.sampler = Sampler(self.ps, tree, exclude, tree_cap, on_over_cap=self._over_cap)
        self.stderr_from = stderr.total
        self.dead_reason: str | None = None
        self.load: LoadWatch | None = None  # the current call's view of the machine's load (busy_machine.py)
        self.extension = 0.0  # wall seconds the current call was given because the machine was busy
        self.busy_grace = True  # whether a call stopped on a busy machine may get that extra time

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

    def receive(
        self,
        what: str,
        deadline: float,
        stall_at: float = float("inf"),
        stall: float = 0.0,
        on_timeout: Callable[[float], str] | None = None,
    ) -> dict:
        """The next message, waiting at most until `deadline` (and `stall_at`); checks every quarter second that
        the process is still there (a process whose socket lives on in a grandchild sends no end of file)."""
        __tracebackhide__ = True
        while True:
            try:
                return self.channel.receive(min(deadline + self.extension, stall_at, time.monotonic() + 0.25))
            except TimeoutError:
                now = time.monotonic()
                if now >= deadline + self.extension:
                    grace = self.load.grace(now) if self.load is not None and self.busy_grace else 0.0
                    if grace:
                        self.extension += grace
                        continue
                    self._timed_out(what, f"did not finish within {self.allowed:.1f} s", self.allowed, on_timeout)
                if now >= stall_at:
                    self._timed_out(
                        what,
                        f"made no progress for {stall:.1f} s (after {self.progress_count:,} ids, "
                        f"{now - self.started:.1f} s in)",
                        stall,
                        on_timeout,
                    )
                if not self.alive:
                    self._died(what)
            except (EOFError, OSError):
                self._died(what)
            except ProtocolError as e:
                self.kill()
                raise WorkerCrashed(
                    f"{what}: the worker sent something that is not a reply ({e}); it was stopped"
                ) from None

    def _over_cap(self, total: int) -> None:
        """From the sampler's thread: the tree holds more than its cap. Stop all of it (the zygote too: what holds
        the memory may have been started at import); the waiting call then reports it."""
        self.dead_reason = f"stopped: its processes held {mb(total)} together"
        self.tree.kill()

    def _timed_out(self, what: str, how: str, seconds: float, advice: Callable[[float], str] | None) -> None:
        __tracebackhide__ = True
        dumped_at = self.stderr.total
        where = self._where_stopped()
        self.kill()
        self.dead_reason = f"stopped: {how}"
        now = time.monotonic()
        busy = self.load.describe(now) if self.load is not None else ""
        if self.load is not None and self.load.machine_busy(now):
            note_load_affected(f"{what} {how}")
        extra = "".join("\n" + line for line in (busy, advice(seconds) if advice is not None else "") if line)
        shown = f"\n{where}" if where else ""
        tail = self.stderr.since(self.stderr_from, end=dumped_at)
        raise WorkerTimeout(f"{what} {how}; the worker was stopped.{shown}{extra}{tail}", seconds, where)

    def _where_stopped(self) -> str:
        """Ask the worker for its Python stacks (where_stopped.py) and wait briefly for them on stderr."""
        if where_stopped.SIGNAL is None or not self.alive:
            return ""
        start = self.stderr.total
        try:
            os.kill(self.pid, where_stopped.SIGNAL)
        except OSError:
            return ""
        deadline, seen = time.monotonic() + DUMP_WAIT, start
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if seen > start and self.stderr.total == seen:
                break  # written, and nothing more is coming
            seen = self.stderr.total
        return where_stopped.describe(self.stderr.raw(start))

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
                f"holds a copy of the whole input.{self.tail()}"
            )
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
        self.load = None  # not a measured call: no grace, no load note
        self.send({"op": op, "args": args})
        return self.expect(self.receive(op, self.started + CONTROL_TIMEOUT), event)

    def call(
        self,
        what: str,
        op: str,
        args: dict,
        timeout: float,
        stall: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        advice: Callable[[float], str] | None = None,
        on_ids: Callable[[bytes], None] | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> Call:
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
        self.load = LoadWatch.start(timeout, self.tree.cpu, self.started)  # extra time only with busy_grace
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
            busy = self.load.machine_busy(time.monotonic())
            cost = sampler.finish()
        reply = self.expect(self.receive(what, deadline, on_timeout=advice), "result")
        if not reply["ok"]:
            raise rebuild_exception(reply["error"])
        profile = reply["value"].get("profile") if op == "train" else None
        value = reply["value"] if decode is None else decode(reply["value"])
        return Call(
            what,
            value,
            wall,
            cost["cpu"],
            cost["peak"],
            done.get("os_peak"),
            done.get("os_source"),
            sampler.samples,
            cost["children_peak"],
            cost["processes"],
            cost["tree_peak"],
            cost["allowance"],
            profile=profile,
            machine_busy=busy,
        )


def implementation_folders(spec: ImplSpec | None) -> list[str]:
    """What a worker in an allowlisted view must see to import the implementation: its search path, an adapters
    file's folder, and a dotted module's top-level package (found from here, on the same search path)."""
    if spec is None:
        return []
    folders = [*spec.search_path, *([os.path.dirname(spec.path)] if spec.path else [])]
    if spec.module:
        top = spec.module.split(".")[0]
        with contextlib.suppress(ImportError, ValueError):
            found = importlib.machinery.PathFinder.find_spec(top, [*spec.search_path, *sys.path])
            if found is not None:
                folders += list(found.submodule_search_locations or [found.origin])
    return [f for f in folders if f]


class Zygote(Endpoint):
    """The worker process itself: imports the implementation once, forks a child per test."""

    def __init__(self, spec: ImplSpec | None, sandbox=None, cap: int = DEFAULT_CAP, timeout: float = START_TIMEOUT):
        ours, theirs = socket.socketpair()
        env = dict(os.environ, **{WORKER_SYS_PATH: json.dumps([p for p in sys.path if p and os.path.isdir(p)])})
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        options: dict[str, Any] = {"cwd": ROOT, "env": env, "start_new_session": True}
        uid = None
        command = [sys.executable, "-m", "bpe_harness.worker.server", "--channel-fd", str(theirs.fileno())]
        if spec is not None:
            command += ["--spec", json.dumps(spec.to_json())]
        extra_fds: list[int] = []
        if sandbox is not None:
            options = sandbox.popen_kwargs(options)
            uid = sandbox.last_uid
            if hasattr(sandbox, "wrap"):  # an allowlisted view (view.py): the worker runs under bwrap
                command, extra_fds = sandbox.wrap(command, implementation_folders(spec))
        become_subreaper()  # orphans of the worker's tree come back to this process, where the tree finds them
        try:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=[theirs.fileno(), *extra_fds],
                **options,
            )
        finally:
            for fd in extra_fds:
                os.close(fd)
        theirs.close()
        self.in_view = bool(extra_fds)  # in a PID namespace: the pids the worker reports are not the host's
        cpus = getattr(sandbox, "cpus", None)  # what os.cpu_count() says in the worker (default: this machine's)
        tree = Tree(self.proc.pid, None if uid is None else frozenset({uid}), cpus)
        tree_cap = sandbox.tree_memory if sandbox is not None else default_tree_cap()
        super().__init__(ours, self.proc.pid, StderrTail(self.proc.stderr), cap, tree, tree_cap)
        self.started, self.allowed, self.progress_count = time.monotonic(), timeout, 0
        ready = self.receive("starting the worker (importing the implementation)", self.started + timeout)
        if ready.get("event") == "fatal":
            self.kill()
            raise rebuild_exception(ready["error"])
        self.expect(ready, "ready")
        if self.in_view:
            self._find_worker(ready["pid"])
        self.import_cpu = self.tree.cpu(self.tree.scan())  # its whole tree's CPU until ready: start-up and import

    def _find_worker(self, ns_pid: int) -> None:
        """In a view, the process Popen started is bwrap: measure the worker itself (its host pid), and leave bwrap's
        own processes (outside, and the namespace's init) out of the call's memory and process count."""
        host = self.tree.host_pid(ns_pid)
        if host is None:
            self.kill()
            raise WorkerCrashed("the worker started in its view but could not be found from outside")
        self.tree.set_worker(host)
        self.pid, self.ps = host, psutil.Process(host)
        self.sampler.close()
        self.sampler = Sampler(self.ps, self.tree, set(), self.tree_cap, on_over_cap=self._over_cap)

    def exit_code(self) -> int | None:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None
        if self.in_view and code is not None and code > 128:
            return -(code - 128)  # bwrap passes a signal on as 128 + its number
        return code

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
        host = self.tree.host_pid(forked["pid"]) if self.in_view else forked["pid"]
        if host is None:
            raise WorkerCrashed("the worker forked a child that could not be found from outside")
        child = Child(ours, host, self, ns_pid=forked["pid"])
        child.started, child.allowed = time.monotonic(), CONTROL_TIMEOUT
        child.expect(child.receive("starting a fresh worker", time.monotonic() + CONTROL_TIMEOUT), "ready")
        return child

    def reap(self, pid: int) -> int | None:
        return self.control("reap", {"pid": pid}, "reaped")["code"]


class Child(Endpoint):
    """A fork of the zygote serving one test on a socket of its own."""

    def __init__(self, sock: socket.socket, pid: int, zygote: Zygote, ns_pid: int | None = None):
        self.zygote, self._code, self._reaped = zygote, None, False
        self.ns_pid = pid if ns_pid is None else ns_pid  # the pid the zygote knows it by (in its PID namespace)
        super().__init__(
            sock, pid, zygote.stderr, zygote.channel.cap, zygote.tree, zygote.tree_cap, exclude={zygote.pid}
        )

    def _reap(self) -> int | None:
        if not self._reaped and self.zygote.alive:
            self._reaped = True
            with contextlib.suppress(WorkerFailure):
                self._code = self.zygote.reap(self.ns_pid)
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
