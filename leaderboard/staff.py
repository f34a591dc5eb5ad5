"""Staff side of the leaderboard (not in the student handout): validate, verify, list; render lives in render.py.

* `validate [FILE...]`: every submission (default: all of leaderboard/submissions) against the schema, its seal,
  the digests of its code, and plausibility: the ratios and score follow from the raw times, the raw times are
  positive and consistent, the pace-setter version is current, and its merges and vocab agree with every other
  entry trained on the same corpus (all correct implementations produce the same ones).
* `verify NAME [--code DIR] [--write]`: re-run the entry's code on inputs drawn now (a fresh seed) in a fresh,
  read-only kit without staff/ holding only its code (from --code DIR, the student's upload, checked against the
  record's digests; from the record's text; or, for staff modules, the staged staff modules, checked against their
  digests), through `submit` in a subprocess of that kit, in the sandbox when the machine allows it. The merges of
  every round must equal the reference's on the same fresh corpus, the staged kit must be unchanged, the score (the
  ranked figure) within TOLERANCE of the submitted one and each of the train and encode ratios within twice that (a
  pool's train ratio moves with the number of free cores). `--write` replaces the record with the ranked one.
* `list [--changed-since REF]`: names of submissions whose code the record holds (staff modules, text), as JSON,
  for the CI matrix (one verify job per submission); digest-only entries need `verify --code`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bpe_harness.files import sha256_file
from bpe_harness.settings import ROOT, cache_dir
from leaderboard import TOLERANCE, benchmark, pacer, record
from leaderboard.benchmark import Spec
from leaderboard.record import RecordError

PLAUSIBLE = (0.01, 1000.0)  # a time ratio outside this range is a broken measurement, not a result


def submission_files(directory: Path = record.SUBMISSIONS) -> list[Path]:
    return sorted(Path(directory).glob("*.json"))


def inputs_key(rec: dict) -> tuple:
    """Entries with the same key were measured on the very same inputs (every round's corpus and held-out text)."""
    c = rec["corpus"]
    return (tuple(c["rounds_sha256"]), c["vocab_size"], tuple(c["special_tokens"]), tuple(rec["held_out"]["rounds_sha256"]))


def spec_key(rec: dict) -> tuple:
    """Entries with the same key are ranked together: the same kind and size of inputs, and the same standing
    (ranked: measured by staff on inputs drawn when measuring; practice: inputs known in advance)."""
    c = rec["corpus"]
    what = ("generated", c["size"]) if c["kind"] == "generated" else ("file", c["sha256"])
    return (rec["inputs"]["ranked"], *what, c["vocab_size"], tuple(c["special_tokens"]), rec["held_out"]["size"],
            rec["rounds"])


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
            # each call is charged its CPU time (or its wall time when lower), or its wall time once it started
            # processes or waited (benchmark.charge); a step sums its calls: never more than its wall time
            if not 0 < t["seconds"] <= t["wall_s"] + 1e-3 or (t["waited"] and t["seconds"] < t["cpu_s"] - 1e-3
                                                                and t["seconds"] < t["wall_s"] - 1e-3):
                problems.append(f"{part}: a timing's seconds {t['seconds']} does not follow from its wall time "
                                f"{t['wall_s']} and CPU time {t['cpu_s']}")
                break
        ratio = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(sub, pace))
        if not _close(ratio, rec[part]["ratio"]):
            problems.append(f"{part}: ratio {rec[part]['ratio']} does not follow from the raw times (median of "
                            f"the rounds' ratios is {ratio:.4f})")
        if not PLAUSIBLE[0] <= rec[part]["ratio"] <= PLAUSIBLE[1]:
            problems.append(f"{part}: ratio {rec[part]['ratio']} is outside the plausible {PLAUSIBLE}")
    inputs = rec["inputs"]
    if inputs["ranked"] and inputs["practice"]:
        problems.append("inputs: a ranked entry must have been measured on inputs drawn when measuring "
                        "(practice is true)")
    n = rec["rounds"]
    if not (len(rec["corpus"]["rounds_sha256"]) == len(rec["held_out"]["rounds_sha256"])
            == len(rec["outputs"]["rounds"]) == n):
        problems.append(f"rounds: {n} rounds but {len(rec['corpus']['rounds_sha256'])} corpora, "
                        f"{len(rec['held_out']['rounds_sha256'])} held-out texts, {len(rec['outputs']['rounds'])} "
                        "outputs")
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

