"""Is a leaderboard entry valid? Checks of the records alone, without running anything (staff side, not in the
student handout; `python -m leaderboard validate` runs them, and render shows only the entries that pass).

Every submission against the schema, its seal, the digests of its code, and plausibility: the ratios and score follow
from the raw times, the raw times are positive and consistent, the pace-setter version is current, and its merges
and vocab agree with every other entry trained on the same corpus (all correct implementations produce the same ones).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from leaderboard import pacer, record
from leaderboard.record import RecordError

PLAUSIBLE = (0.01, 1000.0)  # a time ratio outside this range is a broken measurement, not a result


def submission_files(directory: Path = record.SUBMISSIONS) -> list[Path]:
    return sorted(Path(directory).glob("*.json"))


def inputs_key(rec: dict) -> tuple:
    """Entries with the same key were measured on the very same inputs (every round's corpus and held-out text)."""
    c = rec["corpus"]
    return (
        tuple(c["rounds_sha256"]),
        c["vocab_size"],
        tuple(c["special_tokens"]),
        tuple(rec["held_out"]["rounds_sha256"]),
    )


def spec_key(rec: dict) -> tuple:
    """Entries with the same key are ranked together: the same kind and size of inputs, and the same standing
    (ranked: measured by staff on inputs drawn when measuring; practice: inputs known in advance)."""
    c = rec["corpus"]
    what = ("generated", c["size"]) if c["kind"] == "generated" else ("file", c["sha256"])
    return (
        rec["inputs"]["ranked"],
        *what,
        c["vocab_size"],
        tuple(c["special_tokens"]),
        rec["held_out"]["size"],
        rec["rounds"],
    )


def _close(a: float, b: float, rel: float = 2e-3) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-4


def check_record(rec: dict, path: Path) -> list[str]:
    """Problems with one record (empty: valid). Schema first: nothing else is checked on a malformed record."""
    errors = record.schema_errors(rec)
    if errors:
        return [f"schema: {e}" for e in errors]
    problems = _provenance_problems(rec, path)
    for part in ("train", "encode"):
        problems += _timing_problems(rec, part)
    return problems + _rounds_problems(rec)


def _provenance_problems(rec: dict, path: Path) -> list[str]:
    """Its name, seal, code digests and pace-setter version."""
    problems = []
    if rec["name"] != path.stem:
        problems.append(f"name {rec['name']!r} does not match the file name {path.name}")
    if rec["seal"] != record.seal(rec):
        problems.append("seal: the file was edited after `submit` wrote it (its content no longer matches its seal)")
    code = rec["code"]
    if code["kind"] == "text":
        for f in code["files"]:
            if record.sha256_text(f["text"]) != f["sha256"]:
                problems.append(f"code: {f['path']} does not match its sha256 (the code was edited)")
    if record.code_digest(code["files"]) != code["sha256"]:
        problems.append("code: the digest over the files does not match code.sha256")
    if rec["pacer_version"] != pacer.VERSION:
        problems.append(
            f"measured against pace-setter v{rec['pacer_version']}, this kit's is v{pacer.VERSION}: "
            "ratios are not comparable; re-submit"
        )
    return problems


def _timing_problems(rec: dict, part: str) -> list[str]:
    """The raw times of `part` ("train" or "encode"): one per round and side, each consistent with its wall and
    CPU time, and the ratio their median, within PLAUSIBLE."""
    sub, pace = rec[part]["submission"], rec[part]["pacer"]
    if not len(sub) == len(pace) == rec["rounds"]:
        return [f"{part}: {len(sub)} and {len(pace)} timings for {rec['rounds']} rounds"]
    problems = []
    for t in sub + pace:
        # each call is charged its CPU time (or its wall time when lower), or its wall time once it started
        # processes or waited (rounds.charge); a step sums its calls: never more than its wall time, plus the
        # CPU its worker spent importing beyond the allowance (import_s)
        if not 0 < t["seconds"] <= t["wall_s"] + t.get("import_s", 0) + 1e-3 or (
            t["waited"] and t["seconds"] < t["cpu_s"] - 1e-3 and t["seconds"] < t["wall_s"] - 1e-3
        ):
            problems.append(
                f"{part}: a timing's seconds {t['seconds']} does not follow from its wall time "
                f"{t['wall_s']} and CPU time {t['cpu_s']}"
            )
            break
    ratio = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(sub, pace, strict=False))
    if not _close(ratio, rec[part]["ratio"]):
        problems.append(
            f"{part}: ratio {rec[part]['ratio']} does not follow from the raw times (median of "
            f"the rounds' ratios is {ratio:.4f})"
        )
    if not PLAUSIBLE[0] <= rec[part]["ratio"] <= PLAUSIBLE[1]:
        problems.append(f"{part}: ratio {rec[part]['ratio']} is outside the plausible {PLAUSIBLE}")
    return problems


