"""Speed and memory limits: your code runs in a separate worker process and is measured from the outside.

Speed limits are multiples of a calibration (a fixed pure-Python workload timed on this machine in this run), so they
mean the same on a fast and a slow computer. Memory is the worker's peak resident memory above its level just before
the call. How the limits are set, and why: bpe_harness/limits.py. On a slow or busy machine: --limit-scale 2.
The terminal summary shows each limit's measured value against what is allowed, whether the test passed or not.
"""

from __future__ import annotations

import pytest

from bpe_harness.compare import assert_ids_equal, assert_merges_equal
from bpe_harness.isolation.measure import mb
from bpe_harness.limits import (
    ENCODING_SPEED,
    STREAMING_MEMORY,
    TRAINING_MEMORY,
    TRAINING_SPEED,
    ExpectedStream,
    GeneratedCorpus,
    assert_stream_equal,
    fresh_documents,
    fresh_file,
    memory_unsupported_reason,
)
from bpe_harness.rules import GPT2_PATTERN
from bpe_harness.snapshots import SnapshotStore
from tests.common import CORPORA, EOT, OWN_VOCAB, SNAPSHOTS, own_expected, own_vocab, sample_path

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
    tok = impl.tokenizer(*own_vocab(), [EOT])  # documents.txt, its documents in a new order each time
    run = ENCODING_SPEED.run(calibration, impl, tok.encode, report=limits_report,
                             fresh=lambda attempt: (fresh_documents(sample_path("documents"), seed + attempt),))
    text = run.inputs[0]
    expected = own_expected().encode(text, allowed_special={EOT})
    assert_ids_equal(run.value, expected, text, own_vocab()[0], "encode(documents.txt, documents reordered)")


@pytest.mark.points(2)
@needs_memory_measurement
def test_encode_iterable_streams_in_bounded_memory(impl_alone, calibration, limits_report):
    vocab, merges = own_vocab()
    tok = impl_alone.tokenizer(vocab, merges, [EOT])
    path, expected = LARGE_TEXT.path(), ExpectedStream.of(LARGE_TEXT, own_expected(), [EOT])
    run = STREAMING_MEMORY.run(calibration, impl_alone, tok.encode_iterable_file, path,
                               expected_blocks=expected.blocks, report=limits_report)
    size = LARGE_TEXT.text_stats()
    STREAMING_MEMORY.check(run, f"the whole text as one str takes {mb(size['str_bytes'])} and its {expected.count:,} "
                                f"ids as a list at least {mb(8 * expected.count)}", report=limits_report)
    assert_stream_equal(run.value, expected, path, own_expected(), [EOT], vocab)


@pytest.mark.points(2)
@needs_memory_measurement
def test_training_in_bounded_memory(impl_alone, calibration, limits_report):
    path = TRAINING_TEXT.path()
    run = TRAINING_MEMORY.run(calibration, impl_alone, impl_alone.train, path, 300, [EOT], report=limits_report)
    occurrences = TRAINING_TEXT.pretoken_stats(GPT2_PATTERN, [EOT])
    TRAINING_MEMORY.check(run, f"keeping each of its {occurrences['occurrences']:,} pre-token occurrences as a str "
                               f"takes {mb(occurrences['list_of_str_bytes'])}, the text itself "
                               f"{mb(TRAINING_TEXT.text_stats()['str_bytes'])}", report=limits_report)
    assert len(run.value[0]) == 300, f"vocab has {len(run.value[0])} entries; vocab_size=300 counts every entry"
