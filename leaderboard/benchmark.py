"""The measuring behind `submit` and `verify` (shipped to students): a correctness gate, then timed rounds.

Why this exists: a leaderboard number must mean the same on every laptop and must not be cheap to fake. So:

* every call into the implementation goes through `bpe_harness.isolation.Client` (a worker process, measured from
  outside); nothing here imports the implementation;
* the gate trains on the kit's generated corpora and compares merges and vocab with the committed snapshots, and
  encodes held-out text against ids computed by tiktoken from the snapshot's merges, with the graded suite's own
  assertions (`bpe_harness.compare`), so a refusal reads like a failing graded test;
* the benchmark interleaves the submission (A) and the pace-setter (B, `leaderboard.pacer`) round by round
  (ABAB...), and the ranked figure is the median over rounds of A/B: both slow down together on a slower or busier
  machine. Raw times and memory are kept beside it. The encoding ids at scale must equal the pace-setter's
  (tiktoken over the same merges), and the streamed ids of `encode_iterable` must equal them too.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bpe_harness.files import sha256_file
from bpe_harness.rules import GPT2_PATTERN
from bpe_harness.compare import assert_ids_equal, assert_merges_equal, assert_text_equal, \
    assert_vocab_matches
from bpe_harness.corpus import write_corpus
from bpe_harness.encodings import encoding_for_vocab
from bpe_harness.isolation import Client, Progress, WorkerCrashed, WorkerFailure, WorkerTimeout
from bpe_harness.snapshots import SnapshotStore
from bpe_harness.isolation.protocol import pack_ids as ids_bytes

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "leaderboard"
FIXTURES = ROOT / "tests" / "fixtures"
SNAPSHOTS = ROOT / "tests" / "snapshots"
PACER = "leaderboard.pacer"
EOT = "<|endoftext|>"

# Gate cases: (snapshot name, corpus under tests/fixtures, vocab_size, special tokens), as in tests/test_train_bpe.py.
GATE_TRAINING = [
    ("tinystories_sample", "corpora/tinystories_sample.txt", 1000, [EOT]),
    ("webtext_sample", "corpora/webtext_sample.txt", 1500, [EOT]),
    ("ties_bytes_not_unicode", "corpora/ties_bytes_not_unicode.txt", 259, [EOT]),
    ("ties_tuple_not_concat", "corpora/ties_tuple_not_concat.txt", 260, [EOT]),
    ("ties_greatest_not_first", "corpora/ties_greatest_not_first.txt", 262, [EOT]),
]
GATE_ENCODE = ("tinystories_sample", "corpora/held_out.txt")  # (snapshot whose merges give the vocab, text)


class SubmitError(Exception):
    """Why no submission can be produced; the message is for the student, complete and actionable."""


class GateFailure(SubmitError):
    """The implementation is not correct on the gate's inputs (the message is the graded suite's)."""


@dataclass
class Spec:
    """What is measured. `corpus` is None for the generated corpus of `size` bytes (tinystories style, `seed`)."""

    size: int = 8_000_000
    seed: int = 0
    corpus: Path | None = None
    vocab_size: int = 4000
    special_tokens: list[str] = field(default_factory=lambda: [EOT])
    held_out_size: int = 4_000_000
    held_out_seed: int = 1
    rounds: int = 5
    timeout: float = 600.0  # seconds per call
    max_memory: int = 4_000_000_000  # bytes above the worker's pre-call level, per call

    def corpus_record(self, path: Path) -> dict:
        if self.corpus is None:
            base = {"kind": "generated", "style": "tinystories", "size": self.size, "seed": self.seed, "mixed": True}
        else:
            base = {"kind": "file", "name": self.corpus.name}
        return {**base, "bytes": path.stat().st_size, "sha256": file_sha256(path), "vocab_size": self.vocab_size,
                "special_tokens": list(self.special_tokens)}


file_sha256 = sha256_file


def generated(size: int, seed: int) -> Path:
    """A generated corpus, written once into .cache/leaderboard and reused (same bytes on every machine)."""
    path = CACHE / f"tinystories-{size}-seed{seed}.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_corpus(path, size, seed)  # writes to a temporary name, then renames
    return path


def corpus_path(spec: Spec) -> Path:
    if spec.corpus is None:
        return generated(spec.size, spec.seed)
    path = Path(spec.corpus).expanduser()
    if not path.is_file():
        raise SubmitError(f"--corpus {spec.corpus}: no such file. Give the path of a UTF-8 text file "
                          "(e.g. TinyStories' train split), or leave --corpus out to use the generated corpus.")
    return path


# --- progress -----------------------------------------------------------------------------------------------------


class ProgressLine:
    """One status line on stderr: step k/n, what runs, elapsed time, the worker's memory. Rewritten in place on a
    terminal (carriage return); one line per step otherwise (logs, CI)."""

    def __init__(self, total: int, stream=None, enabled: bool = True):
        self.total, self.done, self.stream, self.enabled = total, 0, stream or sys.stderr, enabled
        self.started = time.monotonic()
        self.label = ""
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        self.label = label
        self._show(None)
        if not self.tty and self.enabled:
            print(self._text(None), file=self.stream, flush=True)

    def update(self, progress: Progress) -> None:
        """Live reading from the Client (on_progress) or a finished call's measurements."""
        self._show(progress)

    def _text(self, progress: Progress | None) -> str:
        bar_width = 20
        filled = bar_width * min(self.done, self.total) // max(1, self.total)
        bar = "#" * filled + "-" * (bar_width - filled)
        mem = ""
        if progress is not None and progress.rss_bytes:
            mem += f"  worker {progress.rss_bytes / 1e6:,.0f} MB"
        if progress is not None and progress.peak_bytes:
            mem += f"  peak +{progress.peak_bytes / 1e6:,.1f} MB"
        return (f"[{bar}] {self.done}/{self.total} {self.label:<34} "
                f"{time.monotonic() - self.started:6.1f} s{mem}")

    def _show(self, progress: Progress | None) -> None:
        if self.enabled and self.tty:
            self.stream.write("\r" + self._text(progress) + "\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _reading(call) -> Progress:
    return Progress(call.wall_s, 0, call.peak_bytes, call.children_peak)


# --- calling the implementation with clear failures ---------------------------------------------------------------


def _call(what: str, fn, *args, spec: Spec, **kwargs):
    """fn(*args) in the worker; every way it can fail becomes a SubmitError saying what happened."""
    try:
        return fn(*args, timeout=spec.timeout, **kwargs)
    except WorkerTimeout as e:
        raise SubmitError(f"{what} did not finish within {spec.timeout:g} s (--timeout); it was stopped. "
                          f"Does it hang, or is the corpus too big for it?\n{e}") from None
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
    except Exception as e:  # noqa: BLE001 - the implementation's own exception, rebuilt by the Client
        raise GateFailure(f"{what} raised {type(e).__name__}: {e}") from None


def _check_memory(what: str, call, spec: Spec) -> None:
    if call.peak_bytes > spec.max_memory:
        raise SubmitError(f"{what} used {call.peak_bytes / 1e6:,.0f} MB above the worker's starting level, more "
                          f"than the {spec.max_memory / 1e6:,.0f} MB allowed (--max-memory)")


# --- the gate -----------------------------------------------------------------------------------------------------


def gate(impl: Client, spec: Spec, progress: ProgressLine) -> list[str]:
    """Correctness on the kit's own inputs; GateFailure with the graded suite's message on the first problem."""
    store = SnapshotStore(SNAPSHOTS, update=False)
    passed = []
    for name, corpus, vocab_size, specials in GATE_TRAINING:
        progress.step(f"gate: train {name}")
        vocab, merges = _call(f"run_train_bpe() on {corpus}", impl.train, FIXTURES / corpus, vocab_size, specials,
                              spec=spec)
        expected = store.load_training(name)
        try:
            assert_merges_equal(merges, expected.merges, FIXTURES / corpus, specials)
            assert_vocab_matches(vocab, expected.vocab_tokens, vocab_size)
        except AssertionError as e:
            raise GateFailure(f"training on {corpus} (vocab_size={vocab_size}) is not right:\n{e}\n"
                              f"(the graded test: uv run pytest 'tests/test_train_bpe.py::"
                              f"test_training_matches_reference[{name}]')") from None
        passed.append(f"train:{name}")

    snap_name, text_file = GATE_ENCODE
    progress.step("gate: encode held-out text")
    snap = store.load_training(snap_name)
    vocab = snap.vocab_by_convention()
    with open(FIXTURES / text_file, encoding="utf-8", newline="") as f:
        text = f.read()
    expected = encoding_for_vocab("gate", vocab, GPT2_PATTERN, [EOT]).encode(text, allowed_special="all")
    tok = _call("get_tokenizer()", impl.tokenizer, vocab, snap.merges, [EOT], spec=spec)
    ids = _call(f"encode() of {text_file}", tok.encode, text, spec=spec)
    back = _call("decode()", tok.decode, ids, spec=spec)
    summary = _call(f"encode_iterable(open({text_file}))", tok.encode_iterable_file, FIXTURES / text_file, spec=spec)
    try:
        assert_ids_equal(ids, expected, text, vocab, f"encode() of {text_file}")
        assert_text_equal(back, text, "decode(encode(text))")
        if summary.sha256 != hashlib.sha256(ids_bytes(expected)).hexdigest():
            raise AssertionError(f"encode_iterable(open({text_file})) yielded {summary.count} ids, not the "
                                 f"{len(expected)} ids of encode(whole text) (first ids: {summary.head[:8]})")
    except AssertionError as e:
        raise GateFailure(f"encoding is not right:\n{e}\n(the graded tests: uv run pytest tests/test_tokenizer.py "
                          "tests/test_encode_iterable.py)") from None
    passed += ["encode:held_out", "decode:held_out", "encode_iterable:held_out"]
    return passed


# --- the benchmark ------------------------------------------------------------------------------------------------


def _times(call) -> dict:
    return {"seconds": round(call.seconds, 4), "wall_s": round(call.wall_s, 4), "cpu_s": round(call.cpu_s, 4)}


def merges_sha256(merges) -> str:
    return hashlib.sha256(json.dumps([[a.hex(), b.hex()] for a, b in merges]).encode()).hexdigest()


def vocab_sha256(vocab) -> str:
    return hashlib.sha256(json.dumps(sorted(t.hex() for t in vocab.values())).encode()).hexdigest()


def measure(impl: Client, pacer: Client, spec: Spec, progress: ProgressLine) -> dict:
    """Interleaved rounds of training and encoding: raw numbers of both sides, the ratios, and output digests."""
    corpus = corpus_path(spec)
    held_out = generated(spec.held_out_size, spec.held_out_seed)
    with open(held_out, encoding="utf-8", newline="") as f:
        text = f.read()

    train = {"submission": [], "pacer": [], "peak_bytes": 0, "children_peak_bytes": 0}
    merges = vocab = None
    for r in range(1, spec.rounds + 1):
        progress.step(f"train round {r}/{spec.rounds}: yours")
        v, m = _call(f"run_train_bpe() on {corpus.name}", impl.train, corpus, spec.vocab_size, spec.special_tokens,
                     spec=spec, on_progress=progress.update)
        call = impl.last
        _check_memory("run_train_bpe()", call, spec)
        progress.update(_reading(call))
        if merges is None:
            merges, vocab = m, v
        elif m != merges:
            raise SubmitError(f"run_train_bpe() gave different merges in round {r} than in round 1 on the same "
                              "corpus: training must be deterministic")
        train["submission"].append(_times(call))
        train["peak_bytes"] = max(train["peak_bytes"], call.peak_bytes)
        train["children_peak_bytes"] = max(train["children_peak_bytes"], call.children_peak)
        progress.step(f"train round {r}/{spec.rounds}: pace-setter")
        _call("pace-setter training", pacer.train, corpus, spec.vocab_size, spec.special_tokens, spec=spec)
        train["pacer"].append(_times(pacer.last))
    expected_merges = spec.vocab_size - 256 - len(set(spec.special_tokens))
    if len(merges) != expected_merges or len(vocab) != spec.vocab_size:
        raise GateFailure(f"training on {corpus.name}: expected {expected_merges} merges and {spec.vocab_size} vocab "
                          f"entries, got {len(merges)} and {len(vocab)}")

    progress.step("encode: build tokenizers")
    tok = _call("get_tokenizer()", impl.tokenizer, vocab, merges, spec.special_tokens, spec=spec)
    pace_tok = _call("pace-setter tokenizer", pacer.tokenizer, vocab, merges, spec.special_tokens, spec=spec)
    enc = {"submission": [], "pacer": []}
    expected_sha = None
    for r in range(1, spec.rounds + 1):
        progress.step(f"encode round {r}/{spec.rounds}: yours")
        ids = _call(f"encode() of {held_out.name}", tok.encode, text, spec=spec)
        enc["submission"].append(_times(impl.last))
        progress.step(f"encode round {r}/{spec.rounds}: pace-setter")
        want = _call("pace-setter encode", pace_tok.encode, text, spec=spec)
        enc["pacer"].append(_times(pacer.last))
        if expected_sha is None:
            try:
                assert_ids_equal(ids, want, text, vocab, f"encode() of the held-out text with your own merges")
            except AssertionError as e:
                raise GateFailure(f"{e}\n(expected ids: tiktoken over the same merges)") from None
            expected_sha = hashlib.sha256(ids_bytes(want)).hexdigest()
            n_ids = len(want)
        del ids, want

    progress.step("encode_iterable: memory")
    summary = _call(f"encode_iterable(open({held_out.name}))", tok.encode_iterable_file, held_out, spec=spec,
                    on_progress=progress.update)
    stream_call = impl.last
    _check_memory("encode_iterable()", stream_call, spec)
    if summary.sha256 != expected_sha:
        raise GateFailure(f"encode_iterable(open({held_out.name})) yielded {summary.count} ids that differ from "
                          f"encode() of the same text ({n_ids} ids): it must yield exactly encode(whole text)")

    text_mb = held_out.stat().st_size / 1e6
    train_ratio = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(train["submission"], train["pacer"]))
    enc_ratio = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(enc["submission"], enc["pacer"]))
    return {
        "corpus": spec.corpus_record(corpus),
        "held_out": {"kind": "generated", "style": "tinystories", "size": spec.held_out_size, "seed": spec.held_out_seed,
                     "mixed": True,
                     "bytes": held_out.stat().st_size, "sha256": file_sha256(held_out)},
        "rounds": spec.rounds,
        "train": {"ratio": round(train_ratio, 4), **train},
        "encode": {"ratio": round(enc_ratio, 4), "ids": n_ids,
                   "mb_per_s": round(text_mb / statistics.median(x["seconds"] for x in enc["submission"]), 3),
                   **enc},
        "encode_iterable": {"peak_bytes": stream_call.peak_bytes, **_times(stream_call)},
        "outputs": {"merges_sha256": merges_sha256(merges), "vocab_sha256": vocab_sha256(vocab),
                    "ids_sha256": expected_sha},
    }


def score(train_ratio: float, encode_ratio: float) -> float:
    """The ranked figure: geometric mean of the two time ratios (lower is better; 1 = the pace-setter's time)."""
    return round((train_ratio * encode_ratio) ** 0.5, 4)


def steps(spec: Spec) -> int:
    return len(GATE_TRAINING) + 1 + 2 * spec.rounds + 1 + 2 * spec.rounds + 1


def run(impl_value: str, spec: Spec, *, sandbox=None, show_progress: bool = True) -> dict:
    """Gate + benchmark of one implementation (an --impl value). SubmitError / GateFailure say why it cannot go on."""
    progress = ProgressLine(steps(spec), enabled=show_progress)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    try:
        with Client(impl_value, sandbox=sandbox) as impl, Client(PACER) as pacer:
            passed = gate(impl, spec, progress)
            result = measure(impl, pacer, spec, progress)
    finally:
        progress.close()
    result["gate"] = {"passed": passed}
    result["score"] = score(result["train"]["ratio"], result["encode"]["ratio"])
    result["load_before"] = None if load_before is None else round(load_before, 2)
    return result
