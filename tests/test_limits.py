"""Speed and memory limits: your code runs in a separate worker process and is measured from the outside.

Speed limits are multiples of a calibration (a fixed pure-Python workload timed on this machine in this run), so they
mean the same on a fast and a slow computer. Memory is the worker's peak resident memory above its level just before
the call. How the limits are set, and why: bpe_harness/plugin/limits.py. On a slow or busy machine: --limit-scale 2.
The terminal summary shows each limit's measured value against what is allowed, whether the test passed or not.
Each test states its limit, the call and the input; the `limits` fixture (bpe_harness/plugin/limit_checks.py) runs it.
"""

from __future__ import annotations

import pytest

from bpe_harness.plugin.limits import (
    ENCODING_SPEED,
    ENCODING_SPEED_CHARS,
    STREAMING_MEMORY,
    TRAINING_MEMORY,
    TRAINING_SPEED,
    TRAINING_SPEED_BYTES,
    memory_unsupported_reason,
)
from bpe_harness.plugin.stream_digest import assert_stream_equal
from tests.common import EOT, assert_tinystories_ids, tinystories, tinystories_tiktoken, tinystories_tokenizer

needs_memory_measurement = pytest.mark.skipif(
    memory_unsupported_reason() is not None, reason=str(memory_unsupported_reason())
)


@pytest.mark.points(2)
def test_training_speed(limits, run_train_bpe):
    """TRAINING_SPEED: run_train_bpe on 257 KB of text generated for this run, to vocab_size 1000; the merges must be
    that text's (checked at the first, the last and steps drawn for the run)."""
    run = limits.speed(
        TRAINING_SPEED,
        run_train_bpe,
        fresh=lambda attempt: (limits.fresh_corpus("training", TRAINING_SPEED_BYTES, attempt).path(), 1000, [EOT]),
    )
    vocab, merges = run.value
    limits.assert_trained_on(run.inputs[0], vocab, merges, 1000, [EOT])


@pytest.mark.points(2)
def test_encoding_speed(limits, get_tokenizer):
    """ENCODING_SPEED: encode() of 97 KB of text generated for this run (nothing can have encoded it before), with
    the tinystories vocab, giving tiktoken's ids."""
    tokenizer = tinystories_tokenizer(get_tokenizer)
    run = limits.speed(
        ENCODING_SPEED, tokenizer.encode, fresh=lambda attempt: (limits.fresh_text(ENCODING_SPEED_CHARS, attempt),)
    )
    text = run.inputs[0]
    expected = tinystories_tiktoken().encode(text, allowed_special={EOT})
    assert_tinystories_ids(run.value, expected, text, "encode() of the text generated for this run")


@pytest.mark.points(2)
@needs_memory_measurement
def test_encode_iterable_streams_in_bounded_memory(limits):
    """STREAMING_MEMORY: encode_iterable(open(file)) over a 16 MB file generated for this run, with the tinystories
    vocab, giving tiktoken's ids (first checked: encode() is fast enough to stream the file in the time allowed)."""
    vocab, merges = tinystories()
    source = limits.fresh_corpus("streaming memory", 16_000_000, repeat=8)
    run, expected = limits.streaming_memory(STREAMING_MEMORY, source, vocab, merges, [EOT], tinystories_tiktoken())
    assert_stream_equal(run.value, expected, source.path(), tinystories_tiktoken(), [EOT], vocab)


@pytest.mark.points(2)
@needs_memory_measurement
def test_training_in_bounded_memory(limits):
    """TRAINING_MEMORY: run_train_bpe on an 8 MB ASCII file generated for this run, to vocab_size 300; the merges
    must be that file's (checked at the first, the last and steps drawn for the run)."""
    source = limits.fresh_corpus("training memory", 8_000_000, mixed=False, repeat=8)
    run = limits.training_memory(TRAINING_MEMORY, source, 300, [EOT])
    vocab, merges = run.value
    limits.assert_trained_on(source.path(), vocab, merges, 300, [EOT])
