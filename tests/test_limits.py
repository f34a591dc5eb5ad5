"""Speed and memory limits: your code runs in a separate worker process and is measured from the outside.

Speed limits are multiples of a calibration (a fixed pure-Python workload timed on this machine in this run), so they
mean the same on a fast and a slow computer. Memory is the worker's peak resident memory above its level just before
the call. How the limits are set, and why: bpe_harness/limits.py. On a slow or busy machine: --limit-scale 2.
The terminal summary shows each limit's measured value against what is allowed, whether the test passed or not.
Each test states its limit, the call and the input; the `limits` fixture (bpe_harness/limit_checks.py) runs it.
"""

from __future__ import annotations

import pytest

from bpe_harness.compare import assert_merges_equal, assert_vocab_built_from
from bpe_harness.generated_inputs import GeneratedCorpus
from bpe_harness.limit_checks import first_merge
from bpe_harness.limits import (
    ENCODING_SPEED,
    ENCODING_SPEED_CHARS,
    STREAMING_MEMORY,
    TRAINING_MEMORY,
    TRAINING_SPEED,
    memory_unsupported_reason,
)
from bpe_harness.stream_digest import assert_stream_equal
from tests.common import CORPORA, EOT, assert_tinystories_ids, tinystories, tinystories_tiktoken, tinystories_tokenizer

LARGE_TEXT = GeneratedCorpus("encode-iterable", size=16_000_000, seed=11, repeat=8)
TRAINING_TEXT = GeneratedCorpus("train-memory", size=8_000_000, seed=21, mixed=False)
needs_memory_measurement = pytest.mark.skipif(
    memory_unsupported_reason() is not None, reason=str(memory_unsupported_reason())
)


@pytest.mark.points(2)
def test_training_speed(limits, run_train_bpe):
    """TRAINING_SPEED: run_train_bpe on tinystories_sample.txt to vocab_size 1000, with the reference's merges."""
    corpus = CORPORA / "tinystories_sample.txt"  # its documents in a new order each time: the same merges
    run = limits.speed(
        TRAINING_SPEED, run_train_bpe, fresh=lambda attempt: (limits.fresh_file(corpus, attempt), 1000, [EOT])
    )
    vocab, merges = run.value
    assert_merges_equal(merges, tinystories().merges, run.inputs[0], [EOT])


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
    assert_tinystories_ids(run.value, expected, text, f"encode() of the text generated from seed {limits.seed}")


@pytest.mark.points(2)
@needs_memory_measurement
def test_encode_iterable_streams_in_bounded_memory(limits):
    """STREAMING_MEMORY: encode_iterable(open(file)) over a generated 16 MB file with the tinystories vocab, giving
    tiktoken's ids (first checked: encode() is fast enough to stream the file in the time allowed)."""
    vocab, merges = tinystories()
    run, expected = limits.streaming_memory(STREAMING_MEMORY, LARGE_TEXT, vocab, merges, [EOT], tinystories_tiktoken())
    assert_stream_equal(run.value, expected, LARGE_TEXT.path(), tinystories_tiktoken(), [EOT], vocab)


@pytest.mark.points(2)
@needs_memory_measurement
def test_training_in_bounded_memory(limits):
    """TRAINING_MEMORY: run_train_bpe on a generated 8 MB ASCII file to vocab_size 300, learning its most frequent
    pair first."""
    run = limits.training_memory(TRAINING_MEMORY, TRAINING_TEXT, 300, [EOT])
    vocab, merges = run.value
    assert_vocab_built_from(vocab, merges, [EOT], 300)
    first = first_merge(TRAINING_TEXT, [EOT])
    assert tuple(merges[0]) == first["pair"], (
        f"the first merge is {merges[0]!r}; expected {first['pair']!r}, the most frequent pair of the corpus "
        f"({first['count']:,} times; ties go to the greatest pair)"
    )