def _rounds_problems(rec: dict) -> list[str]:
    """The inputs' standing, one corpus, held-out text and output per round, and the figures derived from the
    times (score, MB/s)."""
    problems = []
    inputs = rec["inputs"]
    if inputs["ranked"] and inputs["practice"]:
        problems.append(
            "inputs: a ranked entry must have been measured on inputs drawn when measuring (practice is true)"
        )
    n = rec["rounds"]
    if not (
        len(rec["corpus"]["rounds_sha256"])
        == len(rec["held_out"]["rounds_sha256"])
        == len(rec["outputs"]["rounds"])
        == n
    ):
        problems.append(
            f"rounds: {n} rounds but {len(rec['corpus']['rounds_sha256'])} corpora, "
            f"{len(rec['held_out']['rounds_sha256'])} held-out texts, {len(rec['outputs']['rounds'])} "
            "outputs"
        )
    if rec["corpus"]["kind"] == "generated" and n > 1 and len(set(rec["held_out"]["rounds_sha256"])) < n:
        problems.append("rounds: every round must encode a different text (the same text twice)")
    if not _close(rec["score"], math.sqrt(rec["train"]["ratio"] * rec["encode"]["ratio"])):
        problems.append(f"score {rec['score']} is not the geometric mean of the train and encode ratios")
    mb = rec["held_out"]["bytes"] * rec["rounds"] / 1e6 / sum(t["seconds"] for t in rec["encode"]["submission"])
    if not _close(mb, rec["encode"]["mb_per_s"], 1e-2):
        problems.append(f"encode: mb_per_s {rec['encode']['mb_per_s']} does not follow from the times ({mb:.3f})")
    return problems


def check_consensus(records: dict[Path, dict]) -> dict[Path, list[str]]:
    """Entries on the same inputs must agree on merges and vocab; the odd ones out (or all, if no majority) fail."""
    groups: dict[tuple, list[Path]] = {}
    for path, rec in records.items():
        groups.setdefault(inputs_key(rec), []).append(path)
    problems: dict[Path, list[str]] = {}
    for paths in groups.values():
        votes: dict[tuple, list[Path]] = {}
        for p in paths:
            o = records[p]["outputs"]
            votes.setdefault(tuple((x["merges_sha256"], x["vocab_sha256"]) for x in o["rounds"]), []).append(p)
        if len(votes) < 2:
            continue
        ranked = sorted(votes.items(), key=lambda kv: -len(kv[1]))
        majority = ranked[0][1] if len(ranked[0][1]) > len(ranked[1][1]) else []
        for p in paths:
            if p not in majority:
                others = ", ".join(q.stem for q in paths if q != p)
                problems.setdefault(p, []).append(
                    f"outputs: its merges/vocab digests differ from other entries on the same corpus ({others})"
                )
    return problems


def validate(files: list[Path]) -> dict[Path, list[str]]:
    results: dict[Path, list[str]] = {}
    loaded: dict[Path, dict] = {}
    for path in files:
        try:
            rec = record.load(path)
        except RecordError as e:
            results[path] = [str(e)]
            continue
        results[path] = check_record(rec, path)
        if not results[path]:
            loaded[path] = rec
    for path, problems in check_consensus(loaded).items():
        results[path] += problems
    return results
