"""The measuring behind `submit` and `verify` (shipped to students): a correctness gate, then timed rounds.

Why this exists: a leaderboard number must mean the same on every laptop and must not be cheap to fake. So:

* every call into the implementation goes through `bpe_harness.client.Client` (a worker process, measured from
  outside), in the grader's sandbox when the machine allows it (`sandbox_tier`); nothing here imports it;
* the gate trains on the kit's generated corpora and compares merges and vocab with the committed snapshots, and
  encodes held-out text against ids computed by tiktoken from the snapshot's merges, with the graded suite's own
  assertions (`bpe_harness.plugin.divergence`), so a refusal reads like a failing graded test;
* inputs come from a seed (`Spec.seed`): each round trains on its own generated corpus and encodes its own held-out
  text (`round_seeds`), so nothing learnt in one round helps the next. The published seed (PUBLISHED_SEED) gives
  inputs anyone can precompute: a run on it is *practice* and is marked so; the ranked figure comes from staff
  `verify` on a seed drawn when it measures;
* every round runs in fresh worker processes (a new process per round and side, `fork=False`): no module-level
  memo, no state of an earlier round. The pace-setter's worker (B, `leaderboard.pacer`) starts first, then the
  submission's (A) imports the implementation, and only then are the round's inputs generated; A's calls run, its
  worker is stopped, then B's. A drawn seed's inputs get random file names, are readable by the sandbox's user only
  during A's calls, and the seed is never on a command line (staff verify hands it over on a pipe), so nothing can
  regenerate a round ahead. CPU A's worker spent importing beyond IMPORT_ALLOWANCE x B's counts as training time
  (work done at import is work). The ranked figure is the median over rounds of A/B, so both slow down together on
  a slower or busier machine. Encoding time counts `get_tokenizer` plus `encode`;
* a call whose wall time is far above its charged (CPU) time is charged its wall time and flagged (`charge`):
  work handed to a process outside the measured tree shows up that way;
* the kit's files are digested before the implementation first runs and checked after every round (`KitGuard`): an
  implementation that writes into the kit (e.g. the pace-setter's source) is refused;
* the encoding ids of every round must equal the pace-setter's (tiktoken over the same merges), and the streamed ids
  of `encode_iterable` must equal them too; its memory is measured in a worker of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bpe_harness import extensions, settings
from bpe_harness.client import Client, WorkerCrashed, WorkerFailure, WorkerTimeout
from bpe_harness.data.corpus import write_corpus
from bpe_harness.data.encodings import encoding_for_vocab
from bpe_harness.files import sha256_file
from bpe_harness.kit_files import digest as kit_digest
from bpe_harness.kit_files import skipped_dir, skipped_file
from bpe_harness.plugin.divergence import assert_ids_equal, assert_merges_equal, assert_text_equal, assert_vocab_matches
from bpe_harness.plugin.snapshots import SnapshotStore
from bpe_harness.protocol import pack_ids
from bpe_harness.rules import EOT, GPT2_PATTERN
from bpe_harness.settings import ROOT
from bpe_harness.tools.progress import ProgressLine

FIXTURES = ROOT / "tests" / "fixtures"
SNAPSHOTS = ROOT / "tests" / "snapshots"
PACER = "leaderboard.pacer"

# Gate cases: cases of tests/test_train_bpe.py named by their snapshot, which records the case itself (corpus under
# tests/fixtures, vocab_size, special tokens) next to the expected answer: nothing of a case is written twice.
GATE_TRAINING = (
    "tinystories_sample",
    "webtext_sample",
    "ties_bytes_not_unicode",
    "ties_tuple_not_concat",
    "ties_greatest_not_first",
)
GATE_ENCODE = ("tinystories_sample", "corpora/held_out.txt")  # (snapshot whose merges give the vocab, text)


class SubmitError(Exception):
    """Why no submission can be produced; the message is for the student, complete and actionable."""


class GateFailure(SubmitError):
    """The implementation is not correct on the gate's inputs (the message is the graded suite's)."""


PUBLISHED_SEED = 0  # the seed `submit` uses by default: its inputs are public, so its runs are practice
WAIT_RATIO, WAIT_SLACK = 3.0, 0.1  # charge wall time when wall > 3x the CPU time, by more than 0.1 s (`charge`)
IMPORT_ALLOWANCE, IMPORT_SLACK = 3.0, 0.5  # import CPU beyond 3x the pace-setter's + 0.5 s counts as training time


@dataclass
class Spec:
    """What is measured. `corpus` is None for generated corpora of `size` bytes (tinystories style): round r trains on
    the corpus of seed `round_seeds(seed, r)[0]` and encodes the held-out text of seed `round_seeds(seed, r)[1]`."""

    size: int = 8_000_000
    seed: int = PUBLISHED_SEED
    corpus: Path | None = None
    vocab_size: int = 4000
    special_tokens: list[str] = field(default_factory=lambda: [EOT])
    held_out_size: int = 4_000_000
    rounds: int = 5
    timeout: float = 600.0  # seconds per call
    max_memory: int = 4_000_000_000  # bytes above the worker's pre-call level, per call
    drawn: bool = False  # the seed was drawn at measuring time (secrets), not given

    @property
    def practice(self) -> bool:
        """Inputs that could have been known in advance: a given seed (the published one by default) or a corpus
        file. Only a seed drawn when measuring is not practice."""
        return not self.drawn or self.corpus is not None

    def corpus_record(self, paths: list[Path]) -> dict:
        if self.corpus is None:
            base = {"kind": "generated", "style": "tinystories", "size": self.size, "seed": self.seed, "mixed": True}
        else:
            base = {"kind": "file", "name": self.corpus.name}
        return {
            **base,
            "bytes": paths[0].stat().st_size,
            "sha256": sha256_file(paths[0]),
            "rounds_sha256": [sha256_file(p) for p in paths],
            "vocab_size": self.vocab_size,
            "special_tokens": list(self.special_tokens),
        }


def round_seeds(seed: int, r: int) -> tuple[int, int]:
    """(corpus seed, held-out seed) of round r (0-based). Seed 0, round 0 gives the kit's earlier inputs (0, 1)."""
    return seed * 1000 + 2 * r, seed * 1000 + 2 * r + 1


