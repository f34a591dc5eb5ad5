"""Does a leaderboard entry reproduce? Re-run its code on inputs drawn now (staff side, not in the student handout;
`python -m leaderboard verify NAME` runs it).

The entry's code (from --code DIR, the student's upload, checked against the record's digests; from the record's
text; or, for staff modules, the staged staff modules, checked against their digests) runs in a fresh, read-only kit
without staff/, through `submit` in a subprocess of that kit, in the sandbox when the machine allows it. The merges of
every round must equal the reference's on the same fresh corpus, the staged kit must be unchanged, the score (the
ranked figure) within TOLERANCE of the submitted one and each of the train and encode ratios within twice that (a
pool's train ratio moves with the number of free cores).

The drawn seed reaches `submit` on a pipe (its stdin), never on a command line or in a file name: every process of
the machine can read command lines (/proc/PID/cmdline), and a seed there let an entry regenerate and solve every
round at import. The reference's copies of the rounds' inputs stay in this process's private folder (0700).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bpe_harness.files import sha256_file
from bpe_harness.settings import ROOT, cache_dir
from leaderboard import TOLERANCE, benchmark, record
from leaderboard.inputs import Spec, drop_inputs, round_inputs
from leaderboard.record import RecordError
from leaderboard.rounds import merges_sha256, vocab_sha256
from leaderboard.validation import inputs_key

# the leaderboard files a staged kit needs (the staff side and the submissions stay out)
LEADERBOARD_KIT = (
    "leaderboard/__init__.py",
    "leaderboard/__main__.py",
    "leaderboard/benchmark.py",
    "leaderboard/calls.py",
    "leaderboard/errors.py",
    "leaderboard/gate.py",
    "leaderboard/inputs.py",
    "leaderboard/pacer.py",
    "leaderboard/profiling.py",
    "leaderboard/record.py",
    "leaderboard/results.py",
    "leaderboard/rounds.py",
    "leaderboard/sandboxing.py",
    "leaderboard/schema.json",
)
STAFF_MODULES = ("staff/__init__.py", "staff/reference", "staff/bad")  # staff entries (kind "module") only


class VerifyError(RecordError):
    """The entry cannot be re-run as asked (its code is not here, or is not the code it records)."""


def code_of(rec: dict, code_dir: Path | None, scratch: Path):
    """The submission's files as a grade.Submission (student-owned files only), checked against the record's code
    digest: from --code DIR (a Gradescope submission or a checkout), or rebuilt from the record's text."""
    from bpe_harness.judge.staging import SubmissionError, read_submission

    code = rec["code"]
    if code["kind"] == "module":
        return None
    if code_dir is None:
        if code["kind"] == "digest":
            raise VerifyError(
                f"{rec['name']} records only the digests of its code: pass --code DIR with the "
                "student's submission (e.g. their Gradescope upload, unzipped, or a checkout)"
            )
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
        raise VerifyError(
            f"the code in {code_dir} is not the code {rec['name']} submitted (differs: "
            f"{', '.join(diff[:8])}); verify runs exactly the recorded code"
        )
    return sub


def stage_kit(rec: dict, sub, into: Path) -> str:
    """A fresh, read-only kit in `into` without staff/ (grade.stage), plus the leaderboard's student side and the
    submission's own files; staff entries also get the staff modules they name. Returns the --impl value."""
    from bpe_harness.judge.staging import Submission, stage

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
    spec = Spec(
        vocab_size=c["vocab_size"],
        special_tokens=list(c["special_tokens"]),
        held_out_size=h["size"],
        rounds=rec["rounds"],
        timeout=timeout,
        seed=seed,
        drawn=True,
    )
    if c["kind"] == "generated":
        spec.size = c["size"]
    elif corpus is None:
        raise RecordError(f"{rec['name']} was trained on a file ({c['name']}); pass --corpus PATH to verify it")
    elif not corpus.is_file() or sha256_file(corpus) != c["sha256"]:
        raise RecordError(
            f"--corpus {corpus}: not the file {rec['name']} was trained on ({c['name']}, "
            f"{c['bytes']:,} bytes, sha256 {c['sha256'][:12]}...)"
        )
    else:
        spec.corpus = corpus
    return spec


