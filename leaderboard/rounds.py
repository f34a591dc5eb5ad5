"""The timed rounds: each round trains and encodes on its own inputs, the submission and the pace-setter each in
fresh workers, and every step is charged (`charge`).

In a round the pace-setter's worker (`leaderboard.pacer`) starts first, then the submission's imports the
implementation; only then are the round's inputs generated (a drawn seed's in a folder only this user can read,
opened to the sandbox's user right before the timed calls), so nothing the implementation runs at import, where it is
not timed, can see them. The submission's calls come next, then its worker is gone, then the pace-setter's calls.
CPU the submission's worker spent importing beyond IMPORT_ALLOWANCE x the pace-setter's counts as training (work done
at import is work). Encoding time counts `get_tokenizer` plus `encode`; the ids must equal the pace-setter's (tiktoken
over the same merges). Last, `encode_iterable` streams round 0's held-out text in a worker of its own, where its
memory is measured, and must yield the same ids."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from bpe_harness.client import Client
from bpe_harness.plugin.divergence import assert_ids_equal
from bpe_harness.protocol import pack_ids
from bpe_harness.tools.progress import ProgressLine
from leaderboard.calls import after_round, call, check_memory, worker
from leaderboard.errors import GateFailure
from leaderboard.inputs import Spec, expose, round_input
from leaderboard.profiling import warn_if_slow
from leaderboard.results import Tally

PACER = "leaderboard.pacer"
WAIT_RATIO, WAIT_SLACK = 3.0, 0.1  # charge wall time when wall > 3x the CPU time, by more than 0.1 s (`charge`)
IMPORT_ALLOWANCE, IMPORT_SLACK = 3.0, 0.5  # import CPU beyond 3x the pace-setter's + 0.5 s counts as training time


def import_beyond_allowance(impl: Client, pacer: Client) -> float:
    """CPU seconds the submission's fresh worker spent starting and importing (its whole tree) beyond what an import
    may take: IMPORT_ALLOWANCE x the pace-setter's own start-up, plus IMPORT_SLACK. Work done at import is work: it
    is charged to the round's training."""
    theirs = impl.zygote.import_cpu if impl.zygote is not None else 0.0
    ours = pacer.zygote.import_cpu if pacer.zygote is not None else 0.0
    return max(0.0, theirs - IMPORT_ALLOWANCE * ours - IMPORT_SLACK)


