"""The tokenizer leaderboard: a speed game that is fair across machines and not cheap to fake.

    uv run python -m leaderboard submit --name NAME        # students: gate + practice run -> submissions/NAME.json
    uv run python -m leaderboard validate                  # staff: schema, digests, plausibility of every entry
    uv run python -m leaderboard verify NAME [--code DIR] --write  # staff: re-run on a drawn seed, rank it
    uv run --group bench python -m leaderboard render      # staff: the board (README.md), board.png/.svg

A student's record (digests of the code, not the code) travels with their Gradescope submission; staff verify
re-runs exactly that code in a staged kit without staff/, on inputs nobody saw, and only such entries are ranked
(leaderboard/README.md).

Student side (shipped): `benchmark.py` (a run: the gate, then the timed rounds, the kit's files guarded), with
`inputs.py` (what is measured and each round's inputs), `gate.py`, `rounds.py` (timing and charging), `results.py`
(the numbers as record fields), `calls.py` and `errors.py` (calling the worker, and why a run stops), `sandboxing.py`,
`profiling.py` (`submit --profile`, the slow-run warning); `record.py` (the JSON record, schema-checked), `pacer.py`
(the yardstick), `schema.json`. Staff side (not in the handout): `staff_commands.py` (validate, verify, list,
stability, render), `validation.py`, `verification.py`, `render.py`.

`gradescope_leaderboard(record)` turns a record into Gradescope's `leaderboard` entries for the grader.
"""

from __future__ import annotations

TOLERANCE = 0.25  # verify: a re-run's score within 25% of the submitted one, each ratio within 50% (leaderboard/README)


def gradescope_leaderboard(record: dict) -> list[dict]:
    """Gradescope `leaderboard` entries for a submission record (time ratios ascending; no null values).

    >>> r = {"score": 1.5, "train": {"ratio": 1.2, "peak_bytes": 52_000_000},
    ...      "encode": {"ratio": 1.875, "mb_per_s": 7.5}, "encode_iterable": {"peak_bytes": 3_100_000}}
    >>> [e["name"] for e in gradescope_leaderboard(r)]
    ['Score (time ratio)', 'Train time ratio', 'Encode time ratio', 'Train peak MB', 'encode_iterable peak MB']
    """
    entries = [
        ("Score (time ratio)", record["score"]),
        ("Train time ratio", record["train"]["ratio"]),
        ("Encode time ratio", record["encode"]["ratio"]),
        ("Train peak MB", round(record["train"]["peak_bytes"] / 1e6, 1)),
        ("encode_iterable peak MB", round(record["encode_iterable"]["peak_bytes"] / 1e6, 1)),
    ]
    return [{"name": name, "value": value, "order": "asc"} for name, value in entries if value is not None]