def reference_outputs(spec: Spec, inputs: list[tuple[Path, Path]]) -> list[tuple[str, str]]:
    """(merges, vocab) digests of the staff reference on every round's corpus: what a correct trainer returns."""
    from bpe_harness.client import Client

    out = []
    with Client("reference") as ref:
        for corpus, _ in inputs:
            vocab, merges = ref.train(corpus, spec.vocab_size, spec.special_tokens, timeout=spec.timeout)
            out.append((merges_sha256(merges), vocab_sha256(vocab)))
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
            problems.append(
                f"{what} does not reproduce {where}: submitted {a:.3f}"
                f"{' (practice, published inputs)' if old['inputs']['practice'] else ''}, measured "
                f"{b:.3f} ({b / a - 1:+.0%}; allowed ±{allowed:.0%})"
            )
    return problems


def staff_inputs(rec: dict) -> tuple:
    return inputs_key(rec)


def _run_staged(
    kit: Path, impl: str, rec: dict, spec: Spec, out: Path, show_progress: bool, sandbox: bool
) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "leaderboard",
        "submit",
        "--name",
        rec["name"],
        "--impl",
        impl,
        "--out",
        str(out),
        "--drawn-seed-on-stdin",  # the seed goes through a pipe: a command line is readable by every process
        "--vocab-size",
        str(spec.vocab_size),
        "--held-out-size",
        str(spec.held_out_size),
        "--rounds",
        str(spec.rounds),
        "--timeout",
        str(spec.timeout),
    ]
    cmd += ["--size", str(spec.size)] if spec.corpus is None else ["--corpus", str(spec.corpus)]
    cmd += [] if show_progress else ["--quiet"]
    cmd += [] if sandbox else ["--no-sandbox"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CS336_SANDBOX", "PYTEST_"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", CS336_CACHE_DIR=str(cache_dir()))
    return subprocess.run(
        cmd,
        cwd=kit,
        env=env,
        input=f"{spec.seed}\n",
        stdout=subprocess.PIPE,
        stderr=None if show_progress else subprocess.PIPE,
        text=True,
        timeout=spec.timeout * (4 * spec.rounds + 10),
    )


def verify(
    rec: dict,
    *,
    code_dir: Path | None = None,
    corpus: Path | None = None,
    timeout: float = 600.0,
    tolerance: float = TOLERANCE,
    show_progress: bool = True,
    seed: int | None = None,
    sandbox: bool = True,
) -> tuple[dict | None, list[str]]:
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
        inputs = round_inputs(spec)
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
            return None, problems + [
                f"the re-run on fresh inputs (seed {seed}) was refused or failed (exit {proc.returncode}):\n{tail}"
            ]
        new = record.load(produced)
        if new["code"]["sha256"] != rec["code"]["sha256"]:
            problems.append("the code that ran is not the code the entry records (code.sha256 differs)")
        if new["corpus"]["rounds_sha256"] != [sha256_file(c) for c, _ in inputs]:
            problems.append("the re-run did not train on the inputs drawn for it")
        for r, ((merges, vocab), got) in enumerate(zip(expected, new["outputs"]["rounds"], strict=False), 1):
            if (got["merges_sha256"], got["vocab_sha256"]) != (merges, vocab):
                problems.append(
                    f"round {r}: the merges or vocab differ from the reference's on the same fresh "
                    "corpus: the implementation is not correct on inputs it has not seen"
                )
                break
        problems += compare(rec, new, tolerance)
        return new, problems
    finally:
        drop_inputs(spec)
        for dirpath, dirnames, _ in os.walk(scratch):
            for d in dirnames:
                with contextlib.suppress(OSError):
                    os.chmod(Path(dirpath) / d, 0o700)
        shutil.rmtree(scratch, ignore_errors=True)


def ranked_record(rec: dict, new: dict) -> dict:
    """The entry as ranked: the fresh measurement, with the submitted record's name, code and a pointer to it."""
    out = {k: v for k, v in new.items() if k != "seal"}
    out["name"], out["impl"], out["code"] = rec["name"], rec["impl"], rec["code"]
    out["inputs"] = {**new["inputs"], "ranked": True, "verified_from": {"score": rec["score"], "seal": rec["seal"]}}
    out["seal"] = record.seal(out)
    return out
