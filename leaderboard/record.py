"""A submission record: what `submit` writes to leaderboard/submissions/NAME.json (shipped to students).

The record is checked against `leaderboard/schema.json` with the `jsonschema` library before it is written (and by
staff `validate`), then written atomically. It carries:

* the code's digests: path and sha256 of every file of student code (`cs336_basics/**/*.py`, `tests/adapters.py`)
  and one digest over all (kind "digest", the default): the record can be shown to classmates without showing the
  code, and staff `verify --code DIR` re-runs the very files that digest names (from the Gradescope submission).
  With `submit --include-code` the text is recorded too (kind "text"; a board whose readers may see the code). Named
  implementations (bpe_harness/extensions.py; never shipped) are recorded by reference: module name and file digests.
* digests of the outputs (merges, vocab, ids), the corpus spec, the kit version
  (`bpe_harness.judge.staging.kit_version`: pyproject version + digest of the kit's files, as Gradescope's
  results.json names it), machine info, raw times of both sides and the ratios;
* `seal`: the sha256 of the record's canonical JSON without the seal. It catches hand edits, not a determined
  forger (the recipe is public); `verify` re-running the code is what makes a number trustworthy.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
from datetime import datetime, timezone
from importlib import util as importlib_util
from pathlib import Path

import psutil

from bpe_harness import extensions
from bpe_harness.files import write_atomically
from bpe_harness.implementation import project_root
from bpe_harness.judge.staging import kit_version
from bpe_harness.plugin.limits import ENCODING_SPEED, TRAINING_SPEED  # the speed hints, written once
from bpe_harness.settings import ROOT
from leaderboard import pacer

SUBMISSIONS = ROOT / "leaderboard" / "submissions"
SCHEMA = ROOT / "leaderboard" / "schema.json"
SCHEMA_VERSION = 2  # 2: per-round inputs from a seed, fresh workers, tokenizer build timed, which sandbox held
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_CODE_BYTES = 1_000_000


class RecordError(Exception):
    """A record (or a name, or code to record) that cannot be used; the message says what is wrong."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise RecordError(
            f"--name {name!r}: use 1-40 letters, digits, '-' or '_', starting with a letter or digit "
            "(it becomes the file name leaderboard/submissions/NAME.json)"
        )
    return name


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        import subprocess

        with_brand = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True)
        if with_brand.returncode == 0 and with_brand.stdout.strip():
            return with_brand.stdout.strip()
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count() or 1,
        "physical_cores": psutil.cpu_count(logical=False) or 0,
        "memory_bytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
    }


# --- code ---------------------------------------------------------------------------------------------------------


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_digest(files: list[dict]) -> str:
    """One digest over every file: sha256 of 'path NUL sha256 LF' lines, sorted by path."""
    lines = "".join(f"{f['path']}\0{f['sha256']}\n" for f in sorted(files, key=lambda f: f["path"]))
    return hashlib.sha256(lines.encode()).hexdigest()