def cache_folder() -> Path:
    """Where published inputs are cached: the kit's cache folder's leaderboard/ (CS336_CACHE_DIR moves it)."""
    return settings.cache_dir() / "leaderboard"


def generated(size: int, seed: int, folder: Path | None = None, name: str | None = None) -> Path:
    """A generated corpus, written once into `folder` (default: cache_folder()) and reused (same bytes on every
    machine). Readable by every user, as the sandboxed worker runs as another one. `name`: the file's name (drawn
    inputs get a random one: a name with the seed in it would give the seed away)."""
    folder = cache_folder() if folder is None else folder
    path = folder / (name or f"tinystories-{size}-seed{seed}.txt")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_corpus(path, size, seed)  # writes to a temporary name, then renames
        os.chmod(path, 0o644)
    return path


def corpus_path(spec: Spec) -> Path | None:
    """The --corpus file (a missing one fails here, before the gate); None for generated corpora."""
    if spec.corpus is None:
        return None
    path = Path(spec.corpus).expanduser()
    if not path.is_file():
        raise SubmitError(
            f"--corpus {spec.corpus}: no such file. Give the path of a UTF-8 text file "
            "(e.g. TinyStories' train split), or leave --corpus out to use the generated corpus."
        )
    return path


_FRESH: dict[int, Path] = {}
_NAMES: dict[tuple[int, int], tuple[str, str]] = {}  # (drawn seed, round) -> its files' random names


def _inputs_folder(spec: Spec) -> Path:
    """Published inputs are cached in cache_folder(); a fresh seed's go to a temporary folder of their own."""
    if spec.practice:
        return cache_folder()
    if spec.seed not in _FRESH:
        import tempfile

        cache_folder().mkdir(parents=True, exist_ok=True)  # inside the cache: a worker's allowlisted view shows it
        folder = Path(tempfile.mkdtemp(prefix="leaderboard-inputs-", dir=cache_folder()))
        os.chmod(folder, 0o711)  # others may pass through to an exposed round's folder, not list what is there
        _FRESH[spec.seed] = folder
    return _FRESH[spec.seed]


