"""Speed and memory limits: your code runs in a separate worker process and is measured from the outside.

Speed limits are multiples of a calibration (a fixed pure-Python workload timed on this machine in this run), so they
mean the same on a fast and a slow computer. Memory is the worker's peak resident memory above its level just before
the call. How the limits are set, and why: bpe_harness/limits.py. On a slow or busy machine: --limit-scale 2.
The terminal summary shows each limit's measured value against what is allowed, whether the test passed or not.
"""

from __future__ import annotations

import pytest

from collections import Counter

from bpe_harness import rules
from bpe_harness.compare import assert_ids_equal, assert_merges_equal, assert_vocab_built_from
from bpe_harness.isolation import WorkerTimeout
from bpe_harness.isolation.measure import mb
from bpe_harness.limits import (
    ENCODING_SPEED,
    SCALE_OPTION,
    STREAMING_MEMORY,
    TRAINING_MEMORY,
    TRAINING_SPEED,
    ENCODING_SPEED_CHARS,
    memory_unsupported_reason,
)
from bpe_harness.generated_inputs import GeneratedCorpus, fresh_file
from bpe_harness.stream_digest import ExpectedStream, assert_stream_equal
from bpe_harness.corpus import generate_text
from bpe_harness.rules import GPT2_PATTERN
from bpe_harness.snapshots import SnapshotStore
from tests.common import CORPORA, EOT, OWN_VOCAB, SNAPSHOTS, own_expected, own_vocab, read_sample, sample_path

LARGE_TEXT = GeneratedCorpus("encode-iterable", size=16_000_000, seed=11, repeat=8)
TRAINING_TEXT = GeneratedCorpus("train-memory", size=8_000_000, seed=21, mixed=False)
needs_memory_measurement = pytest.mark.skipif(memory_unsupported_reason() is not None,
                                              reason=str(memory_unsupported_reason()))


@pytest.mark.points(2)
def test_training_speed(impl, calibration, limits_report, seed):
    corpus = CORPORA / "tinystories_sample.txt"  # its documents in a new order each time: the same merges
    run = TRAINING_SPEED.run(calibration, impl, impl.train, report=limits_report,
                             fresh=lambda attempt: (fresh_file(corpus, seed + attempt), 1000, [EOT]))
    expected = SnapshotStore(SNAPSHOTS, update=False).load_training(OWN_VOCAB).merges
    assert_merges_equal(run.value[1], expected, run.inputs[0], [EOT])


@pytest.mark.points(2)
def test_encoding_speed(impl, calibration, limits_report, seed):
    tok = impl.tokenizer(*own_vocab(), [EOT])  # text generated for this run: nothing can have encoded it before
    run = ENCODING_SPEED.run(calibration, impl, tok.encode, report=limits_report,
                             fresh=lambda attempt: (generate_text(seed + attempt, ENCODING_SPEED_CHARS),))
    text = run.inputs[0]
    expected = own_expected().encode(text, allowed_special={EOT})
    assert_ids_equal(run.value, expected, text, own_vocab()[0], f"encode() of the text generated from seed {seed}")


@pytest.mark.points(2)
@needs_memory_measurement
def test_encode_iterable_streams_in_bounded_memory(impl, impl_alone, calibration, limits_report):
    assert_fast_enough_to_stream(impl, calibration, limits_report)
    vocab, merges = own_vocab()
    tok = impl_alone.tokenizer(vocab, merges, [EOT])
    path, expected = LARGE_TEXT.path(), ExpectedStream.of(LARGE_TEXT, own_expected(), [EOT])
    run = STREAMING_MEMORY.run(calibration, impl_alone, tok.encode_iterable_file, path,
                               expected_blocks=expected.blocks, report=limits_report)
    size = LARGE_TEXT.text_stats()
    STREAMING_MEMORY.check(run, f"the whole text as one str takes {mb(size['str_bytes'])} and its {expected.count:,} "
                                f"ids as a list at least {mb(8 * expected.count)}", report=limits_report)
    assert_stream_equal(run.value, expected, path, own_expected(), [EOT], vocab)


