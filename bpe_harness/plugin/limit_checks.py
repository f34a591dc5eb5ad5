"""The `limits` fixture (bpe_harness.plugin.hooks): how a limit test runs, so that the test itself only states the limit
(bpe_harness.plugin.limits: TRAINING_SPEED, ENCODING_SPEED, STREAMING_MEMORY, TRAINING_MEMORY), the call and its input.

Speed is measured in the test's own worker (the `impl` fixture; every attempt restarts it, on fresh input), memory in a
worker of its own (`impl_alone`: nothing from earlier calls shows in its figures). Every input is generated for the run
from its secret (plugin/generated_inputs.py), and what a correct implementation must return is known here: tiktoken's
ids for encoding, and for training the merges checked step by step (plugin/merge_check.py). Every limit is a multiple
of this run's calibration and reports its measured vs allowed line in the terminal summary.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bpe_harness.client import WorkerTimeout
from bpe_harness.client.measure import Call, mb
from bpe_harness.data.corpus import generate_text
from bpe_harness.plugin.divergence import assert_vocab_built_from
from bpe_harness.plugin.generated_inputs import FreshCorpus, FreshInputs, input_seed
from bpe_harness.plugin.limits import (
    ENCODING_SPEED,
    SCALE_OPTION,
    Calibration,
    MemoryBudget,
    SpeedLimit,
)
from bpe_harness.plugin.merge_check import assert_merges_hold, steps_to_check
from bpe_harness.plugin.stream_digest import ExpectedStream
from bpe_harness.settings import ROOT

STREAM_PROBE = ROOT / "tests" / "fixtures" / "corpora" / "documents.txt"  # timed before a stream is measured


class Limits:
    """Runs one call of the implementation under a limit (see the module's docstring)."""

    def __init__(
        self,
        calibration: Calibration,
        report: Callable[[str], None],
        secret: int,
        inputs: FreshInputs,
        fixture: Callable[[str], object],
    ):
        self.calibration, self.report, self._secret, self._inputs = calibration, report, secret, inputs
        self._fixture = fixture  # request.getfixturevalue: a test gets only the workers it uses
        self._corpora: dict[Path, FreshCorpus] = {}

    def fresh_corpus(self, purpose: str, size: int, attempt: int = 0, *, mixed: bool = True, repeat: int = 1):
        """A corpus of about `size` bytes generated for this run, purpose and attempt (tinystories style), in a file of
        this run's with a random name: nothing can have seen it before, nor can its name or text tell anything else."""
        source = FreshCorpus(self._inputs, size, input_seed(self._secret, purpose, attempt), mixed=mixed, repeat=repeat)
        self._corpora[source.path()] = source
        return source

    def fresh_text(self, chars: int, attempt: int) -> str:
        """`chars` characters of text generated for this run and attempt: nothing can have encoded it before."""
        return generate_text(input_seed(self._secret, "encoding speed", attempt), chars)

    def assert_trained_on(self, path: Path, vocab, merges, vocab_size: int, special_tokens: list[str]) -> None:
        """The training's output is that of the fresh corpus at `path`: the vocab follows from the merges, and the
        merges are the corpus's at the first, the last and steps drawn from the run's secret (merge_check)."""
        __tracebackhide__ = True
        source = self._corpora[path]
        assert_vocab_built_from(vocab, merges, special_tokens, vocab_size)
        steps = steps_to_check(len(merges), input_seed(self._secret, "steps"))
        words = source.words(special_tokens)
        assert_merges_hold(merges, words, steps, f"training on the text generated for this run ({path.name})")

    def speed(self, limit: SpeedLimit, function: Callable, fresh: Callable[[int], tuple]) -> Call:
        """function(*fresh(attempt)), a call of the test's worker, within `limit` (the better of two attempts); the
        measured Call, with what the function returned in `value` and its arguments in `inputs`."""
        __tracebackhide__ = True
        return limit.run(self.calibration, self._fixture("impl"), function, report=self.report, fresh=fresh)

    def training_memory(
        self, limit: MemoryBudget, source: FreshCorpus, vocab_size: int, special_tokens: list[str]
    ) -> Call:
        """run_train_bpe on the generated corpus, in a worker of its own, within `limit`; the measured Call."""
        __tracebackhide__ = True
        alone = self._fixture("impl_alone")
        path = source.path()
        run = limit.run(self.calibration, alone, alone.train, path, vocab_size, special_tokens, report=self.report)

        def scale() -> str:
            occurrences = source.pretoken_stats(special_tokens)
            return (
                f"keeping each of its {occurrences['occurrences']:,} pre-token occurrences as a str "
                f"takes {mb(occurrences['list_of_str_bytes'])}, the text itself {mb(source.text_stats()['str_bytes'])}"
            )

        limit.check(run, scale, report=self.report)
        return run

    def streaming_memory(
        self,
        limit: MemoryBudget,
        source: FreshCorpus,
        vocab: dict[int, bytes],
        merges: list[tuple[bytes, bytes]],
        special_tokens: list[str],
        encoding,
    ) -> tuple[Call, ExpectedStream]:
        """encode_iterable(open(file)) of the generated corpus, with a tokenizer built in a worker of its own,
        within `limit`: (the measured Call, the ids it must give, from tiktoken's `encoding`). The encoder's speed is
        checked first (_fast_enough_to_stream), so an encoder too slow to finish the stream fails in seconds."""
        __tracebackhide__ = True
        self._fast_enough_to_stream(limit, source, vocab, merges, special_tokens)
        alone = self._fixture("impl_alone")
        tok = alone.tokenizer(vocab, merges, special_tokens)
        path, expected = source.path(), ExpectedStream.of(source, encoding, special_tokens)
        run = limit.run(
            self.calibration, alone, tok.encode_iterable_file, path, expected_blocks=expected.blocks, report=self.report
        )
        limit.check(
            run,
            lambda: (
                f"the whole text as one str takes {mb(source.text_stats()['str_bytes'])} and its "
                f"{expected.count:,} ids as a list at least {mb(8 * expected.count)}"
            ),
            report=self.report,
        )
        return run, expected

    def _fast_enough_to_stream(
        self,
        limit: MemoryBudget,
        source: FreshCorpus,
        vocab: dict[int, bytes],
        merges: list[tuple[bytes, bytes]],
        special_tokens: list[str],
    ) -> None:
        """Memory is measured over the whole stream, within the limit's time. An encoder so slow that the stream
        cannot finish in that time is stopped here within seconds, and the message names encoding speed (not
        memory): encode() of documents.txt, timed like test_encoding_speed, projected to the stream's size."""
        __tracebackhide__ = True
        impl, calibration = self._fixture("impl"), self.calibration
        with open(STREAM_PROBE, encoding="utf-8", newline="") as f:
            text = f.read()
        stream_chars, stream_bytes = source.text_stats()["chars"], source.text_stats()["bytes"]
        stream_allowed = calibration.allowed(limit.timeout)
        allowed = stream_allowed * len(text) / stream_chars  # the sample's share of the stream's time
        tok = impl.tokenizer(vocab, merges, special_tokens)
        try:
            tok.encode(text, timeout=1.5 * allowed)
            seconds, stopped = impl.last.seconds, False
        except WorkerTimeout as e:
            seconds, stopped = e.seconds, True
        if not stopped and seconds <= allowed:
            return
        took = f"was stopped after {seconds:.1f} s" if stopped else f"took {seconds:.2f} s"
        projected = seconds * stream_chars / len(text)
        self.report(
            f"{limit.what}: not measured: encode() too slow to stream it "
            f"(~{projected:.0f} s projected, {stream_allowed:.0f} s allowed)  <-- encoder speed"
        )
        raise AssertionError(
            "\n".join(
                [
                    f"Memory not measured: your encoder is too slow to stream the {stream_bytes / 1e6:.0f} MB file "
                    "in the time this test allows.",
                    f"encode() of documents.txt ({len(text) / 1e3:.0f}K characters) {took} "
                    f"({'over ' if stopped else ''}{seconds / calibration.seconds:.1f} x calibration; "
                    f"test_encoding_speed allows {ENCODING_SPEED.factor:g} x, the staff solution takes "
                    f"~{ENCODING_SPEED.reference:g} x). At that speed encode_iterable over the file would take "
                    f"{'more than ' if stopped else 'about '}{projected:.0f} s; "
                    f"this test stops it at {stream_allowed:.0f} s ({limit.timeout:g} x {calibration.describe()}).",
                    "Make encode fast first (`uv run pytest -k test_encoding_speed` measures it). "
                    f"Hint: {ENCODING_SPEED.hint}",
                    f"(If this machine is unusually slow, rerun with {SCALE_OPTION} 2.)",
                ]
            )
        )