def _read_code(root: Path, paths: list[Path], with_text: bool = True) -> list[dict]:
    files, total = [], 0
    for p in sorted(set(paths)):
        data = p.read_bytes()
        total += len(data)
        if total > MAX_CODE_BYTES:
            raise RecordError(
                f"the code to submit is over {MAX_CODE_BYTES:,} bytes; is something other than your "
                "tokenizer under cs336_basics/?"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise RecordError(f"{p} is not UTF-8 text; only Python source can be submitted") from None
        rel = p.relative_to(root).as_posix()
        entry = {"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "text": text}
        if not with_text:
            del entry["text"]
        files.append(entry)
    return files


def student_code_paths(root: Path, adapters: Path) -> list[Path]:
    """The files that make up a student implementation: its adapters file and every .py under cs336_basics/."""
    paths = [adapters, *(root / "cs336_basics").rglob("*.py")]
    return [p for p in paths if "__pycache__" not in p.parts]


def _kit_module_file(name: str) -> Path | None:
    """The file of a dotted module under the kit, found by path: nothing is imported (importlib's find_spec would
    run the parent packages' __init__, e.g. a student's cs336_basics/__init__.py, in this process)."""
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def collect_code(impl: str, with_text: bool = False) -> dict:
    """The code behind an --impl value: digests (and, with_text, the text) of student code; a reference (module
    name and file digests) for the kit's own modules."""
    if impl == "student" or impl.endswith(".py") or "/" in impl:
        adapters = ROOT / "tests" / "adapters.py" if impl == "student" else Path(impl).expanduser().resolve()
        if not adapters.is_file():
            raise RecordError(f"--impl {impl}: no such file {adapters}")
        root = project_root(adapters.parent) or adapters.parent
        files = _read_code(root, student_code_paths(root, adapters), with_text)
        return {
            "kind": "text" if with_text else "digest",
            "adapters": adapters.relative_to(root).as_posix(),
            "files": files,
            "sha256": code_digest(files),
        }
    named = extensions.implementation(impl)
    if named is not None:
        impl = named.module
    elif impl == "reference":
        raise RecordError("--impl reference: the reference solution is the course's own and not part of this handout")
    origin = _kit_module_file(impl)
    if origin is None and (ROOT / impl.split(".")[0]).exists():
        origin = None  # a module of this kit that is not there: never fall back to importing its packages
    elif origin is None:
        try:  # an installed module: find_spec imports its parent packages (not code of this kit)
            spec = importlib_util.find_spec(impl)
        except (ImportError, ValueError):
            spec = None
        origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
    if origin is None:
        raise RecordError(
            f"--impl {impl}: no such module (give 'student', a path to an adapters .py file, or a dotted module name)"
        )
    paths = [origin]
    for known in extensions.implementations().values():  # variants beside a named implementation build on it
        if origin.is_relative_to(known.package_dir):
            paths += list(known.sources.glob("*.py"))
    files = [
        {"path": p.relative_to(ROOT).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
        for p in sorted(set(paths))
    ]
    return {"kind": "module", "module": impl, "files": files, "sha256": code_digest(files)}


# --- the record ---------------------------------------------------------------------------------------------------


def seal(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "seal"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def build(name: str, impl: str, code: dict, result: dict, argv: list[str]) -> dict:
    record = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kit_version": kit_version(),
        "command": " ".join(argv),
        "impl": impl,
        "pacer_version": pacer.VERSION,
        "machine": machine_info(),
        **result,
        "code": code,
    }
    record["seal"] = seal(record)
    return record


def schema() -> dict:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def schema_errors(record) -> list[str]:
    """Every way `record` breaks the schema, one line each (empty: valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    out = []
    for error in sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        out.append(f"{where}: {error.message[:200]}")
    return out


def write(record: dict, path: Path, force: bool) -> None:
    """Validate, then write atomically; never replace an existing file without force."""
    errors = schema_errors(record)
    if errors:
        raise RecordError(
            "the record does not match leaderboard/schema.json (a bug in the kit; please report it):\n  "
            + "\n  ".join(errors[:10])
        )
    if path.exists() and not force:
        raise RecordError(f"{path} already exists; pass --force to replace it (nothing was written)")
    write_atomically(path, json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def load(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RecordError(f"{path}: not a readable JSON file ({type(e).__name__}: {e})") from None


# --- hints ----------------------------------------------------------------------------------------------------------

HINT_RATIO = 3.0  # a time ratio from which the board and `submit` say what dominates


# what a profile's top function by own time says about a trainer, checked in order (the function's name as cProfile
# shows it, e.g. "<built-in method builtins.max>", "train.py:40(merge)")
PROFILE_CAUSES = (
    (
        ("builtins.max", "builtins.min", "builtins.sorted", "heapify", ".sort'"),
        "choosing the best pair by a max() (or sort) over every pair count for every merge is O(merges x pairs): "
        "keep the pairs in a heap (heapq with (-count, ...) entries, skipping stale ones) so each merge costs a few "
        "pushes and pops",
    ),
    (
        ("findall", "finditer", "split", "match", "search", "regex", "pretoken"),
        "pre-tokenization dominates: pre-tokenize the corpus once (not once per merge), count distinct pre-tokens "
        "with their frequency, and run the regex per document (or in a pool over chunks cut at special tokens)",
    ),
)
NO_PROFILE = (
    "Run `submit --profile` to see which function takes it. Usual causes: recounting all pairs after every merge "
    "(keep pair counts and update only the words containing the merged pair), or a max() over every pair for "
    "every merge (keep a heap)."
)


def training_hint(profile: dict | None) -> str:
    """The hint for a slow trainer: from its profile (the function with the most own time) when there is one."""
    rows = (profile or {}).get("top") or []
    if not rows:
        return NO_PROFILE
    top = max(rows, key=lambda r: r.get("tottime", 0))
    function = str(top.get("function", ""))
    share = top.get("tottime", 0) / max(profile.get("total_s", 0) or 0, 1e-9)
    where = f"most of the time is in {function} ({top.get('tottime', 0):.2f} s own time, {share:.0%} of the profile, "
    where += f"{top.get('ncalls', '?')} calls)"
    for needles, cause in PROFILE_CAUSES:
        if any(n in function for n in needles):
            return f"{where}: {cause}."
    return f"{where}: look there first. If it is your merge loop: {TRAINING_SPEED.hint}"


def hints(rec: dict, short: bool = False, profile: dict | None = None) -> list[str]:
    """What to look at when a ratio is large, or when a call waited far longer than it was charged. `profile`:
    `submit --profile`'s training profile, which the training hint is then based on."""
    out = []
    ratios = {"train": rec["train"]["ratio"], "encode": rec["encode"]["ratio"]}
    worst = max(ratios, key=ratios.get)
    if ratios[worst] >= HINT_RATIO:
        other = "encode" if worst == "train" else "train"
        if short:
            how = "`submit --profile`" if worst == "train" else "profile encode() with cProfile"
            out.append(f"{worst} dominates ({ratios[worst]:.1f}×): {how}")
        elif worst == "train":
            out.append(
                f"training dominates the score: {ratios['train']:.1f}x the pace-setter's time (encode "
                f"{ratios['encode']:.1f}x). {training_hint(profile)}"
            )
        else:
            out.append(
                f"get_tokenizer + encode dominate the score: {ratios['encode']:.1f}x the pace-setter's time "
                f"({other} {ratios[other]:.1f}x). Profile an encode of the held-out text (python -m cProfile). "
                f"The usual cause: {ENCODING_SPEED.hint}"
            )
    if rec.get("isolation", {}).get("waited"):
        out.append(
            "waited: a call's wall time was far above its CPU time (work outside the measured process, or "
            "sleeping); it was charged its wall time"
            if not short
            else "waited: charged wall time"
        )
    return out
