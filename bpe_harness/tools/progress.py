"""The kit's live progress line (experiments, encode_corpus, leaderboard submit): one carriage-return line on stderr,
measured from outside.

    train   0:42  worker 1.21 GB (peak 1.48 GB)  children 0.00 GB  corpus 100.0 MB
    encode  0:12  worker 0.31 GB (peak 0.33 GB)  children 0.52 GB  45.0/100.0 MB 45%  3.8 MB/s  ETA 0:15
    [########------------] 8/20 round 1: yours train, encode      41.3 s  worker 121.4 MB (peak 130.2 MB)

The last form is a run of `steps` calls (`step(label)` starts the next one); off a terminal it writes one line per
step instead (logs, CI).

A `ProgressLine` is a callable taking `bpe_harness.client.Progress` readings (elapsed_s, rss_bytes, peak_bytes,
children_bytes, count), so it plugs straight into the Client's `on_progress=` callback. Memory is read from
another process, as the Client measures a call (never `ru_maxrss` inside the measured one, which misses child
processes and cannot be reset).

During a Client call, pass the ProgressLine as `on_progress=`: the Client samples its worker and calls it. `Sampler`
feeds one from a thread instead, for a process tree the caller watches itself (encode_corpus's several workers).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import psutil

from bpe_harness.client.measure import Progress, tree_memory_now

PERIOD = 0.25  # seconds between readings / redraws


def human_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}" if unit == "GB" else f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class ProgressLine:
    """Draws the line for each reading (at most every PERIOD s) and keeps the peaks seen.

    total_bytes: the corpus size. done: optional callable -> bytes processed so far (adds %, rate and ETA).
    steps: how many `step()`s the run has (the line then shows a bar, k/n, the step's label and the time since the
    line was made, not the corpus)."""

    def __init__(
        self,
        label: str = "",
        total_bytes: int = 0,
        *,
        done: Callable[[], int] | None = None,
        stream=None,
        enabled: bool = True,
        names: tuple[str, str] = ("worker", "children"),
        steps: int = 0,
    ):
        self.label, self.total, self.done, self.names = label, total_bytes, done, names
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.steps, self.steps_done = steps, 0
        self.started = time.monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.peak_rss = self.peak_children = 0
        self.last_draw = 0.0
        self.width = 0
        self.readings = 0
        self.latest: Progress | None = None
        self.drawn: Progress | None = None

    def __call__(self, p: Progress) -> None:
        self.readings += 1
        self.latest = p
        self.peak_rss = max(self.peak_rss, p.rss_bytes)
        self.peak_children = max(self.peak_children, p.children_bytes)
        now = time.monotonic()
        if self.enabled and (self.tty or not self.steps) and now - self.last_draw >= PERIOD:
            self.last_draw = now
            self.drawn = p
            self._draw(self.render(p))

    def step(self, label: str) -> None:
        """The next of `steps` calls begins: redrawn in place on a terminal, one line of its own otherwise."""
        self.steps_done += 1
        self.label, self.latest = label, None
        self.peak_rss = self.peak_children = 0  # each step's call has its own worker and peak
        if self.enabled and self.tty:
            self._draw(self.render(None))
        elif self.enabled:
            self.stream.write(self.render(None) + "\n")
            self.stream.flush()

    def render(self, p: Progress | None) -> str:
        if self.steps:
            filled = 20 * min(self.steps_done, self.steps) // self.steps
            text = (
                f"[{'#' * filled}{'-' * (20 - filled)}] {self.steps_done}/{self.steps} {self.label:<34} "
                f"{time.monotonic() - self.started:6.1f} s"
            )
            if p is not None and p.rss_bytes:
                text += f"  {self.names[0]} {human_bytes(p.rss_bytes)} (peak {human_bytes(self.peak_rss)})"
            return text
        parts = [
            f"{self.label} {clock(p.elapsed_s):>6}",
            f"{self.names[0]} {human_bytes(p.rss_bytes)} (peak {human_bytes(self.peak_rss)})",
            f"{self.names[1]} {human_bytes(p.children_bytes)} (peak {human_bytes(self.peak_children)})",
        ]
        if self.done is None:
            parts.append(f"corpus {human_bytes(self.total)}")
        else:
            done = self.done()
            rate = done / p.elapsed_s if p.elapsed_s > 0 else 0.0
            eta = f"ETA {clock((self.total - done) / rate)}" if rate > 0 and done < self.total else ""
            parts.append(
                f"{human_bytes(done)}/{human_bytes(self.total)} {100 * done / max(self.total, 1):3.0f}%  "
                f"{rate / 1e6:.1f} MB/s  {eta}"
            )
        if p.count:
            parts.append(f"{p.count:,} ids")
        return "  ".join(parts)

    def _draw(self, text: str) -> None:
        pad = max(0, self.width - len(text))
        self.width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def finish(self, message: str = "") -> None:
        """Draw the latest reading if it was not shown, end the line, and print `message` on the next one."""
        if self.enabled and (self.tty or not self.steps) and self.latest is not None and self.drawn is not self.latest:
            self.drawn = self.latest
            self._draw(self.render(self.latest))
        if self.enabled and self.width:
            self.stream.write("\n")
        if message:
            self.stream.write(message + "\n")
        self.stream.flush()
        self.width = 0


def reading(proc: psutil.Process, started: float, peak: int, count: int = 0) -> Progress:
    """One Progress reading of `proc` (RSS) and its descendants (private memory, summed), measured as the Client
    measures a call (bpe_harness.client.measure.tree_memory_now)."""
    rss, children = tree_memory_now(proc)
    return Progress(time.monotonic() - started, rss, max(peak, rss), children, count)


class Sampler(threading.Thread):
    """Calls on_progress with a reading of process `pid` every PERIOD s until stopped (a context manager)."""

    def __init__(self, pid: int, on_progress: Callable[[Progress], None], count: Callable[[], int] | None = None):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.on_progress, self.count = on_progress, count or (lambda: 0)
        self.started = time.monotonic()
        self.stop_event = threading.Event()
        self.peak = 0

    def run(self) -> None:
        while True:
            p = reading(self.proc, self.started, self.peak, self.count())
            self.peak = p.peak_bytes
            self.on_progress(p)
            if self.stop_event.wait(PERIOD):
                return

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.join()
        self.on_progress(reading(self.proc, self.started, self.peak, self.count()))  # the final state
