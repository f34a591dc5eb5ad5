"""What a student sees: each message the graded suite prints for a typical mistake names the rule that was broken
(driven here by mutants and bad variants, as a student's code would be)."""

from __future__ import annotations

import pytest

from staff.mutants.catalog import MUTANTS
from staff.mutants.run import grade
from staff.tests.runpytest import run_suite

BY_NAME = {m.name: m for m in MUTANTS}
TRAIN = "tests/test_train_bpe.py::test_training_matches_reference"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mutant", "test", "words"),
    [
        ("corpus_newlines_translated", f"{TRAIN}[tinystories_sample]", ["\\r\\n line ends", "newline=''"]),
        ("tie_smallest_pair", f"{TRAIN}[ties_greatest_not_first]", ["the very first merge differs", "a tie"]),
        (
            "merge_ids_overwrite_bytes",
            f"{TRAIN}[tinystories_sample]",
            ["the later overwrites the earlier", "not 256 + i"],
        ),
        (
            "iterable_drops_tail",
            "tests/test_encode_iterable.py::test_every_split_point[paragraphs]",
            ["the output stops early", "still in its buffer when the chunks run out"],
        ),
        (
            "buffered_cut",
            "tests/test_encode_iterable.py::test_cuts_in_a_long_text",
            ["a cut between chunks must not change the tokens"],
        ),
    ],
)
def test_a_typical_mistake_gets_a_message_naming_its_rule(mutant, test, words):
    graded = grade(BY_NAME[mutant], [test])
    failed = [t for t in graded.failed if t.startswith(test)]
    assert failed, f"{mutant} passed {test}\n{graded.output[-2000:]}"
    message = "\n".join(graded.messages[t] for t in failed)
    missing = [w for w in words if w not in message]
    assert not missing, f"{test}'s message for {mutant} lacks {missing}:\n{message[:3000]}"


@pytest.mark.slow
def test_a_buffering_encoder_passes_the_short_split_point_tests():
    """Why the long text is needed: the short split-point texts never make a 16K buffer cut."""
    graded = grade(BY_NAME["buffered_cut"], ["tests/test_encode_iterable.py::test_every_split_point"])
    assert graded.passed and not graded.failed, graded.output[-2000:]


@pytest.mark.slow
def test_changing_the_vocab_given_is_a_warning_not_a_failure(tmp_path):
    proc, outcomes = run_suite(tmp_path, "tests/test_special_tokens.py", "--impl", "staff.bad.mutating_vocab")
    assert outcomes and all(o.status == "passed" for o in outcomes), proc.stdout[-3000:]
    assert "warnings about your implementation (not failures)" in proc.stdout, proc.stdout[-3000:]
    assert "get_tokenizer() changed the vocab it was given" in proc.stdout, proc.stdout[-3000:]


def test_a_wrong_id_in_a_16_mb_stream_is_shown_marked_in_its_text(monkeypatch):
    """The streaming memory test compares digests; when they differ, the message shows the first wrong id marked
    >>like this<< in both sequences (compare.show_ids, the one renderer of ids) and the text around it."""
    from types import SimpleNamespace

    from bpe_harness.plugin import stream_digest
    from bpe_harness.protocol import BLOCK

    expected_ids = list(range(100, 100 + BLOCK)) * 2
    monkeypatch.setattr(stream_digest, "expected_ids", lambda path, encoding, specials: expected_ids)
    streamed = expected_ids[BLOCK:]
    streamed[5] = 7
    got = SimpleNamespace(count=len(expected_ids), sha256="0" * 64, first_bad=(1, streamed))
    expected = stream_digest.ExpectedStream(len(expected_ids), "1" * 64, expected_ids[:16], [])
    vocab = {i: bytes([65 + i % 26]) for i in range(300)}
    with pytest.raises(AssertionError) as failure:
        stream_digest.assert_stream_equal(got, expected, None, None, [], vocab)
    message = str(failure.value)
    assert f"the first difference is at id #{BLOCK + 5:,}" in message
    assert "expected: ... 102 b'Y', 103 b'Z', 104 b'A', >>105 b'B'<<, 106 b'C'" in message
    assert "got:      ... 102 b'Y', 103 b'Z', 104 b'A', >>7 b'H'<<, 106 b'C'" in message
