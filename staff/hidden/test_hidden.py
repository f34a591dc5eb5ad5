"""Hidden tests: the implementation against the reference on inputs drawn from a secret per-run seed.

Never shipped (staff/ is not in the handout); marked hidden on Gradescope. Hard-coding the public snapshots earns
nothing here, and special-token slips that the public suite's fixed corpora miss (a special removed, replaced by a
space, split on only once...) change the merges on these corpora.
"""

from __future__ import annotations

import random

import pytest

from bpe_harness.plugin.divergence import assert_ids_equal, assert_merges_equal, assert_text_equal, assert_vocab_matches
from staff.hidden.corpora import hidden_seed, make_case, probe_texts

CASES = 3
TIMEOUT = 30  # seconds for the reference's calls; the implementation's calls get the calibrated per-call limits


def _train_both(run_train_bpe, reference, corpus_dir, index, with_specials=True):
    case = make_case(hidden_seed(), index, with_specials=with_specials)
    path = corpus_dir / f"hidden_{index}.txt"
    path.write_bytes(case.text.encode("utf-8"))
    path.chmod(0o644)
    expected = reference.train(path, case.vocab_size, case.specials, timeout=TIMEOUT)
    got = run_train_bpe(path, case.vocab_size, case.specials)
    return case, path, expected, got


def _both_tokenizers(get_tokenizer, reference, corpus_dir, index):
    """(case, vocab, the reference's tokenizer, the implementation's) for a vocab the reference trains on case
    `index`."""
    case = make_case(hidden_seed(), index)
    path = corpus_dir / "corpus.txt"
    path.write_bytes(case.text.encode("utf-8"))
    path.chmod(0o644)
    vocab, merges = reference.train(path, case.vocab_size, case.specials, timeout=TIMEOUT)
    ref_tok = reference.tokenizer(vocab, merges, case.specials, timeout=TIMEOUT)
    return case, vocab, ref_tok, get_tokenizer(vocab, merges, case.specials)


@pytest.mark.points(4)
@pytest.mark.parametrize("index", range(CASES))
def test_hidden_training(run_train_bpe, reference, corpus_dir, index):
    case, path, (ref_vocab, ref_merges), (vocab, merges) = _train_both(run_train_bpe, reference, corpus_dir, index)
    assert_merges_equal(merges, ref_merges, path, case.specials)
    assert_vocab_matches(vocab, list(ref_vocab.values()), case.vocab_size)


@pytest.mark.points(3)
def test_hidden_training_without_specials(run_train_bpe, reference, corpus_dir):
    trained = _train_both(run_train_bpe, reference, corpus_dir, 99, with_specials=False)
    case, path, (ref_vocab, ref_merges), (vocab, merges) = trained
    assert_merges_equal(merges, ref_merges, path, case.specials)
    assert_vocab_matches(vocab, list(ref_vocab.values()), case.vocab_size)


@pytest.mark.points(3)
@pytest.mark.parametrize("index", range(CASES))
def test_hidden_encoding(get_tokenizer, reference, corpus_dir, index):
    case, vocab, ref_tok, tok = _both_tokenizers(get_tokenizer, reference, corpus_dir, index)
    for text in probe_texts(hidden_seed() + index, case):
        expected = ref_tok.encode(text, timeout=TIMEOUT)
        assert_ids_equal(tok.encode(text), expected, text, vocab, "encode")
        assert_text_equal(tok.decode(expected), text)


@pytest.mark.points(2)
@pytest.mark.parametrize("index", range(CASES))
def test_hidden_encode_iterable(get_tokenizer, reference, corpus_dir, index):
    case, vocab, ref_tok, tok = _both_tokenizers(get_tokenizer, reference, corpus_dir, index)
    text = "".join(probe_texts(hidden_seed() + 7 * index, case, n=4))
    rng = random.Random(hidden_seed() + index)
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, 60)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=False)]
    expected = ref_tok.encode(text, timeout=TIMEOUT)
    assert_ids_equal(tok.encode_iterable(chunks), expected, text, vocab, "encode_iterable")