def assert_fast_enough_to_stream(impl, calibration, limits_report) -> None:
    """Memory is measured over the whole 16 MB stream, within STREAMING_MEMORY's time. An encoder so slow that the
    stream cannot finish in that time is stopped here within seconds, and the message names encoding speed (not
    memory): encode() of documents.txt, timed like test_encoding_speed, projected to the stream's size."""
    __tracebackhide__ = True
    text = read_sample("documents")
    stream_chars, stream_bytes = LARGE_TEXT.text_stats()["chars"], LARGE_TEXT.text_stats()["bytes"]
    stream_allowed = calibration.allowed(STREAMING_MEMORY.timeout)
    allowed = stream_allowed * len(text) / stream_chars  # the sample's share of the stream's time
    tok = impl.tokenizer(*own_vocab(), [EOT])
    try:
        tok.encode(text, timeout=1.5 * allowed)
        seconds, stopped = impl.last.seconds, False
    except WorkerTimeout as e:
        seconds, stopped = e.seconds, True
    if not stopped and seconds <= allowed:
        return
    took = f"was stopped after {seconds:.1f} s" if stopped else f"took {seconds:.2f} s"
    projected = seconds * stream_chars / len(text)
    limits_report(f"{STREAMING_MEMORY.what}: not measured: encode() too slow to stream it "
                  f"(~{projected:.0f} s projected, {stream_allowed:.0f} s allowed)  <-- encoder speed")
    raise AssertionError("\n".join([
        f"Memory not measured: your encoder is too slow to stream the {stream_bytes / 1e6:.0f} MB file in the time "
        "this test allows.",
        f"encode() of documents.txt ({len(text) / 1e3:.0f}K characters) {took} "
        f"({'over ' if stopped else ''}{seconds / calibration.seconds:.1f} x calibration; test_encoding_speed allows {ENCODING_SPEED.factor:g} x, "
        f"the staff solution takes ~{ENCODING_SPEED.reference:g} x). At that speed encode_iterable over the file would "
        f"take {'more than ' if stopped else 'about '}{projected:.0f} s; this test stops it at {stream_allowed:.0f} s "
        f"({STREAMING_MEMORY.timeout:g} x {calibration.describe()}).",
        f"Make encode fast first (`uv run pytest -k test_encoding_speed` measures it). Hint: {ENCODING_SPEED.hint}",
        f"(If this machine is unusually slow, rerun with {SCALE_OPTION} 2.)",
    ]))


@pytest.mark.points(2)
@needs_memory_measurement
def test_training_in_bounded_memory(impl_alone, calibration, limits_report):
    path = TRAINING_TEXT.path()
    run = TRAINING_MEMORY.run(calibration, impl_alone, impl_alone.train, path, 300, [EOT], report=limits_report)
    occurrences = TRAINING_TEXT.pretoken_stats(GPT2_PATTERN, [EOT])
    TRAINING_MEMORY.check(run, f"keeping each of its {occurrences['occurrences']:,} pre-token occurrences as a str "
                               f"takes {mb(occurrences['list_of_str_bytes'])}, the text itself "
                               f"{mb(TRAINING_TEXT.text_stats()['str_bytes'])}", report=limits_report)
    vocab, merges = run.value
    assert_vocab_built_from(vocab, merges, [EOT], 300)
    first = first_merge(TRAINING_TEXT, [EOT])
    assert tuple(merges[0]) == first["pair"], (
        f"the first merge is {merges[0]!r}; expected {first['pair']!r}, the most frequent pair of the corpus "
        f"({first['count']:,} times; ties go to the greatest pair)")


def first_merge(source, special_tokens) -> dict:
    """The corpus's most frequent adjacent byte pair within pre-tokens (ties: the greatest), cached with the corpus."""
    def compute(path) -> dict:
        words = Counter(rules.pretokens(path.read_bytes().decode("utf-8"), special_tokens))
        pairs: Counter = Counter()
        for word, n in words.items():
            data = word.encode("utf-8")
            for i in range(len(data) - 1):
                pairs[data[i : i + 2]] += n
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0][:1], kv[0][1:]))
        return {"pair": [best[0][:1].hex(), best[0][1:].hex()], "count": best[1]}

    found = source.cached("first-merge-" + "-".join(s.encode().hex() for s in special_tokens), compute)
    return {"pair": tuple(bytes.fromhex(h) for h in found["pair"]), "count": found["count"]}