def drop_inputs(spec: Spec) -> None:
    import shutil

    folder = _FRESH.pop(spec.seed, None)
    for key in [k for k in _NAMES if k[0] == spec.seed]:
        del _NAMES[key]
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def round_input(spec: Spec, r: int) -> tuple[Path, Path]:
    """(training corpus, held-out text) of round r, generated now if needed. A drawn seed's go to a folder of their
    own, readable by this user only until `expose(spec, r)`."""
    folder = _inputs_folder(spec)
    names: tuple[str | None, str | None] = (None, None)
    if not spec.practice:
        import secrets

        folder = folder / f"r{r}"
        folder.mkdir(mode=0o700, exist_ok=True)
        names = _NAMES.setdefault((spec.seed, r), (f"{secrets.token_hex(12)}.txt", f"{secrets.token_hex(12)}.txt"))
    c_seed, h_seed = round_seeds(spec.seed, r)
    corpus = corpus_path(spec) if spec.corpus is not None else generated(spec.size, c_seed, folder, names[0])
    return corpus, generated(spec.held_out_size, h_seed, folder, names[1])


def expose(spec: Spec, r: int, readable: bool = True) -> None:
    """Make round r's drawn inputs readable by the sandbox's user (right before its timed calls), or (readable=False,
    right after them) private again."""
    if not spec.practice:
        os.chmod(_inputs_folder(spec) / f"r{r}", 0o755 if readable else 0o700)


def round_inputs(spec: Spec) -> list[tuple[Path, Path]]:
    """[(training corpus, held-out text)] of every round (for staff verify's reference check: not exposed)."""
    return [round_input(spec, r) for r in range(spec.rounds)]


# --- the sandbox and the kit ----------------------------------------------------------------------------------------


def make_sandbox(enabled: bool = True, memory_bytes: int = 4_000_000_000, impl_value: str = "student"):
    """(sandbox or None, tier): the grader's Sandbox when it can be built here, as the grader does. Tiers: "user"
    (root on Linux: its own uid, no network, the kit read-only to it), "limits" (same user: resource limits, private
    HOME/TMPDIR), "none" (disabled, or the sandbox cannot be set up here).
    After the isolation rewrite (issue 17) the tier is detected by bpe_harness.sandbox.tiers itself."""
    if not enabled:
        return None, "none"
    try:
        from bpe_harness.sandbox.tiers import Sandbox, others_can_read

        box = Sandbox(memory_mb=max(2048, memory_bytes // 1_000_000 + 2048))
        box.protect_interpreter()
    except Exception as e:  # no sandbox on this system: say so in the record
        _never_as_root(f"no sandbox here ({type(e).__name__}: {e})")
        print(f"leaderboard: no sandbox here ({type(e).__name__}: {e}); the worker runs as you", file=sys.stderr)
        return None, "none"
    if box.uid is not None:
        needed = [ROOT] + ([Path(impl_value).expanduser()] if impl_value.endswith(".py") else [])
        hidden = [p for p in needed if not others_can_read(p)]
        if hidden and not (box.tier.view and box.tier.name == "full"):  # bwrap as root binds what root reads
            box.cleanup()
            _never_as_root(f"{hidden[0]} is not readable by other users")
            print(
                f"leaderboard: no sandbox: {hidden[0]} is not readable by other users, so the sandbox's user could "
                "not import it (make the folders on the way world-readable, e.g. chmod o+rx, to get the sandbox); "
                "the worker runs as you (recorded: sandbox none)",
                file=sys.stderr,
            )
            return None, "none"
    return box, ("user" if box.uid is not None else "limits")


def _never_as_root(why: str) -> None:
    """Root without a sandbox would run the implementation as root: refuse instead (--no-sandbox says it outright)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        raise SystemExit(
            f"leaderboard: refusing to run the implementation as root without a sandbox ({why}): give the sandbox's "
            "users a Python and kit they can read (e.g. under /opt, chmod o+rx), or run as an ordinary user"
        )


KIT_TOPS = (
    "bpe_harness",
    "leaderboard",
    "tests",
    "cs336_basics",
    "conftest.py",
    "pyproject.toml",
    "uv.lock",
)  # what the kit is (a student's data/ folder with a 2 GB corpus is not hashed every round)
PACER_PACKAGES = ("tiktoken", "regex")  # the pace-setter's tools, outside the kit (in the environment)


def _package_dirs() -> list[tuple[str, Path]]:
    from importlib import util as importlib_util

    out = []
    for name in PACER_PACKAGES:
        spec = importlib_util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            out.append((f"<{name}>", Path(folder)))
    return out


def kit_files(root: Path = ROOT) -> dict[str, str]:
    """{path: sha256} of the kit's files (the submission's own included; bytecode caches and the records left out)
    and of the pace-setter's packages (tiktoken, regex) in the environment."""
    out = {}
    tops = [(top, root / top) for top in (*KIT_TOPS, *extensions.secret_paths()) if (root / top).exists()]
    tops += _package_dirs()
    for label, top in tops:
        if top.is_file():
            out[label] = sha256_file(top)
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not skipped_dir(d))
            rel_dir = Path(label) / Path(dirpath).relative_to(top)
            if rel_dir.parts[:2] == ("leaderboard", "submissions"):
                continue  # the records themselves: written by the tool
            for name in filenames:
                if skipped_file(name):
                    continue
                path = Path(dirpath) / name
                if path.is_file() and not path.is_symlink():
                    out[(rel_dir / name).as_posix()] = sha256_file(path)
    return out


