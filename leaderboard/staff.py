"""Staff side of the leaderboard (not in the student handout): validate, verify, list; render lives in render.py.

* `validate [FILE...]`: every submission (default: all of leaderboard/submissions) against the schema, its seal,
  the digests of its code, and plausibility: the ratios and score follow from the raw times, the raw times are
  positive and consistent, the pace-setter version is current, and its merges and vocab agree with every other
  entry trained on the same corpus (all correct implementations produce the same ones).
* `verify NAME`: re-run the entry from its code on this machine (the code is rebuilt from the record's text in a
  temporary folder, or, for staff modules, checked against the files' digests) with the same corpus spec and
  rounds; the outputs must be identical, the score (the ranked figure) within TOLERANCE of the submitted one and
  each of the train and encode ratios within twice that (a pool's train ratio moves with the number of free cores).
* `list [--changed-since REF]`: submission names as JSON, for the CI matrix (one verify job per submission).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from leaderboard import TOLERANCE, benchmark, pacer, record
from leaderboard.benchmark import Spec
from leaderboard.record import ROOT, RecordError

PLAUSIBLE = (0.01, 1000.0)  # a time ratio outside this range is a broken measurement, not a result


def submission_files(directory: Path = record.SUBMISSIONS) -> list[Path]:
    return sorted(Path(directory).glob("*.json"))


def spec_key(rec: dict) -> tuple:
    """Entries with the same key were measured on the same inputs and are ranked together."""
    c = rec["corpus"]
    return (c["sha256"], c["vocab_size"], tuple(c["special_tokens"]), rec["held_out"]["sha256"])


def _close(a: float, b: float, rel: float = 2e-3) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-4


def check_record(rec: dict, path: Path) -> list[str]:
    """Problems with one record (empty: valid). Schema first: nothing else is checked on a malformed record."""
    errors = record.schema_errors(rec)
    if errors:
        return [f"schema: {e}" for e in errors]
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
        problems.append(f"measured against pace-setter v{rec['pacer_version']}, this kit's is v{pacer.VERSION}: "
                        "ratios are not comparable; re-submit")
    for part in ("train", "encode"):
        sub, pace = rec[part]["submission"], rec[part]["pacer"]
        if not len(sub) == len(pace) == rec["rounds"]:
            problems.append(f"{part}: {len(sub)} and {len(pace)} timings for {rec['rounds']} rounds")
            continue
        for t in sub + pace:
            # the harness charges a call its CPU time (or its wall time when lower), or its wall time once it
            # started processes (bpe_harness.isolation.measure.Call.seconds): nothing else is plausible
            charged = (min(t["wall_s"], t["cpu_s"] or t["wall_s"]), t["wall_s"])
            if not any(abs(t["seconds"] - c) <= 1e-3 for c in charged):
                problems.append(f"{part}: a timing's seconds {t['seconds']} is neither its wall time nor "
                                "min(wall, cpu)")
                break
        ratio = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(sub, pace))
        if not _close(ratio, rec[part]["ratio"]):
            problems.append(f"{part}: ratio {rec[part]['ratio']} does not follow from the raw times (median of "
                            f"the rounds' ratios is {ratio:.4f})")
        if not PLAUSIBLE[0] <= rec[part]["ratio"] <= PLAUSIBLE[1]:
            problems.append(f"{part}: ratio {rec[part]['ratio']} is outside the plausible {PLAUSIBLE}")
    if not _close(rec["score"], math.sqrt(rec["train"]["ratio"] * rec["encode"]["ratio"])):
        problems.append(f"score {rec['score']} is not the geometric mean of the train and encode ratios")
    mb = rec["held_out"]["bytes"] / 1e6 / statistics.median(t["seconds"] for t in rec["encode"]["submission"])
    if not _close(mb, rec["encode"]["mb_per_s"], 1e-2):
        problems.append(f"encode: mb_per_s {rec['encode']['mb_per_s']} does not follow from the times ({mb:.3f})")
    return problems


def check_consensus(records: dict[Path, dict]) -> dict[Path, list[str]]:
    """Entries on the same inputs must agree on merges and vocab; the odd ones out (or all, if no majority) fail."""
    groups: dict[tuple, list[Path]] = {}
    for path, rec in records.items():
        groups.setdefault(spec_key(rec), []).append(path)
    problems: dict[Path, list[str]] = {}
    for paths in groups.values():
        votes: dict[tuple, list[Path]] = {}
        for p in paths:
            o = records[p]["outputs"]
            votes.setdefault((o["merges_sha256"], o["vocab_sha256"]), []).append(p)
        if len(votes) < 2:
            continue
        ranked = sorted(votes.items(), key=lambda kv: -len(kv[1]))
        majority = ranked[0][1] if len(ranked[0][1]) > len(ranked[1][1]) else []
        for p in paths:
            if p not in majority:
                others = ", ".join(q.stem for q in paths if q != p)
                problems.setdefault(p, []).append(
                    f"outputs: its merges/vocab digests differ from other entries on the same corpus ({others})")
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


def cmd_validate(args) -> int:
    files = args.files or submission_files()
    if not files:
        print("no submissions to validate")
        return 0
    results = validate(files)
    bad = {p: e for p, e in results.items() if e}
    for path, problems in results.items():
        print(f"{'INVALID' if problems else 'ok     '} {path}")
        for problem in problems:
            print(f"        {problem}")
    print(f"{len(files) - len(bad)} of {len(files)} submissions valid")
    return 1 if bad else 0


# --- verify -------------------------------------------------------------------------------------------------------


def materialize(rec: dict, folder: Path) -> str:
    """An --impl value running the record's code: its files rebuilt under `folder`, or the staff module itself."""
    code = rec["code"]
    if code["kind"] == "module":
        for f in code["files"]:
            path = ROOT / f["path"]
            if not path.exists() or record.hashlib.sha256(path.read_bytes()).hexdigest() != f["sha256"]:
                raise RecordError(f"{f['path']} changed since {rec['name']} was submitted (or is missing): its code "
                                  "is no longer what was measured; re-submit it with --force")
        return code["module"]
    for f in code["files"]:
        target = (folder / f["path"]).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise RecordError(f"code path {f['path']!r} leaves the submission's folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f["text"], encoding="utf-8", newline="")
    (folder / "pyproject.toml").write_text("# rebuilt submission; marks the project root for --impl\n")
    return str(folder / code["adapters"])


def spec_of(rec: dict, corpus: Path | None, timeout: float) -> Spec:
    c, h = rec["corpus"], rec["held_out"]
    spec = Spec(vocab_size=c["vocab_size"], special_tokens=list(c["special_tokens"]), held_out_size=h["size"],
                held_out_seed=h["seed"], rounds=rec["rounds"], timeout=timeout)
    if c["kind"] == "generated":
        spec.size, spec.seed = c["size"], c["seed"]
    elif corpus is None:
        raise RecordError(f"{rec['name']} was trained on a file ({c['name']}); pass --corpus PATH to verify it")
    elif not corpus.is_file() or benchmark.file_sha256(corpus) != c["sha256"]:
        raise RecordError(f"--corpus {corpus}: not the file {rec['name']} was trained on ({c['name']}, "
                          f"{c['bytes']:,} bytes, sha256 {c['sha256'][:12]}...)")
    else:
        spec.corpus = corpus
    return spec


def compare(old: dict, new: dict, tolerance: float) -> list[str]:
    problems = []
    for key in ("merges_sha256", "vocab_sha256", "ids_sha256"):
        if old["outputs"][key] != new["outputs"][key]:
            problems.append(f"outputs differ: {key} (the code does not produce what was submitted)")
    for key in ("sha256",):
        if old["corpus"][key] != new["corpus"][key] or old["held_out"][key] != new["held_out"][key]:
            problems.append("the corpus or held-out text differs from the submission's (generator changed?)")
    checks = [("score", old["score"], new["score"], tolerance)]
    checks += [(f"{part} ratio", old[part]["ratio"], new[part]["ratio"], 2 * tolerance) for part in ("train", "encode")]
    for what, a, b, allowed in checks:
        if abs(b / a - 1) > allowed:
            problems.append(f"{what} does not reproduce: submitted {a:.3f}, measured {b:.3f} here "
                            f"({b / a - 1:+.0%}; allowed ±{allowed:.0%})")
    return problems


def verify(rec: dict, *, corpus: Path | None = None, timeout: float = 600.0, tolerance: float = TOLERANCE,
           show_progress: bool = True) -> tuple[dict, list[str]]:
    spec = spec_of(rec, corpus, timeout)
    with tempfile.TemporaryDirectory(prefix=f"verify-{rec['name']}-") as tmp:
        impl = materialize(rec, Path(tmp))
        new = benchmark.run(impl, spec, show_progress=show_progress)
    return new, compare(rec, new, tolerance)


def cmd_verify(args) -> int:
    path = record.SUBMISSIONS / f"{record.check_name(args.name)}.json" if args.file is None else args.file
    if not path.exists():
        raise RecordError(f"no submission {path}")
    problems = validate([path])[path]
    if problems:
        print(f"{path} is not valid, not re-running it:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    rec = record.load(path)
    new, problems = verify(rec, corpus=args.corpus, timeout=args.timeout, tolerance=args.tolerance,
                           show_progress=not args.quiet)
    for what, a, b in [("score", rec["score"], new["score"]),
                       *((f"{p} ratio", rec[p]["ratio"], new[p]["ratio"]) for p in ("train", "encode"))]:
        print(f"{what:12}: submitted {a:.3f}, here {b:.3f} ({b / a - 1:+.1%})")
    if problems:
        print(f"NOT VERIFIED {rec['name']}:\n  " + "\n  ".join(problems))
        return 1
    print(f"verified {rec['name']}: same outputs, score within ±{args.tolerance:.0%} "
          f"(train and encode ratios within ±{2 * args.tolerance:.0%})")
    return 0


def cmd_list(args) -> int:
    if args.changed_since:
        out = subprocess.run(["git", "diff", "--name-only", "--diff-filter=AM", args.changed_since, "--",
                              "leaderboard/submissions/*.json"], cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            raise RecordError(f"git diff against {args.changed_since!r} failed: {out.stderr.strip()}")
        names = sorted(Path(line).stem for line in out.stdout.split())
    else:
        names = [p.stem for p in submission_files()]
    print(json.dumps(names))
    return 0


def cmd_stability(args) -> int:
    """Same implementation, alternately on an idle machine and with one core kept busy: how far do ratios move?"""
    from staff.stability import start_load

    spec = Spec(size=args.size, held_out_size=args.held_out_size, rounds=args.rounds_per_run)
    rows = []
    for i in range(args.runs):
        for loaded in (False, True):
            busy = start_load() if loaded else None
            try:
                result = benchmark.run(args.impl, spec, show_progress=False)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
            rows.append((loaded, result["train"]["ratio"], result["encode"]["ratio"], result["score"]))
            print(f"run {i + 1} {'loaded' if loaded else 'idle  '}: train {rows[-1][1]:.3f}  encode {rows[-1][2]:.3f}  "
                  f"score {rows[-1][3]:.3f}  (load before {result['load_before']})", flush=True)
    worst = 0.0
    for k, what in ((1, "train"), (2, "encode"), (3, "score")):
        idle = statistics.median(r[k] for r in rows if not r[0])
        busy = statistics.median(r[k] for r in rows if r[0])
        spread = max(r[k] for r in rows) / min(r[k] for r in rows) - 1
        worst = max(worst, spread)
        print(f"{what:6}: idle median {idle:.3f}, loaded median {busy:.3f} ({busy / idle - 1:+.1%}); "
              f"max/min over all runs {spread:+.1%}")
    ok = worst <= args.tolerance
    print(f"{'WITHIN' if ok else 'OUTSIDE'} the ±{args.tolerance:.0%} tolerance")
    return 0 if ok else 1


def cmd_render(args) -> int:
    from leaderboard import render

    return render.main(args)


def add_commands(sub) -> None:
    p = sub.add_parser("validate", help="staff: schema, digests and plausibility of submissions")
    p.add_argument("files", nargs="*", type=Path)
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("verify", help="staff: re-run a submission from its code and confirm its ratios")
    p.add_argument("name")
    p.add_argument("--file", type=Path, help="a submission file outside leaderboard/submissions")
    p.add_argument("--corpus", type=Path, help="the corpus file, for entries not trained on the generated corpus")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--tolerance", type=float, default=TOLERANCE)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("list", help="staff: submission names as JSON (the CI matrix)")
    p.add_argument("--changed-since", metavar="GIT_REF")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("stability", help="staff: ratios of one implementation on an idle vs a loaded machine")
    p.add_argument("--impl", default="reference")
    p.add_argument("--runs", type=int, default=2, help="idle+loaded pairs")
    p.add_argument("--size", type=int, default=Spec().size)
    p.add_argument("--held-out-size", type=int, default=Spec().held_out_size)
    p.add_argument("--rounds-per-run", type=int, default=Spec().rounds)
    p.add_argument("--tolerance", type=float, default=TOLERANCE)
    p.set_defaults(run=cmd_stability)

    p = sub.add_parser("render", help="staff: write leaderboard/README.md and board.png/.svg")
    p.add_argument("--check", action="store_true", help="fail if README.md is not what render would write")
    p.add_argument("--dir", type=Path, default=record.SUBMISSIONS, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=ROOT / "leaderboard", help=argparse.SUPPRESS)
    p.add_argument("--no-plot", action="store_true", help="Markdown only")
    p.add_argument("--force", action="store_true", help="replace a README.md that render did not write")
    p.set_defaults(run=cmd_render)
