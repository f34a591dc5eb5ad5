"""Speed and memory limits for the graded suite: measured outside the code under test, calibrated, and fair.

Why this exists: upstream CS336's memory test cannot fail (its rlimit wraps a generator, so the limit is lifted before
the first id is produced), works on Linux only, and its speed test is a fixed 1.5 s bar measured on one laptop. Here
every limited call runs in a worker process (bpe_harness.client) and is measured from the test process.

Speed: what is measured. The call's CPU time, of the worker's whole process tree (client/tree.py: every process it
started, at import or during the call, alive or gone), or its wall time when that is lower (a pool that uses several
cores gets credit for it). CPU time barely moves when other programs share the machine. The unit is a calibration: a
fixed pure-Python workload (`measure.calibration_workload`: dict counting over int pairs, list rebuilding) timed the
same way in a worker at the start of the same session, best of CALIBRATION_RUNS. A limit is FACTOR x calibration x
scale, so it means the same on a fast and a slow machine; CPU the fresh worker spent importing beyond IMPORT_ALLOWANCE
calibrations counts too (work done at import is work). A call gets two tries (the better counts), each in a fresh
worker on fresh input generated from the run's secret (plugin/generated_inputs.py: a new corpus for training, new
text for encoding; never in an argument, the environment or a file name), so nothing remembered or prepared ahead
answers it, and its answer is checked (training: the merges at chosen steps, bpe_harness.plugin.merge_check; encoding:
tiktoken's ids); it is stopped after TIMEOUT_FACTOR x its limit, so a hung implementation fails that test instead of
blocking the run.
The factors, and why (measured on a 2-core Linux VM):
  * training on 257 KB of generated text (as much as tinystories_sample.txt) to vocab_size 1000 within 12 x
    calibration. The reference takes
    ~0.5 x, a typical incremental trainer that takes max() over all pair counts each merge ~4 x; the lecture's
    naive trainer (recount every pair after every merge) ~70 x. 12 leaves a correct incremental solution room to
    spare and still fails the naive one by 6 x.
  * encode() of 97 KB of generated text (as much as documents.txt) with the tinystories_sample vocab within
    3 x calibration. The reference takes ~0.25 x, a rank-based encoder without a cache ~0.8 x; looping over every
    merge for every pre-token ~9 x.
`--limit-scale X` (or CS336_LIMIT_SCALE=X) multiplies every time limit and timeout, for a machine that is slow in
ways the calibration does not capture. It does not change memory budgets.

Memory: what is measured. Peak resident memory of the worker above its level just before the call, sampled from
here every few ms and recorded by the OS in the worker (VmHWM on Linux, ru_maxrss on macOS); the larger counts.
The other processes of the worker's tree are charged all their private memory, less what a fork of the worker copies
(8 MB) for as many of them as the worker may use CPUs, and memory parked in memory-backed files (/dev/shm, memfd) is
charged too (measure.Sampler), at the same moment. Memory limits are measured on Linux and macOS;
elsewhere those tests are skipped with the reason. The budgets, and why:
  * encode_iterable over a 16 MB file generated for the run (generated_inputs.FreshCorpus: a 2 MB corpus written 8
    times) within 10 MB. Holding the whole text (one str of ~64 MB: the file
    has emoji, so 4 bytes per character) or all its ~5.6 M ids (a list, >= 44 MB) each takes more than 4 x the
    budget; the reference peaks at ~4 MB. The repetition keeps the distinct pre-tokens at ~15 k, so a cache of them
    (bounded or not) stays small: the budget is about never holding the text or the ids, not about caching. The ids
    must also be right: their sha256 is compared with tiktoken's, computed by bpe_harness.plugin.stream_digest; a
    mismatch shows the first wrong id and the text around it.
  * training on an 8 MB ASCII file generated for the run (a 1 MB corpus written 8 times) to vocab_size 300 within
    60 MB; its merges are checked like the training-speed test's. Keeping every pre-token occurrence (~2 M of them,
    as str) takes ~120 MB; counting distinct pre-tokens, the reference peaks at ~16 MB (the whole text, 8 MB,
    included).
Memory tests have generous timeouts (they time nothing): the streaming one stops a stream that yields no ids for 100
calibrations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass

from bpe_harness import settings
from bpe_harness.client import WorkerTimeout
from bpe_harness.client.busy_machine import note_load_affected
from bpe_harness.client.endpoint import Zygote
from bpe_harness.client.measure import Call, mb, memory_unsupported_reason

SCALE_OPTION, SCALE_ENV = "--limit-scale", settings.LIMIT_SCALE.name
CALIBRATION_RUNS = 3
TIMEOUT_FACTOR = 3.0  # a limited call is stopped after this many times its limit
IMPORT_ALLOWANCE = 3  # calibrations a speed test's fresh worker may spend starting and importing, uncharged (the
# reference: ~1.5); beyond that it is work (answers computed at import) and counts toward the limit
ATTEMPTS = 2  # speed: the better of two runs counts (the second only when the first missed)

__all__ = [
    "ENCODING_SPEED",
    "ENCODING_SPEED_CHARS",
    "TRAINING_SPEED_BYTES",
    "STREAMING_MEMORY",
    "TRAINING_MEMORY",
    "TRAINING_SPEED",
    "CallBudget",
    "Calibration",
    "MemoryBudget",
    "SpeedLimit",
    "calibrate",
    "memory_unsupported_reason",
    "parse_scale",
]


# --- calibration ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """How fast this machine runs a fixed pure-Python workload, now: the unit every speed limit is expressed in."""

    seconds: float  # best of `runs`
    runs: tuple[float, ...]
    scale: float = 1.0

    def allowed(self, factor: float) -> float:
        return factor * self.seconds * self.scale

    def describe(self) -> str:
        runs = ", ".join(f"{r:.3f}" for r in self.runs)
        scale = f", {SCALE_OPTION} {self.scale:g}" if self.scale != 1 else ""
        runs = f"best of {len(self.runs)}: {runs}{scale}"
        return f"calibration {self.seconds:.3f} s (a fixed pure-Python workload, {runs})"


def calibrate(scale: float = 1.0, runs: int = CALIBRATION_RUNS) -> Calibration:
    """Time the calibration workload `runs` times in a worker process that loads no implementation (so nothing
    under test can slow the unit its limits are measured in); the best run is the unit."""
    worker = Zygote(None)
    try:
        times = tuple(
            worker.call("calibration workload", "calibrate", {"rounds": 6}, 120 * scale).seconds for _ in range(runs)
        )
    finally:
        worker.kill()
    _log(kind="calibration", seconds=min(times), runs=times)
    return Calibration(min(times), times, scale)


def _log(**record) -> None:
    """Staff measurement log (CS336_LIMITS_LOG): one JSON object per line. Does nothing when the variable is unset."""
    path = settings.limits_log()
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def parse_scale(option: str | None, environ=os.environ) -> float:
    """The limit scale from --limit-scale, else CS336_LIMIT_SCALE, else 1. ValueError with a sentence if invalid."""
    raw, source = (option, SCALE_OPTION) if option is not None else (environ.get(SCALE_ENV), SCALE_ENV)
    if raw is None or raw == "":
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{source} must be a number such as 2 (got {raw!r})") from None
    if not 0 < value < 1000:
        raise ValueError(f"{source} must be a positive factor such as 2 (got {raw!r})")
    return value


# --- a time limit for every call -----------------------------------------------------------------------------------

_RUN_LIMITS_FIRST = (
    "This limit only stops a run that is far too slow; tests/test_limits.py measures speed precisely, so run "
    "`uv run pytest -k limits` first and fix what it says."
)
_ADVICE = {
    "train": "Usual cause: recounting every pair after every merge (O(merges x corpus)), or pre-tokenizing again for "
    "each merge. Count distinct pre-tokens once, keep the pair counts, and after a merge update only the "
    "words that contain the merged pair.",
    "tokenizer": "Usual cause: work per merge in __init__ that scans the vocab or the merge list (list.index, `in` "
    "on a list); build dicts (pair -> rank, bytes -> id) once.",
    "encode": "Usual cause: looping over every merge for every pre-token (O(pre-tokens x merges)); look up each "
    "adjacent pair's rank in a dict and merge the lowest-ranked pair until none applies, and cache "
    "pre-tokens you have already encoded.",
    "decode": "Usual cause: a scan of the vocab per id, or building the text by repeated concatenation; look ids up "
    "in a dict, b''.join the bytes, decode once.",
    "encode_iterable": "Usual cause: the encoder itself is slow (see test_encoding_speed), or the stream waits for "
    "more input than it needs before yielding.",
    "start": "Your code (tests/adapters.py and what it imports) did not finish importing: look for work at module "
    "level, such as training or reading a large file when the module is imported.",
}


@dataclass(frozen=True)
class CallBudget:
    """The time limit of every call to the implementation, in calibrations, from the size of what it is given.

    Generous on purpose (several times what the speed limits allow): it exists so that no implementation, however
    slow, can hang the suite or the grader; each test still reports its own verdict. Per call kind:
      start: 60; train: 30 + 15 per unit of work (100 KB x 1000 merges; the staff solution needs ~0.25 per unit;
      the constant leaves room for a pool of 96 processes to start on 2 cores);
      get_tokenizer: 10 + 20 per 100k merges; encode / encode_iterable: 5 + 40 per 100k characters (an endless
      input: 20); decode: 5 + 10 per 100k ids; anything else: 20.
    """

    calibration: Calibration

    def factor(self, op: str, facts: dict) -> float:
        if op == "start":
            return 60
        if op == "train":
            merges = max(100, facts["vocab_size"] - 256 - facts["specials"])
            return 30 + 15 * facts["bytes"] / 1e5 * merges / 1000
        if op == "tokenizer":
            return 10 + 20 * facts["merges"] / 1e5
        if op in ("encode", "encode_iterable", "encode_iterable_file"):
            return 20 if facts.get("chars") is None else 5 + 40 * facts["chars"] / 1e5
        if op == "decode":
            return 5 + 10 * facts["ids"] / 1e5
        return 20

    def __call__(self, op: str, facts: dict) -> tuple[float, str]:
        """(seconds allowed, what to say when they run out)."""
        factor = self.factor(op, facts)
        seconds = self.calibration.allowed(factor)
        advice = _ADVICE.get(op.removesuffix("_file"), "")
        return seconds, "\n".join(
            filter(
                None,
                [
                    f"Time allowed: {factor:.0f} x {self.calibration.describe()}.",
                    "" if op == "start" else _RUN_LIMITS_FIRST,
                    advice,
                    _SLOW_MACHINE,
                ],
            )
        )


# --- speed ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeedLimit:
    what: str
    factor: float  # the limit, in calibrations
    reference: float  # what the reference takes, in calibrations (for the message)
    hint: str

    def run(
        self,
        calibration: Calibration,
        client,
        function: Callable,
        *args,
        report: Callable[[str], None] = lambda line: None,
        fresh: Callable[[int], tuple] | None = None,
        **kwargs,
    ) -> Call:
        """function(*args, timeout=..., **kwargs), a call through `client`, must take at most factor x calibration;
        the measured Call (its value is what the function returned). `report` gets one line, measured vs allowed.

        `fresh(attempt)`: the arguments of each attempt instead of `args`, new inputs every time (see
        generated_inputs), kept in the Call's `inputs`. Every attempt runs in a fresh worker, so
        nothing an earlier call left behind, in any process, can answer it."""
        __tracebackhide__ = True
        allowed = calibration.allowed(self.factor)
        best = None
        client.busy_grace = False  # the speed verdict is the charge; no extra time (see Client.busy_grace)
        try:
            for attempt in range(ATTEMPTS):
                client.restart()
                inputs = fresh(attempt) if fresh is not None else args
                try:
                    function(*inputs, timeout=TIMEOUT_FACTOR * allowed, **kwargs)
                    call = client.last
                    call.inputs = inputs
                    imported = client.zygote.import_cpu if client.zygote is not None else 0.0
                    call.import_s = max(0.0, imported - calibration.allowed(IMPORT_ALLOWANCE))
                except WorkerTimeout as e:
                    _log(
                        kind="speed",
                        what=self.what,
                        timed_out=e.seconds,
                        allowed=allowed,
                        calibration=calibration.seconds,
                    )
                    report(f"{self.what}: stopped after {e.seconds:.1f} s; allowed {allowed:.2f} s  <-- too slow")
                    raise AssertionError(self._timed_out(e, allowed, calibration)) from None
                _log(
                    kind="speed",
                    what=self.what,
                    seconds=call.seconds,
                    cpu=call.cpu_s,
                    wall=call.wall_s,
                    allowed=allowed,
                    calibration=calibration.seconds,
                )
                best = call if best is None or call.seconds < best.seconds else best
                if best.seconds <= allowed:
                    report(
                        f"{self.what}: {best.seconds:.2f} s of {allowed:.2f} s allowed "
                        f"({best.seconds / allowed:.0%} of the limit)"
                    )
                    return best
            report(
                f"{self.what}: {best.seconds:.2f} s; allowed {allowed:.2f} s  <-- {best.seconds / allowed:.1f} x over"
            )
            if best.charged_wall and best.machine_busy:
                note_load_affected(f"{self.what}: charged {best.wall_s:.2f} s of wall time on a busy machine")
            raise AssertionError(self._too_slow(best, allowed, calibration))
        finally:
            client.busy_grace = True

    def _budget(self, allowed: float, calibration: Calibration) -> str:
        return (
            f"allowed {allowed:.2f} s = {self.factor:g} x {calibration.describe()}. "
            f"For scale, the staff solution takes about {self.reference:g} x calibration."
        )

    def _too_slow(self, call: Call, allowed: float, calibration: Calibration) -> str:
        return "\n".join(
            [
                (
                    f"{self.what} took {call.seconds:.2f} s (CPU {call.cpu_s:.2f} s, wall {call.wall_s:.2f} s; "
                    f"best of {ATTEMPTS}), {call.seconds / allowed:.1f} x the limit"
                    + (
                        "; charged its wall time: a pool's children (or other processes it started) could not be "
                        "measured, since their CPU is far below the wall time"
                        + (
                            ", and the machine had no idle CPU (this test is graded again alone)"
                            if call.machine_busy
                            else ""
                        )
                        + ". Start them from the call and end them with it (a `with` block or shutdown()), and do "
                        "not ignore SIGCHLD: the kernel then reports their CPU"
                        if call.waited
                        else ""
                    )
                    + (
                        f"; {call.import_s:.2f} s of it spent at import, beyond the {IMPORT_ALLOWANCE} x calibration "
                        "an import may take"
                        if call.import_s
                        else ""
                    )
                ),
                self._budget(allowed, calibration),
                f"Hint: {self.hint}",
                _SLOW_MACHINE,
            ]
        )

    def _timed_out(self, error: WorkerTimeout, allowed: float, calibration: Calibration) -> str:
        return "\n".join(
            filter(
                None,
                [
                    f"{self.what} did not finish within {error.seconds:.1f} s ({TIMEOUT_FACTOR:g} x its limit): "
                    "stopped",
                    error.where,
                    self._budget(allowed, calibration),
                    f"Hint: {self.hint}",
                    _SLOW_MACHINE,
                    _stderr_tail(error),
                ],
            )
        ).rstrip()


_SLOW_MACHINE = f"(If this machine is unusually slow, rerun with {SCALE_OPTION} 2 or {SCALE_ENV}=2.)"


def _stderr_tail(error: Exception) -> str:
    """What the stopped worker printed last, if anything (part of the worker's own message)."""
    text = str(error)
    return text[text.index("\n--- worker stderr") + 1 :] if "\n--- worker stderr" in text else ""


TRAINING_SPEED_BYTES = 257_000  # as much text as tinystories_sample.txt, generated anew each run
TRAINING_SPEED = SpeedLimit(
    what="training on 257 KB of text generated for this run to vocab_size 1000",
    factor=12,
    reference=0.5,
    hint=(
        "recounting all pairs after every merge is O(merges x corpus); count each distinct pre-token once (with its "
        "frequency), keep the pair counts, and after a merge update only the pairs next to the merged one, in the "
        "words that contain it (an index pair -> words helps). Pre-tokenize once, not once per merge."
    ),
)
ENCODING_SPEED_CHARS = 97_000  # as much text as documents.txt, generated anew each run (corpus.generate_text)
ENCODING_SPEED = SpeedLimit(
    what="encode() of 97 KB of text generated for this run, with the tinystories_sample vocab (1000 tokens)",
    factor=3,
    reference=0.25,
    hint=(
        "looping over every merge for every pre-token is O(pre-tokens x merges); instead look up each adjacent "
        "pair's rank in a dict and merge the lowest-ranked pair until none applies, and cache the ids of pre-tokens "
        "you have already encoded (most words repeat)."
    ),
)


# --- memory --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryBudget:
    what: str
    budget: int  # bytes above the worker's level just before the call
    reference: int  # what the reference peaks at (for the message)
    timeout: float  # in calibrations; generous: it is there to stop a hung implementation, not to time a slow one
    hint: str
    stall: float | None = None  # in calibrations: stop a stream that yields nothing for this long

    def run(
        self,
        calibration: Calibration,
        client,
        function: Callable,
        *args,
        report: Callable[[str], None] = lambda line: None,
        **kwargs,
    ) -> Call:
        """function(*args, timeout=..., **kwargs), a call through `client`, stopped only if it hangs; the measured
        Call (its value is what the function returned)."""
        __tracebackhide__ = True
        if self.stall is not None:
            kwargs["stall"] = calibration.allowed(self.stall)
        try:
            function(*args, timeout=calibration.allowed(self.timeout), **kwargs)
            return client.last
        except WorkerTimeout as e:
            _log(kind="memory", what=self.what, timed_out=e.seconds, budget=self.budget)
            report(f"{self.what}: stopped after {e.seconds:.1f} s (no verdict on memory)  <-- hung or too slow")
            raise AssertionError(
                f"{e}\n(time allowed: {self.timeout:g} x {calibration.describe()}"
                + (f"; without progress: {self.stall:g} x calibration)" if self.stall else ")")
                + f"\nHint: {self.hint}"
            ) from None

    def check(
        self, call: Call, scale_note: Callable[[], str], report: Callable[[str], None] = lambda line: None
    ) -> None:
        """The call's peak (the larger of sampled and OS-recorded) is within the budget; else a message with both and
        scale_note() (what holding the input would take: computed only then). `report` gets one line, measured vs
        allowed."""
        __tracebackhide__ = True
        _log(
            kind="memory",
            what=self.what,
            peak=call.peak_bytes,
            sampled=call.peak_sampled,
            os=call.peak_os,
            budget=self.budget,
            seconds=call.seconds,
            wall=call.wall_s,
        )
        share = call.peak_bytes / self.budget
        if call.peak_bytes <= self.budget:
            report(f"{self.what}: {mb(call.peak_bytes)} of {mb(self.budget)} allowed ({share:.0%} of the budget)")
            return
        report(f"{self.what}: {mb(call.peak_bytes)}; allowed {mb(self.budget)}  <-- {share:.1f} x over")
        raise AssertionError(
            "\n".join(
                [
                    (
                        f"{self.what} used {mb(call.peak_bytes)} of memory above its level before the call "
                        f"({call.describe_memory()}); the budget is {mb(self.budget)}, "
                        f"{call.peak_bytes / self.budget:.1f} x over."
                    ),
                    f"For scale: {scale_note()}; the staff solution peaks at about {mb(self.reference)}.",
                    f"Hint: {self.hint}",
                ]
            )
        )


STREAMING_MEMORY = MemoryBudget(
    what="encode_iterable(open(file)) over a 16 MB file",
    budget=10_000_000,
    reference=4_000_000,
    # an encoder exactly at ENCODING_SPEED's limit needs ~165 x 3 calibrations for 16 MB (documents.txt is 97 KB):
    # allow twice that; a stream that yields nothing for 100 calibrations (~20 s) is stopped sooner
    timeout=2 * 165 * 3,
    stall=100,
    hint=(
        "read the input a chunk at a time and yield ids as soon as they are final: never join the chunks, never "
        "collect all the ids in a list, and keep any cache bounded. Only the text since the last safe cut point (a "
        "few pre-tokens, or an unfinished special token) needs to stay in memory."
    ),
)
TRAINING_MEMORY = MemoryBudget(
    what="training on an 8 MB file to vocab_size 300",
    budget=60_000_000,
    reference=21_000_000,
    timeout=150,  # the reference takes ~6 calibrations, a typical incremental trainer ~12, the naive one ~46
    hint=(
        "count pre-tokens as you find them (a Counter of distinct pre-tokens, updated segment by segment) instead of "
        "first building a list of every occurrence; iterate with finditer, or findall over one document at a time."
    ),
)