class KitGuard:
    """The kit's files, digested before the implementation first runs; `check()` refuses (SubmitError) when any was
    added, changed or removed since."""

    def __init__(self, root: Path = ROOT, inputs: list[Path] = ()):
        self.root = root
        self.before = kit_files(root)
        self.inputs = {p: sha256_file(p) for p in inputs}

    def add_inputs(self, *paths: Path) -> None:
        """Inputs generated during the run: digested now, checked from then on."""
        self.inputs.update({p: sha256_file(p) for p in paths if p not in self.inputs})

    def check(self, when: str) -> None:
        now = kit_files(self.root)
        changed = sorted(k for k in self.before.keys() | now.keys() if self.before.get(k) != now.get(k))
        changed += [str(p) for p, digest in self.inputs.items() if not p.exists() or sha256_file(p) != digest]
        if changed:
            shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
            raise SubmitError(
                f"the kit's files changed while your implementation ran ({when}): {shown}. The implementation may "
                "only read the kit and its input; writing into it (the pace-setter, the harness, its own code, the "
                "corpora) is not allowed. Nothing was written. Restore them (git checkout -- . ; git status) and "
                "remove whatever in your code writes there."
            )

    @property
    def digest(self) -> str:
        return kit_digest(self.before)


# --- calling the implementation with clear failures ---------------------------------------------------------------


def _call(what: str, fn, *args, spec: Spec, **kwargs):
    """fn(*args) in the worker; every way it can fail becomes a SubmitError saying what happened."""
    try:
        return fn(*args, timeout=spec.timeout, **kwargs)
    except WorkerTimeout as e:
        raise SubmitError(
            f"{what} did not finish within {spec.timeout:g} s (--timeout); it was stopped. "
            f"Does it hang, or is the corpus too big for it?\n{e}"
        ) from None
    except WorkerCrashed as e:
        raise SubmitError(f"{what}: the implementation's process died.\n{e}") from None
    except WorkerFailure as e:
        raise SubmitError(f"{what} failed in the worker: {e}") from None
    except AssertionError as e:  # type checks of the result, e.g. a vocab that is not dict[int, bytes]
        raise GateFailure(f"{what}: {e}") from None
    except NotImplementedError as e:
        raise GateFailure(f"{what} is not written yet: {e}") from None
    except MemoryError:
        raise SubmitError(f"{what} ran out of memory (MemoryError in the implementation)") from None
    except Exception as e:  # the implementation's own exception, rebuilt by the Client
        raise GateFailure(f"{what} raised {type(e).__name__}: {e}") from None


def _check_memory(what: str, call, spec: Spec) -> None:
    if call.peak_bytes > spec.max_memory:
        raise SubmitError(
            f"{what} used {call.peak_bytes / 1e6:,.0f} MB above the worker's starting level, more "
            f"than the {spec.max_memory / 1e6:,.0f} MB allowed (--max-memory)"
        )


