"""The same ids as tiktoken: on real vocabularies (each with its own regex and specials), and on the merges your
training learns."""

from __future__ import annotations

import pytest

from bpe_harness.data.encodings import encoding_from_merges, get_encoding, unavailable_reason
from bpe_harness.plugin.divergence import assert_ids_equal, assert_vocab_built_from
from bpe_harness.rules import GPT2_PATTERN
from tests.common import CORPORA, EOT, read_sample, real_tokenizer, real_vocab

SAMPLES = ["multilingual", "english", "whitespace", "code", "specials", "documents"]


@pytest.mark.points(1)
@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_matches_tiktoken(get_tokenizer, name, sample):
    text = read_sample(sample)
    expected = get_encoding(name).encode(text, allowed_special="all")
    tokenizer = real_tokenizer(get_tokenizer, name)
    assert_ids_equal(tokenizer.encode(text), expected, text, real_vocab(name).vocab, f"{name} on {sample}")


@pytest.mark.points(0)
def test_matches_tiktoken_gpt2(get_tokenizer):
    reason = unavailable_reason("gpt2")
    if reason:
        pytest.skip(reason)
    text = read_sample("documents")
    expected = get_encoding("gpt2").encode(text, allowed_special="all")
    tokenizer = real_tokenizer(get_tokenizer, "gpt2")
    assert_ids_equal(tokenizer.encode(text), expected, text, real_vocab("gpt2").vocab, "gpt2")


@pytest.mark.points(1)
def test_tokenizer_from_your_training_matches_tiktoken(run_train_bpe, get_tokenizer):
    """Train on one corpus, encode held-out text: tiktoken built from your merges must give the same tokens."""
    vocab, merges = run_train_bpe(CORPORA / "tinystories_sample.txt", 1000, [EOT])
    assert_vocab_built_from(vocab, merges, [EOT], 1000)  # your merges may differ from the reference's, not be missing
    enc = encoding_from_merges("your_merges", merges, GPT2_PATTERN, [EOT])
    text = read_sample("held_out")
    got = [vocab[i] for i in get_tokenizer(vocab, merges, [EOT]).encode(text)]
    expected = [enc.decode_single_token_bytes(t) for t in enc.encode(text, allowed_special="all")]
    assert_ids_equal(got, expected, text, None, "tokens (as bytes) of held-out text")
