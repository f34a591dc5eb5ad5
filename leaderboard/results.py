"""A run's numbers as the submission record's fields: what the timed rounds gathered (`Tally`), the ratios (the
median over rounds of the submission's charged time over the pace-setter's, so both slow down together on a slower
or busier machine), the score, and the digests of the inputs and outputs that let `verify` re-run the same thing."""

from __future__ import annotations

import statistics
from pathlib import Path

from bpe_harness.files import sha256_file
from leaderboard.inputs import Spec, round_seeds


class Tally:
    """What the rounds gather: each side's charged steps (`charge`), the submission's peaks, the ids encoded, each
    round's output digests and inputs, and round 0's answers (`first`), which encode_iterable is measured on."""

    def __init__(self) -> None:
        self.train: dict = {"submission": [], "pacer": [], "peak_bytes": 0, "children_peak_bytes": 0}
        self.encode: dict = {"submission": [], "pacer": [], "ids": 0}
        self.outputs: list[dict] = []  # per round: merges, vocab and ids sha256
        self.inputs: list[tuple[Path, Path]] = []  # per round: (training corpus, held-out text)
        self.first: tuple | None = None  # round 0's (vocab, merges, held-out path, ids sha256, number of ids)
        self.encode_iterable: dict = {}


def score(train_ratio: float, encode_ratio: float) -> float:
    """The ranked figure: geometric mean of the two time ratios (lower is better; 1 = the pace-setter's time)."""
    return round((train_ratio * encode_ratio) ** 0.5, 4)


def _median_ratio(side: dict) -> float:
    return statistics.median(
        a["seconds"] / b["seconds"] for a, b in zip(side["submission"], side["pacer"], strict=False)
    )


def measured(spec: Spec, tally: Tally) -> dict:
    """The record's inputs, rounds, train, encode, encode_iterable and outputs fields."""
    enc = tally.encode
    held = [h for _, h in tally.inputs]
    text_mb = sum(h.stat().st_size for h in held) / 1e6
    return {
        "corpus": spec.corpus_record([c for c, _ in tally.inputs]),
        "held_out": {
            "kind": "generated",
            "style": "tinystories",
            "size": spec.held_out_size,
            "seed": round_seeds(spec.seed, 0)[1],
            "mixed": True,
            "bytes": held[0].stat().st_size,
            "sha256": sha256_file(held[0]),
            "rounds_sha256": [sha256_file(h) for h in held],
        },
        "rounds": spec.rounds,
        "train": {"ratio": round(_median_ratio(tally.train), 4), **tally.train},
        "encode": {
            "ratio": round(_median_ratio(enc), 4),
            "ids": enc["ids"],
            "mb_per_s": round(text_mb / sum(x["seconds"] for x in enc["submission"]), 3),
            "submission": enc["submission"],
            "pacer": enc["pacer"],
        },
        "encode_iterable": tally.encode_iterable,
        "outputs": {**tally.outputs[0], "rounds": tally.outputs},
    }


def run_fields(result: dict, spec: Spec, passed: list[str], sandbox: str, kit_sha256: str, load_before) -> dict:
    """`result` (measured()) with the fields of the whole run: the gate, the score, the machine's load before it,
    the inputs' seed, and how the implementation was isolated (`sandbox`: make_sandbox's kind)."""
    result["gate"] = {"passed": passed}
    result["score"] = score(result["train"]["ratio"], result["encode"]["ratio"])
    result["load_before"] = None if load_before is None else round(load_before, 2)
    result["inputs"] = {"seed": spec.seed, "practice": spec.practice, "ranked": False}
    result["isolation"] = {
        "sandbox": sandbox,
        "fresh_worker_per_round": True,
        "kit_sha256": kit_sha256,
        "waited": any(t["waited"] for part in ("train", "encode") for t in result[part]["submission"]),
    }
    return result