# --- the gate -----------------------------------------------------------------------------------------------------


def gate(impl: Client, spec: Spec, progress: ProgressLine) -> list[str]:
    """Correctness on the kit's own inputs; GateFailure with the graded suite's message on the first problem."""
    store = SnapshotStore(SNAPSHOTS, update=False)
    passed = []
    for name in GATE_TRAINING:
        progress.step(f"gate: train {name}")
        expected = store.load_training(name)
        corpus, vocab_size, specials = expected.corpus, expected.vocab_size, list(expected.special_tokens)
        vocab, merges = _call(
            f"run_train_bpe() on {corpus}", impl.train, FIXTURES / corpus, vocab_size, specials, spec=spec
        )
        try:
            assert_merges_equal(merges, expected.merges, FIXTURES / corpus, specials)
            assert_vocab_matches(vocab, expected.vocab_tokens, vocab_size)
        except AssertionError as e:
            raise GateFailure(
                f"training on {corpus} (vocab_size={vocab_size}) is not right:\n{e}\n"
                f"(the graded test: uv run pytest 'tests/test_train_bpe.py::"
                f"test_training_matches_reference[{name}]')"
            ) from None
        passed.append(f"train:{name}")

    snap_name, text_file = GATE_ENCODE
    progress.step("gate: encode held-out text")
    snap = store.load_training(snap_name)
    vocab = snap.vocab_by_convention()
    with open(FIXTURES / text_file, encoding="utf-8", newline="") as f:
        text = f.read()
    expected = encoding_for_vocab("gate", vocab, GPT2_PATTERN, [EOT]).encode(text, allowed_special="all")
    tok = _call("get_tokenizer()", impl.tokenizer, vocab, snap.merges, [EOT], spec=spec)
    ids = _call(f"encode() of {text_file}", tok.encode, text, spec=spec)
    back = _call("decode()", tok.decode, ids, spec=spec)
    summary = _call(f"encode_iterable(open({text_file}))", tok.encode_iterable_file, FIXTURES / text_file, spec=spec)
    try:
        assert_ids_equal(ids, expected, text, vocab, f"encode() of {text_file}")
        assert_text_equal(back, text, "decode(encode(text))")
        if summary.sha256 != hashlib.sha256(pack_ids(expected)).hexdigest():
            raise AssertionError(
                f"encode_iterable(open({text_file})) yielded {summary.count} ids, not the "
                f"{len(expected)} ids of encode(whole text) (first ids: {summary.head[:8]})"
            )
    except AssertionError as e:
        raise GateFailure(
            f"encoding is not right:\n{e}\n(the graded tests: uv run pytest tests/test_tokenizer.py "
            "tests/test_encode_iterable.py)"
        ) from None
    passed += ["encode:held_out", "decode:held_out", "encode_iterable:held_out"]
    return passed


# --- the benchmark ------------------------------------------------------------------------------------------------


def _import_beyond_allowance(impl: Client, pacer: Client) -> float:
    """CPU seconds the submission's fresh worker spent starting and importing (its whole tree) beyond what an import
    may take: IMPORT_ALLOWANCE x the pace-setter's own start-up, plus IMPORT_SLACK. Work done at import is work: it
    is charged to the round's training."""
    theirs = impl.zygote.import_cpu if impl.zygote is not None else 0.0
    ours = pacer.zygote.import_cpu if pacer.zygote is not None else 0.0
    return max(0.0, theirs - IMPORT_ALLOWANCE * ours - IMPORT_SLACK)