def charge(calls, import_s: float = 0.0) -> dict:
    """What one timed step of one side costs: the sum over its calls of the charged time (`Call.seconds`: the CPU of
    the worker's whole process tree, helpers forked at import included, or its wall time when that is less, as for a
    pool on several cores), raised to the wall time when a call's wall time is far above its CPU time (wall >
    WAIT_RATIO x CPU, by more than WAIT_SLACK s): its work was done where the tree could not count it (a helper that
    left the tree) or it slept. Such a step is flagged `waited`. (A busy machine stretches wall time too, but rarely
    3x for a process that wants one core.) A call that started processes (a pool) is not flagged. `import_s`: CPU its
    worker spent importing beyond the allowance, added to the charge."""
    seconds = wall = cpu = 0.0
    waited = False
    for done in calls:
        charged = done.seconds
        if not done.had_children and done.wall_s > WAIT_RATIO * done.cpu_s and done.wall_s - done.cpu_s > WAIT_SLACK:
            charged, waited = done.wall_s, True
        seconds, wall, cpu = seconds + charged, wall + done.wall_s, cpu + done.cpu_s
    out = {"seconds": round(seconds + import_s, 4), "wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "waited": waited}
    if import_s:
        out["import_s"] = round(import_s, 4)
    return out


def merges_sha256(merges) -> str:
    return hashlib.sha256(json.dumps([[a.hex(), b.hex()] for a, b in merges]).encode()).hexdigest()


def vocab_sha256(vocab) -> str:
    return hashlib.sha256(json.dumps(sorted(t.hex() for t in vocab.values())).encode()).hexdigest()


@dataclass
class _Answers:
    """The submission's side of one round: its inputs and what it answered."""

    corpus: Path
    held_out: Path
    text: str
    vocab: dict
    merges: list
    ids: list


def measure(impl_value: str, spec: Spec, progress: ProgressLine, *, sandbox=None, guard=None) -> Tally:
    """Every round, then encode_iterable; `guard` (a KitGuard) is checked after each submission's worker is gone."""
    tally = Tally()
    started = time.monotonic()
    for r in range(spec.rounds):
        if r == 1:
            warn_if_slow(progress, time.monotonic() - started, spec)
        _round(impl_value, spec, r, progress, sandbox, guard, tally)
    _encode_iterable(impl_value, spec, progress, sandbox, guard, tally)
    return tally


def _round(impl_value: str, spec: Spec, r: int, progress: ProgressLine, sandbox, guard, tally: Tally) -> None:
    label = f"round {r + 1}/{spec.rounds}"
    with worker(PACER, None) as pacer:  # first, in its own worker
        call("starting the pace-setter", pacer.ping, spec=spec)
        progress.step(f"{label}: yours train, encode")
        with worker(impl_value, sandbox) as impl:
            answers = _submission_side(impl, pacer, spec, r, progress, guard, tally)
        after_round(sandbox)
        if guard is not None:
            guard.check(f"after {label}")
        want = _pacer_side(pacer, spec, label, progress, answers, tally)
    try:
        assert_ids_equal(
            answers.ids,
            want,
            answers.text,
            answers.vocab,
            f"encode() of the held-out text {answers.held_out.name} with your own merges",
        )
    except AssertionError as e:
        raise GateFailure(f"{e}\n(expected ids: tiktoken over the same merges)") from None
    ids_sha = hashlib.sha256(pack_ids(want)).hexdigest()
    tally.outputs.append(
        {
            "merges_sha256": merges_sha256(answers.merges),
            "vocab_sha256": vocab_sha256(answers.vocab),
            "ids_sha256": ids_sha,
        }
    )
    tally.encode["ids"] += len(want)
    if tally.first is None:
        tally.first = (answers.vocab, answers.merges, answers.held_out, ids_sha, len(want))


def _submission_side(
    impl: Client, pacer: Client, spec: Spec, r: int, progress: ProgressLine, guard, tally: Tally
) -> _Answers:
    """Import, then (only now) the round's inputs, then the timed training and encoding."""
    call("importing your implementation", impl.ping, spec=spec)
    import_s = import_beyond_allowance(impl, pacer)
    corpus, held_out = round_input(spec, r)  # only now: the import above could not see them
    tally.inputs.append((corpus, held_out))
    if guard is not None:
        guard.add_inputs(corpus, held_out)
    with open(held_out, encoding="utf-8", newline="") as f:
        text = f.read()
    vocab, merges = _train(impl, spec, r, corpus, progress, import_s, tally)
    tok = call("get_tokenizer()", impl.tokenizer, vocab, merges, spec.special_tokens, spec=spec)
    build = impl.last
    ids = call(f"encode() of {held_out.name}", tok.encode, text, spec=spec)
    tally.encode["submission"].append(charge([build, impl.last]))
    return _Answers(corpus, held_out, text, vocab, merges, ids)


def _train(impl: Client, spec: Spec, r: int, corpus: Path, progress: ProgressLine, import_s: float, tally: Tally):
    """The submission's timed training, its inputs readable by the sandbox's user only meanwhile: (vocab, merges)."""
    expose(spec, r)
    vocab, merges = call(
        f"run_train_bpe() on {corpus.name}",
        impl.train,
        corpus,
        spec.vocab_size,
        spec.special_tokens,
        spec=spec,
        on_progress=progress,
    )
    done = impl.last
    expose(spec, r, readable=False)
    check_memory("run_train_bpe()", done, spec)
    train = tally.train
    train["submission"].append(charge([done], import_s))
    train["peak_bytes"] = max(train["peak_bytes"], done.peak_bytes)
    train["children_peak_bytes"] = max(train["children_peak_bytes"], done.children_peak)
    expected_merges = spec.vocab_size - 256 - len(set(spec.special_tokens))
    if len(merges) != expected_merges or len(vocab) != spec.vocab_size:
        raise GateFailure(
            f"training on {corpus.name}: expected {expected_merges} merges and "
            f"{spec.vocab_size} vocab entries, got {len(merges)} and {len(vocab)}"
        )
    return vocab, merges


def _pacer_side(pacer: Client, spec: Spec, label: str, progress: ProgressLine, answers: _Answers, tally: Tally):
    """The pace-setter's timed training on the same corpus and encoding with the submission's merges: its ids."""
    progress.step(f"{label}: pace-setter trains")
    call("pace-setter training", pacer.train, answers.corpus, spec.vocab_size, spec.special_tokens, spec=spec)
    tally.train["pacer"].append(charge([pacer.last]))
    progress.step(f"{label}: pace-setter encodes")
    tok = call("pace-setter tokenizer", pacer.tokenizer, answers.vocab, answers.merges, spec.special_tokens, spec=spec)
    build = pacer.last
    want = call("pace-setter encode", tok.encode, answers.text, spec=spec)
    tally.encode["pacer"].append(charge([build, pacer.last]))
    return want


def _encode_iterable(impl_value: str, spec: Spec, progress: ProgressLine, sandbox, guard, tally: Tally) -> None:
    """encode_iterable over round 0's held-out file, in a worker of its own: its memory (tokenizer + streaming) and
    time; its ids must be encode()'s."""
    progress.step("encode_iterable: memory (own worker)")
    assert tally.first is not None  # every run has a round
    vocab, merges, held_out, expected_sha, n_ids = tally.first
    with worker(impl_value, sandbox) as impl:
        tok = call("get_tokenizer()", impl.tokenizer, vocab, merges, spec.special_tokens, spec=spec)
        build = impl.last
        expose(spec, 0)  # round 1's held-out text, streamed from its file
        summary = call(
            f"encode_iterable(open({held_out.name}))",
            tok.encode_iterable_file,
            held_out,
            spec=spec,
            on_progress=progress,
        )
        stream_call = impl.last
        expose(spec, 0, readable=False)
    after_round(sandbox)
    if guard is not None:
        guard.check("after encode_iterable")
    check_memory("encode_iterable()", stream_call, spec)
    if summary.sha256 != expected_sha:
        raise GateFailure(
            f"encode_iterable(open({held_out.name})) yielded {summary.count} ids that differ from "
            f"encode() of the same text ({n_ids} ids): it must yield exactly encode(whole text)"
        )
    tally.encode_iterable = {
        "peak_bytes": stream_call.peak_bytes + build.peak_bytes,
        "stream_peak_bytes": stream_call.peak_bytes,
        "tokenizer_peak_bytes": build.peak_bytes,
        **{k: v for k, v in charge([stream_call]).items() if k != "waited"},
    }