# the leaderboard files a staged kit needs (the staff side and the submissions stay out)
LEADERBOARD_KIT = ("leaderboard/__init__.py", "leaderboard/__main__.py", "leaderboard/benchmark.py",
                   "leaderboard/pacer.py", "leaderboard/record.py", "leaderboard/schema.json")
STAFF_MODULES = ("staff/__init__.py", "staff/reference", "staff/bad")  # staff entries (kind "module") only


class VerifyError(RecordError):
    """The entry cannot be re-run as asked (its code is not here, or is not the code it records)."""


def code_of(rec: dict, code_dir: Path | None, scratch: Path):
    """The submission's files as a grade.Submission (student-owned files only), checked against the record's code
    digest: from --code DIR (a Gradescope submission or a checkout), or rebuilt from the record's text."""
    from bpe_harness.grade import SubmissionError, read_submission

    code = rec["code"]
    if code["kind"] == "module":
        return None
    if code_dir is None:
        if code["kind"] == "digest":
            raise VerifyError(f"{rec['name']} records only the digests of its code: pass --code DIR with the "
                              "student's submission (e.g. their Gradescope upload, unzipped, or a checkout)")
        folder = scratch / "code"
        for f in code["files"]:
            target = (folder / f["path"]).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise RecordError(f"code path {f['path']!r} leaves the submission's folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f["text"], encoding="utf-8", newline="")
        code_dir = folder
    try:
        sub = read_submission(Path(code_dir), scratch)
    except SubmissionError as e:
        raise VerifyError(str(e)) from None
    files = record._read_code(sub.root, [sub.root / f for f in sub.files if f.endswith(".py")], with_text=False)
    if record.code_digest(files) != code["sha256"]:
        recorded = {f["path"]: f["sha256"] for f in code["files"]}
        here = {f["path"]: f["sha256"] for f in files}
        diff = sorted(k for k in recorded.keys() | here.keys() if recorded.get(k) != here.get(k))
        raise VerifyError(f"the code in {code_dir} is not the code {rec['name']} submitted (differs: "
                          f"{', '.join(diff[:8])}); verify runs exactly the recorded code")
    return sub


def stage_kit(rec: dict, sub, into: Path) -> str:
    """A fresh, read-only kit in `into` without staff/ (grade.stage), plus the leaderboard's student side and the
    submission's own files; staff entries also get the staff modules they name. Returns the --impl value."""
    from bpe_harness.grade import Submission, stage

    module = rec["code"]["kind"] == "module"
    extra = LEADERBOARD_KIT + (STAFF_MODULES if module else ())
    stage(ROOT, sub or Submission(ROOT, [], []), into, extra)
    if module:  # stage() keeps staff/ private to this user; a staff entry's worker must read its module
        for dirpath, _, _ in os.walk(into / "staff"):
            os.chmod(dirpath, 0o555)
        return rec["code"]["module"]
    # the handout's stubs under cs336_basics/ that the submission does not replace go: the kit then holds exactly
    # the code the record's digest names
    theirs = set(sub.files)
    for dirpath, _, filenames in os.walk(into / "cs336_basics"):
        for name in filenames:
            path = Path(dirpath) / name
            if path.relative_to(into).as_posix() not in theirs:
                os.chmod(dirpath, 0o755)
                path.unlink()
                os.chmod(dirpath, 0o555)
    return str(into / rec["code"]["adapters"])


def spec_of(rec: dict, corpus: Path | None, timeout: float, seed: int) -> Spec:
    c, h = rec["corpus"], rec["held_out"]
    spec = Spec(vocab_size=c["vocab_size"], special_tokens=list(c["special_tokens"]), held_out_size=h["size"],
                rounds=rec["rounds"], timeout=timeout, seed=seed, drawn=True)
    if c["kind"] == "generated":
        spec.size = c["size"]
    elif corpus is None:
        raise RecordError(f"{rec['name']} was trained on a file ({c['name']}); pass --corpus PATH to verify it")
    elif not corpus.is_file() or sha256_file(corpus) != c["sha256"]:
        raise RecordError(f"--corpus {corpus}: not the file {rec['name']} was trained on ({c['name']}, "
                          f"{c['bytes']:,} bytes, sha256 {c['sha256'][:12]}...)")
    else:
        spec.corpus = corpus
    return spec


def reference_outputs(spec: Spec, inputs: list[tuple[Path, Path]]) -> list[tuple[str, str]]:
    """(merges, vocab) digests of the staff reference on every round's corpus: what a correct trainer returns."""
    from bpe_harness.isolation import Client

    out = []
    with Client("reference") as ref:
        for corpus, _ in inputs:
            vocab, merges = ref.train(corpus, spec.vocab_size, spec.special_tokens, timeout=spec.timeout)
            out.append((benchmark.merges_sha256(merges), benchmark.vocab_sha256(vocab)))
            ref.reset()
    return out


def compare(old: dict, new: dict, tolerance: float) -> list[str]:
    problems = []
    if staff_inputs(old) == staff_inputs(new):  # the same inputs (a given seed): the same outputs
        for key in ("merges_sha256", "vocab_sha256", "ids_sha256"):
            if old["outputs"][key] != new["outputs"][key]:
                problems.append(f"outputs differ: {key} (the code does not produce what was submitted)")
    checks = [("score", old["score"], new["score"], tolerance)]
    checks += [(f"{part} ratio", old[part]["ratio"], new[part]["ratio"], 2 * tolerance) for part in ("train", "encode")]
    where = "on inputs drawn now" if new["inputs"]["ranked"] or not new["inputs"]["practice"] else "here"
    for what, a, b, allowed in checks:
        if abs(b / a - 1) > allowed:
            problems.append(f"{what} does not reproduce {where}: submitted {a:.3f}"
                            f"{' (practice, published inputs)' if old['inputs']['practice'] else ''}, measured "
                            f"{b:.3f} ({b / a - 1:+.0%}; allowed ±{allowed:.0%})")
    return problems


def staff_inputs(rec: dict) -> tuple:
    return inputs_key(rec)


def _run_staged(kit: Path, impl: str, rec: dict, spec: Spec, out: Path, show_progress: bool,
                sandbox: bool) -> subprocess.CompletedProcess:
    c = rec["corpus"]
    cmd = [sys.executable, "-m", "leaderboard", "submit", "--name", rec["name"], "--impl", impl, "--out", str(out),
           "--drawn-seed", str(spec.seed), "--vocab-size", str(spec.vocab_size), "--held-out-size",
           str(spec.held_out_size), "--rounds", str(spec.rounds), "--timeout", str(spec.timeout)]
    cmd += ["--size", str(spec.size)] if spec.corpus is None else ["--corpus", str(spec.corpus)]
    cmd += [] if show_progress else ["--quiet"]
    cmd += [] if sandbox else ["--no-sandbox"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CS336_SANDBOX", "PYTEST_"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", CS336_CACHE_DIR=str(cache_dir()))
    return subprocess.run(cmd, cwd=kit, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=None if show_progress else subprocess.PIPE, text=True,
                          timeout=spec.timeout * (4 * spec.rounds + 10))


def verify(rec: dict, *, code_dir: Path | None = None, corpus: Path | None = None, timeout: float = 600.0,
           tolerance: float = TOLERANCE, show_progress: bool = True, seed: int | None = None,
           sandbox: bool = True) -> tuple[dict | None, list[str]]:
    """Re-measure an entry on inputs drawn now (a fresh seed), in a fresh kit without staff/ holding only its code,
    its training checked against the reference on the same inputs. (new record or None, problems)."""
    seed = secrets.randbelow(1 << 31) + 1 if seed is None else seed
    spec = spec_of(rec, corpus, timeout, seed)
    scratch = Path(tempfile.mkdtemp(prefix=f"verify-{rec['name']}-"))
    try:
        os.chmod(scratch, 0o711)  # the sandboxed worker may pass through to the kit, list nothing
        sub = code_of(rec, code_dir, scratch)
        kit = scratch / "kit"
        impl = stage_kit(rec, sub, kit)
        before = benchmark.kit_digest(benchmark.kit_files(kit))
        inputs = benchmark.round_inputs(spec)
        expected = reference_outputs(spec, inputs)
        private = scratch / "out"
        private.mkdir(mode=0o700)
        proc = _run_staged(kit, impl, rec, spec, private, show_progress, sandbox)
        problems = []
        if benchmark.kit_digest(benchmark.kit_files(kit)) != before:
            problems.append("the staged kit's files changed during the run: the implementation wrote into the kit")
        produced = private / f"{rec['name']}.json"
        if proc.returncode != 0 or not produced.exists():
            tail = "\n".join(((proc.stderr or "") + (proc.stdout or "")).strip().splitlines()[-15:])
            return None, problems + [f"the re-run on fresh inputs (seed {seed}) was refused or failed (exit "
                                     f"{proc.returncode}):\n{tail}"]
        new = record.load(produced)
        if new["code"]["sha256"] != rec["code"]["sha256"]:
            problems.append("the code that ran is not the code the entry records (code.sha256 differs)")
        if new["corpus"]["rounds_sha256"] != [sha256_file(c) for c, _ in inputs]:
            problems.append("the re-run did not train on the inputs drawn for it")
        for r, ((merges, vocab), got) in enumerate(zip(expected, new["outputs"]["rounds"]), 1):
            if (got["merges_sha256"], got["vocab_sha256"]) != (merges, vocab):
                problems.append(f"round {r}: the merges or vocab differ from the reference's on the same fresh "
                                "corpus: the implementation is not correct on inputs it has not seen")
                break
        problems += compare(rec, new, tolerance)
        return new, problems
    finally:
        benchmark.drop_inputs(spec)
        for dirpath, dirnames, _ in os.walk(scratch):
            for d in dirnames:
                with contextlib.suppress(OSError):
                    os.chmod(Path(dirpath) / d, 0o700)
        shutil.rmtree(scratch, ignore_errors=True)


def ranked_record(rec: dict, new: dict) -> dict:
    """The entry as ranked: the fresh measurement, with the submitted record's name, code and a pointer to it."""
    out = {k: v for k, v in new.items() if k != "seal"}
    out["name"], out["impl"], out["code"] = rec["name"], rec["impl"], rec["code"]
    out["inputs"] = {**new["inputs"], "ranked": True,
                     "verified_from": {"score": rec["score"], "seal": rec["seal"]}}
    out["seal"] = record.seal(out)
    return out


def cmd_verify(args) -> int:
    path = record.SUBMISSIONS / f"{record.check_name(args.name)}.json" if args.file is None else args.file
    if not path.exists() and args.code is not None and args.file is None:
        path = args.code / "leaderboard" / "submissions" / f"{args.name}.json"  # the record in the student's upload
    if not path.exists():
        raise RecordError(f"no submission {path}")
    problems = validate([path])[path]
    if problems:
        print(f"{path} is not valid, not re-running it:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    rec = record.load(path)
    new, problems = verify(rec, code_dir=args.code, corpus=args.corpus, timeout=args.timeout,
                           tolerance=args.tolerance, show_progress=not args.quiet, seed=args.seed,
                           sandbox=args.sandbox)
    if new is not None:
        print(f"re-measured on inputs drawn now (seed {new['inputs']['seed']}), sandbox {new['isolation']['sandbox']}")
        for what, a, b in [("score", rec["score"], new["score"]),
                           *((f"{p} ratio", rec[p]["ratio"], new[p]["ratio"]) for p in ("train", "encode"))]:
            print(f"{what:12}: submitted {a:.3f}, here {b:.3f} ({b / a - 1:+.1%})")
    if problems:
        print(f"NOT VERIFIED {rec['name']}:\n  " + "\n  ".join(problems))
        return 1
    print(f"verified {rec['name']}: correct on fresh inputs (merges equal the reference's), score within "
          f"±{args.tolerance:.0%} (train and encode ratios within ±{2 * args.tolerance:.0%})")
    if args.write:
        target = record.SUBMISSIONS / f"{rec['name']}.json"
        record.write(ranked_record(rec, new), target, force=True)
        print(f"wrote the ranked entry {target}; then: uv run --group bench python -m leaderboard render")
    return 0


def cmd_list(args) -> int:
    if args.changed_since:
        out = subprocess.run(["git", "diff", "--name-only", "--diff-filter=AM", args.changed_since, "--",
                              "leaderboard/submissions/*.json"], cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            raise RecordError(f"git diff against {args.changed_since!r} failed: {out.stderr.strip()}")
        paths = [ROOT / line for line in out.stdout.split()]
    else:
        paths = submission_files()
    names = []
    for p in sorted(paths):
        with contextlib.suppress(RecordError, KeyError, TypeError):
            if record.load(p)["code"]["kind"] in ("module", "text"):  # digest-only entries need --code
                names.append(p.stem)
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
    p.add_argument("--code", type=Path, help="the student's submission (folder or .zip: cs336_basics/, "
                                             "tests/adapters.py) for an entry that records only digests")
    p.add_argument("--seed", type=int, help="the inputs' seed (default: drawn now, secret until printed)")
    p.add_argument("--write", action="store_true",
                   help="on success, write the ranked entry (the fresh measurement) to leaderboard/submissions")
    p.add_argument("--no-sandbox", dest="sandbox", action="store_false", help="run the worker without the sandbox")
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