def charge(calls, import_s: float = 0.0) -> dict:
    """What one timed step of one side costs: the sum over its calls of the charged time (`Call.seconds`: CPU time
    for a serial call, wall time once it started processes; after the isolation rewrite, the CPU of the whole
    process tree), raised to the wall time when a call's wall time is far above its CPU time (wall > WAIT_RATIO x
    CPU, by more than WAIT_SLACK s): its work was done where the harness could not count it (a helper process
    started at import and left outside the tree) or it slept. Such a step is flagged `waited`. (A busy machine
    stretches wall time too, but rarely 3x for a process that wants one core.) A call that started processes (a
    pool) is charged its wall time already and is not flagged. After the isolation rewrite (issue 17) `seconds`
    counts the CPU of the whole tree, helpers forked at import included; this rule stays as the backstop for work
    the tree cannot see. `import_s`: CPU its worker spent importing beyond the allowance, added to the charge."""
    seconds = wall = cpu = 0.0
    waited = False
    for call in calls:
        charged = call.seconds
        if not call.had_children and call.wall_s > WAIT_RATIO * call.cpu_s and call.wall_s - call.cpu_s > WAIT_SLACK:
            charged, waited = call.wall_s, True
        seconds, wall, cpu = seconds + charged, wall + call.wall_s, cpu + call.cpu_s
    out = {"seconds": round(seconds + import_s, 4), "wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "waited": waited}
    if import_s:
        out["import_s"] = round(import_s, 4)
    return out


def merges_sha256(merges) -> str:
    return hashlib.sha256(json.dumps([[a.hex(), b.hex()] for a, b in merges]).encode()).hexdigest()


def vocab_sha256(vocab) -> str:
    return hashlib.sha256(json.dumps(sorted(t.hex() for t in vocab.values())).encode()).hexdigest()


def _worker(impl_value: str, sandbox) -> Client:
    """A fresh worker process for one round: imports the implementation, serves that round's calls, then is gone."""
    return Client(impl_value, sandbox=sandbox, fork=False)


def _after_round(sandbox) -> None:
    """Kill whatever the round's worker left running under its uids (a daemonized helper); a no-op without uids."""
    if sandbox is not None and getattr(sandbox, "uid", None) is not None:
        sandbox.kill_leftovers()


def measure(
    impl_value: str, spec: Spec, progress: ProgressLine, *, sandbox=None, guard: KitGuard | None = None
) -> dict:
    """Rounds of training and encoding on each round's own inputs, each side in fresh workers: raw numbers of both
    sides, the ratios, per-round output digests.

    In a round the pace-setter's worker starts first, then the submission's worker imports the implementation; only
    then are the round's inputs generated (a drawn seed's in a folder only this user can read, opened to the
    sandbox's user right before the timed calls), so nothing the implementation runs at import, where it is not
    timed, can see them. The submission's calls come next, then its worker is gone, then the pace-setter's."""
    train = {"submission": [], "pacer": [], "peak_bytes": 0, "children_peak_bytes": 0}
    enc = {"submission": [], "pacer": [], "ids": 0}
    rounds_out, inputs = [], []
    first = None  # round 0's (vocab, merges, text path, ids sha256): encode_iterable is measured on it
    expected_merges = spec.vocab_size - 256 - len(set(spec.special_tokens))
    started = time.monotonic()
    for r in range(spec.rounds):
        if r == 1:
            warn_if_slow(progress, time.monotonic() - started, spec)
        label = f"round {r + 1}/{spec.rounds}"
        with _worker(PACER, None) as pacer:  # first, in its own worker
            _call("starting the pace-setter", pacer.ping, spec=spec)
            progress.step(f"{label}: yours train, encode")
            with _worker(impl_value, sandbox) as impl:
                _call("importing your implementation", impl.ping, spec=spec)
                import_s = _import_beyond_allowance(impl, pacer)
                corpus, held_out = round_input(spec, r)  # only now: the import above could not see them
                inputs.append((corpus, held_out))
                if guard is not None:
                    guard.add_inputs(corpus, held_out)
                with open(held_out, encoding="utf-8", newline="") as f:
                    text = f.read()
                expose(spec, r)
                vocab, merges = _call(
                    f"run_train_bpe() on {corpus.name}",
                    impl.train,
                    corpus,
                    spec.vocab_size,
                    spec.special_tokens,
                    spec=spec,
                    on_progress=progress,
                )
                call = impl.last
                expose(spec, r, readable=False)
                _check_memory("run_train_bpe()", call, spec)
                train["submission"].append(charge([call], import_s))
                train["peak_bytes"] = max(train["peak_bytes"], call.peak_bytes)
                train["children_peak_bytes"] = max(train["children_peak_bytes"], call.children_peak)
                if len(merges) != expected_merges or len(vocab) != spec.vocab_size:
                    raise GateFailure(
                        f"training on {corpus.name}: expected {expected_merges} merges and "
                        f"{spec.vocab_size} vocab entries, got {len(merges)} and {len(vocab)}"
                    )
                tok = _call("get_tokenizer()", impl.tokenizer, vocab, merges, spec.special_tokens, spec=spec)
                build = impl.last
                ids = _call(f"encode() of {held_out.name}", tok.encode, text, spec=spec)
                enc["submission"].append(charge([build, impl.last]))
            _after_round(sandbox)
            if guard is not None:
                guard.check(f"after {label}")

            progress.step(f"{label}: pace-setter trains")
            _call("pace-setter training", pacer.train, corpus, spec.vocab_size, spec.special_tokens, spec=spec)
            train["pacer"].append(charge([pacer.last]))
            progress.step(f"{label}: pace-setter encodes")
            pace_tok = _call("pace-setter tokenizer", pacer.tokenizer, vocab, merges, spec.special_tokens, spec=spec)
            build = pacer.last
            want = _call("pace-setter encode", pace_tok.encode, text, spec=spec)
            enc["pacer"].append(charge([build, pacer.last]))
        try:
            assert_ids_equal(
                ids, want, text, vocab, f"encode() of the held-out text {held_out.name} with your own merges"
            )
        except AssertionError as e:
            raise GateFailure(f"{e}\n(expected ids: tiktoken over the same merges)") from None
        ids_sha = hashlib.sha256(pack_ids(want)).hexdigest()
        rounds_out.append(
            {"merges_sha256": merges_sha256(merges), "vocab_sha256": vocab_sha256(vocab), "ids_sha256": ids_sha}
        )
        enc["ids"] += len(want)
        if first is None:
            first = (vocab, merges, held_out, ids_sha, len(want))
        del ids, want, text

    progress.step("encode_iterable: memory (own worker)")
    vocab, merges, held_out, expected_sha, n_ids = first
    with _worker(impl_value, sandbox) as impl:
        tok = _call("get_tokenizer()", impl.tokenizer, vocab, merges, spec.special_tokens, spec=spec)
        build = impl.last
        expose(spec, 0)  # round 1's held-out text, streamed from its file
        summary = _call(
            f"encode_iterable(open({held_out.name}))",
            tok.encode_iterable_file,
            held_out,
            spec=spec,
            on_progress=progress,
        )
        stream_call = impl.last
        expose(spec, 0, readable=False)
    _after_round(sandbox)
    if guard is not None:
        guard.check("after encode_iterable")
    _check_memory("encode_iterable()", stream_call, spec)
    if summary.sha256 != expected_sha:
        raise GateFailure(
            f"encode_iterable(open({held_out.name})) yielded {summary.count} ids that differ from "
            f"encode() of the same text ({n_ids} ids): it must yield exactly encode(whole text)"
        )

    text_mb = sum(h.stat().st_size for _, h in inputs) / 1e6
    train_ratio = statistics.median(
        a["seconds"] / b["seconds"] for a, b in zip(train["submission"], train["pacer"], strict=False)
    )
    enc_ratio = statistics.median(
        a["seconds"] / b["seconds"] for a, b in zip(enc["submission"], enc["pacer"], strict=False)
    )
    held = [h for _, h in inputs]
    return {
        "corpus": spec.corpus_record([c for c, _ in inputs]),
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
        "train": {"ratio": round(train_ratio, 4), **train},
        "encode": {
            "ratio": round(enc_ratio, 4),
            "ids": enc["ids"],
            "mb_per_s": round(text_mb / sum(x["seconds"] for x in enc["submission"]), 3),
            "submission": enc["submission"],
            "pacer": enc["pacer"],
        },
        "encode_iterable": {
            "peak_bytes": stream_call.peak_bytes + build.peak_bytes,
            "stream_peak_bytes": stream_call.peak_bytes,
            "tokenizer_peak_bytes": build.peak_bytes,
            **{k: v for k, v in charge([stream_call]).items() if k != "waited"},
        },
        "outputs": {**rounds_out[0], "rounds": rounds_out},
    }


def score(train_ratio: float, encode_ratio: float) -> float:
    """The ranked figure: geometric mean of the two time ratios (lower is better; 1 = the pace-setter's time)."""
    return round((train_ratio * encode_ratio) ** 0.5, 4)


def steps(spec: Spec) -> int:
    return len(GATE_TRAINING) + 1 + 3 * spec.rounds + 1


last_profile: dict | None = None  # the latest profile_training's data (record.hints bases its hint on it)
SLOW_RUN = 120  # seconds: a run whose first round says it will take longer than this is warned about


def warn_if_slow(progress: ProgressLine, first_round_s: float, spec: Spec) -> str | None:
    """After round 1: if the whole run will take far longer than a good solution's (~30 s), say so at once, with
    what to do, instead of leaving the student to wait minutes without a word. The warning, or None."""
    expected = first_round_s * spec.rounds
    if expected <= SLOW_RUN:
        return None
    warning = (
        f"warning: round 1 took {first_round_s:.0f} s, so all {spec.rounds} rounds will take about "
        f"{expected / 60:.0f} min (at the default size a good solution needs about 30 s in all). Usually the "
        "training is slow: stop with Ctrl-C and run "
        "`uv run python -m leaderboard submit --name try --size 1MB --rounds 1 --profile` "
        "to see where its time goes, then fix that first; or let this run finish."
    )
    progress.finish(warning)
    return warning


def profile_training(impl_value: str, spec: Spec, *, sandbox=None, top: int = 12) -> str:
    """Where the training time goes: one extra (untimed) training on round 0's corpus under cProfile, in a fresh
    worker; the top functions by cumulative time, as lines to print (the profile itself: `last_profile`)."""
    corpus = round_input(spec, 0)[0]
    expose(spec, 0)
    with _worker(impl_value, sandbox) as impl:
        _call(
            "run_train_bpe() under the profiler",
            impl.train,
            corpus,
            spec.vocab_size,
            spec.special_tokens,
            spec=spec,
            profile=True,
        )
        prof = impl.last.profile or {}
    global last_profile
    last_profile = prof
    _after_round(sandbox)
    lines = [
        f"profile of one training on {corpus.name} ({prof.get('total_s', 0):.2f} s under cProfile; "
        "cumulative = the function and everything it calls):"
    ]
    for row in prof.get("top", [])[:top]:
        lines.append(
            f"  {row['cumtime']:8.2f} s cumulative {row['tottime']:8.2f} s own {row['ncalls']:>10} calls  "
            f"{row['function']}"
        )
    return "\n".join(lines)


def run(
    impl_value: str,
    spec: Spec,
    *,
    sandbox=None,
    sandbox_tier: str = "none",
    show_progress: bool = True,
    kit_root: Path = ROOT,
) -> dict:
    """Gate + benchmark of one implementation (an --impl value). SubmitError / GateFailure say why it cannot go on.

    The pace-setter's first worker starts before the implementation is ever imported; the kit is digested then, and
    checked after every round and at the end (KitGuard)."""
    progress = ProgressLine(steps=steps(spec), enabled=show_progress)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    try:
        with _worker(PACER, None) as pacer:  # the pace-setter first: imported (and its bytecode cached) untouched
            pacer.ping()
        guard = KitGuard(kit_root)
        with Client(impl_value, sandbox=sandbox) as impl:
            passed = gate(impl, spec, progress)
        _after_round(sandbox)
        guard.check("after the gate")
        result = measure(impl_value, spec, progress, sandbox=sandbox, guard=guard)
        guard.check("at the end")
    finally:
        progress.finish()
    result["gate"] = {"passed": passed}
    result["score"] = score(result["train"]["ratio"], result["encode"]["ratio"])
    result["load_before"] = None if load_before is None else round(load_before, 2)
    result["inputs"] = {"seed": spec.seed, "practice": spec.practice, "ranked": False}
    result["isolation"] = {
        "sandbox": sandbox_tier,
        "fresh_worker_per_round": True,
        "kit_sha256": guard.digest,
        "waited": any(t["waited"] for part in ("train", "encode") for t in result[part]["submission"]),
    }
    return result
