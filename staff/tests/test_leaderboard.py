"""The leaderboard end to end on small inputs: submit (gate, refusals, bad input), validate, verify, render, and the
four cheap cheats, each against its honest twin.

Sizes are tiny (1 MB corpus, 300 KB held-out, 2 rounds) so each submission takes seconds; the ratios are then noisy,
so tests that re-measure use a wide tolerance and forge by a factor far outside it. The tolerance itself is measured
by `python -m leaderboard stability` (staff/README.md, Leaderboard).

Student-like projects are built in world-readable temporary folders (`project`): as root the worker runs as the
sandbox's own user, which must be able to read them; their code is the reference, copied into cs336_basics/ref/ (a
submission is self-contained: verify runs it in a kit without staff/).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bpe_harness.files import sha256_file
from bpe_harness.settings import ROOT
from leaderboard import gate, gradescope_leaderboard, inputs, record, render, validation, verification
from leaderboard.__main__ import main

SMALL = ["--size", "1MB", "--held-out-size", "300KB", "--vocab-size", "1000", "--rounds", "2", "--quiet"]
ENTRIES = {"reference": "reference", "slow": "staff.bad.uncached_encoder", "pooled": "staff.bad.pooled_trainer"}


def submit(name: str, impl: str, out: Path, *extra: str) -> int:
    return main(["submit", f"--name={name}", "--impl", impl, "--out", str(out), *SMALL, *extra])


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("submissions")
    for name, impl in ENTRIES.items():
        assert submit(name, impl, out) == 0, f"submitting {impl} failed"
    return out


def load(board: Path, name: str) -> dict:
    return json.loads((board / f"{name}.json").read_text(encoding="utf-8"))


def reseal(rec: dict) -> dict:
    rec["seal"] = record.seal(rec)
    return rec


@pytest.mark.slow
def test_submissions_are_valid_and_ranked(board):
    results = validation.validate(validation.submission_files(board))
    assert all(not p for p in results.values()), results
    recs = {n: load(board, n) for n in ENTRIES}
    slow, ref = recs["slow"], recs["reference"]
    assert slow["encode"]["ratio"] > 2 * ref["encode"]["ratio"], (slow["encode"]["ratio"], ref["encode"]["ratio"])
    ranked = [r["name"] for r in render.groups(list(recs.values()))[0]]
    assert ranked[-1] == "slow" and sorted(ranked) == sorted(ENTRIES)
    assert ranked == sorted(ranked, key=lambda n: recs[n]["score"])
    for rec in recs.values():
        assert math.isclose(rec["score"], math.sqrt(rec["train"]["ratio"] * rec["encode"]["ratio"]), rel_tol=1e-3)
        assert rec["code"]["kind"] == "module" and all("text" not in f for f in rec["code"]["files"])


@pytest.mark.slow
def test_records_name_the_kit_by_its_content(board):
    """The board's kit column is the judge's kit_version (version + digest of the kit's files), not the bare
    pyproject version that every kit shares."""
    from bpe_harness.judge.staging import kit_version

    assert {load(board, n)["kit_version"] for n in ENTRIES} == {kit_version()}
    assert re.fullmatch(r"[0-9][^+]*\+[0-9a-f]{10}", kit_version())


@pytest.mark.slow
def test_wrong_implementation_is_refused_with_the_suites_message(tmp_path, capsys):
    assert submit("wrong", "staff.bad.sampling_trainer", tmp_path) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "merges differ at merge #" in err and "test_training_matches_reference" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["../evil", "a b", "", "x" * 41, "-dash"])
def test_bad_name(tmp_path, capsys, name):
    assert submit(name, "reference", tmp_path) == 2
    assert "--name" in capsys.readouterr().err and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_existing_submission_is_not_overwritten(tmp_path, capsys):
    target = tmp_path / "mine.json"
    target.write_text("keep me")
    assert submit("mine", "reference", tmp_path) == 2
    assert "--force" in capsys.readouterr().err and target.read_text() == "keep me"


@pytest.mark.slow
def test_missing_corpus(tmp_path, capsys):
    assert submit("c", "reference", tmp_path, "--corpus", str(tmp_path / "nope.txt")) == 1
    assert "no such file" in capsys.readouterr().err and not list(tmp_path.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize(
    "impl, expected",
    [
        ("staff.bad.hanging_trainer", "did not finish within 2 s (--timeout)"),
        ("staff.bad.crashing_trainer", "exited with code 7"),
    ],
)
def test_hang_and_crash(tmp_path, capsys, impl, expected):
    assert submit("x", impl, tmp_path, "--timeout", "2") == 1
    err = capsys.readouterr().err
    assert expected in err and not list(tmp_path.iterdir()), err


@pytest.mark.slow
def test_memory_cap(tmp_path, capsys):
    assert submit("m", "reference", tmp_path, "--max-memory", "1KB") == 1
    assert "more than the 0 MB allowed (--max-memory)" in capsys.readouterr().err


@pytest.mark.slow
def test_tampering_is_detected(board, tmp_path):
    rec = load(board, "reference")
    rec["train"]["ratio"] = round(rec["train"]["ratio"] / 2, 4)  # a better number, typed in
    (tmp_path / "reference.json").write_text(json.dumps(rec))
    (tmp_path / "broken.json").write_text('{"name": "broken"')
    shutil.copy(board / "slow.json", tmp_path / "renamed.json")
    problems = validation.validate(validation.submission_files(tmp_path))
    assert any("seal" in p for p in problems[tmp_path / "reference.json"])
    assert any("does not follow from the raw times" in p for p in problems[tmp_path / "reference.json"])
    assert "not a readable JSON file" in problems[tmp_path / "broken.json"][0]
    assert any("does not match the file name" in p for p in problems[tmp_path / "renamed.json"])
    rec = load(board, "slow")
    del rec["outputs"]
    (tmp_path / "slow.json").write_text(json.dumps(reseal(rec)))
    assert validation.validate([tmp_path / "slow.json"])[tmp_path / "slow.json"] == [
        "schema: (top level): 'outputs' is a required property"
    ]


@pytest.fixture
def world_readable():
    """A temporary folder the sandbox's user can read (pytest's tmp_path is private to this user)."""
    folder = Path(tempfile.mkdtemp(prefix="lb-test-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


HONEST = "from cs336_basics.ref.adapters import get_tokenizer, run_train_bpe  # noqa: F401\n"


def project(folder: Path, name: str, adapters: str = HONEST, extra: dict[str, str] | None = None) -> Path:
    """A student-like checkout: the reference under cs336_basics/ref/, `adapters` as tests/adapters.py."""
    root = folder / name
    (root / "tests").mkdir(parents=True)
    (root / "cs336_basics" / "ref").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "cs336_basics" / "__init__.py").write_text("")
    for f in (ROOT / "staff" / "reference").glob("*.py"):
        shutil.copy(f, root / "cs336_basics" / "ref" / f.name)
    for rel, text in (extra or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "tests" / "adapters.py").write_text(adapters)
    for dirpath, _, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for n in filenames:
            os.chmod(Path(dirpath) / n, 0o644)
    return root / "tests" / "adapters.py"


@pytest.mark.slow
def test_text_code_is_recorded_checked_and_reverified(tmp_path, world_readable):
    adapters = project(world_readable, "student")
    out = tmp_path / "subs"
    assert submit("student", str(adapters), out, "--include-code") == 0
    rec = json.loads((out / "student.json").read_text())
    assert rec["code"]["kind"] == "text" and "tests/adapters.py" in [f["path"] for f in rec["code"]["files"]]
    assert rec["inputs"] == {"seed": 0, "practice": True, "ranked": False}
    assert not validation.validate([out / "student.json"])[out / "student.json"]

    new, problems = verification.verify(rec, tolerance=1.0, show_progress=False)  # rebuilt from the record's text
    assert problems == [] and new["inputs"]["practice"] is False and new["inputs"]["seed"] != 0
    ranked = verification.ranked_record(rec, new)
    (tmp_path / "student.json").write_text(json.dumps(ranked))
    assert validation.validate([tmp_path / "student.json"])[tmp_path / "student.json"] == []

    forged = json.loads(json.dumps(rec))  # every number consistent, the times 10x better than the truth
    for t in forged["train"]["submission"] + forged["encode"]["submission"]:
        for k in ("seconds", "wall_s", "cpu_s"):
            t[k] = round(t[k] / 10, 5)
    for part in ("train", "encode"):
        forged[part]["ratio"] = round(forged[part]["ratio"] / 10, 4)
    forged["score"] = round(math.sqrt(forged["train"]["ratio"] * forged["encode"]["ratio"]), 4)
    forged["encode"]["mb_per_s"] = round(forged["encode"]["mb_per_s"] * 10, 3)
    assert validation.check_record(reseal(forged), out / "student.json") == []  # passes validate...
    _, problems = verification.verify(forged, tolerance=1.0, show_progress=False)  # ...not verify
    assert any("train ratio does not reproduce" in p for p in problems), problems

    rec["code"]["files"][0]["text"] += "# sneaky\n"
    assert any("does not match its sha256" in p for p in validation.check_record(reseal(rec), out / "student.json"))


@pytest.mark.slow
def test_digest_only_record_is_verified_from_the_students_code(tmp_path, world_readable):
    """The default record carries digests, not code: verify needs the submission (--code) and runs exactly it."""
    adapters = project(world_readable, "student")
    out = tmp_path / "subs"
    assert submit("student", str(adapters), out) == 0
    rec = json.loads((out / "student.json").read_text())
    assert rec["code"]["kind"] == "digest" and all("text" not in f for f in rec["code"]["files"])
    with pytest.raises(verification.VerifyError, match="pass --code DIR"):
        verification.verify(rec, show_progress=False)
    new, problems = verification.verify(rec, code_dir=adapters.parent.parent, tolerance=1.0, show_progress=False)
    assert problems == [], problems
    (adapters.parent.parent / "cs336_basics" / "extra.py").write_text("# changed after submitting\n")
    with pytest.raises(verification.VerifyError, match="is not the code student submitted"):
        verification.verify(rec, code_dir=adapters.parent.parent, show_progress=False)


@pytest.mark.slow
def test_verify_runs_student_code_in_a_kit_without_staff(tmp_path, world_readable, capsys):
    """Code that reaches for the staff side (the reference, the hidden tests) cannot find it: where the worker has an
    allowlisted view, not even in this checkout, which holds staff/; elsewhere it works here, and verify stages a kit
    without staff/, so the same code cannot find it there."""
    from bpe_harness.sandbox import probe_tier

    adapters = project(world_readable, "peeker", "from staff.reference.adapters import get_tokenizer, run_train_bpe\n")
    out = tmp_path / "subs"
    if probe_tier().view:
        assert submit("peeker", str(adapters), out) == 1
        assert "No module named 'staff'" in capsys.readouterr().err
        return
    assert submit("peeker", str(adapters), out) == 0  # here staff/ is importable
    rec = json.loads((out / "peeker.json").read_text())
    new, problems = verification.verify(rec, code_dir=adapters.parent.parent, show_progress=False)
    assert new is None and any("No module named 'staff'" in p for p in problems), problems


# --- four cheap cheats, each against its honest twin ------------------------------------------------------

ANSWERS = """import hashlib

from cs336_basics.answers import ANSWERS
from cs336_basics.ref.adapters import get_tokenizer  # noqa: F401
from cs336_basics.ref.adapters import run_train_bpe as _train


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    with open(input_path, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()
    if key in ANSWERS:  # an input it has seen: the answer ships in the code
        vocab, merges = ANSWERS[key]
        return ({int(i): bytes.fromhex(t) for i, t in vocab.items()},
                [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in merges])
    return _train(input_path, vocab_size, special_tokens, **kwargs)
"""

MEMO = """import hashlib

from cs336_basics.ref.adapters import get_tokenizer as _get
from cs336_basics.ref.adapters import run_train_bpe as _train

_TRAINED, _ENCODED = {}, {}


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    with open(input_path, "rb") as f:
        key = (hashlib.sha256(f.read()).hexdigest(), vocab_size, tuple(special_tokens))
    if key not in _TRAINED:
        _TRAINED[key] = _train(input_path, vocab_size, special_tokens, **kwargs)
    return _TRAINED[key]


class _Memo:
    def __init__(self, tok):
        self.tok = tok

    def encode(self, text):
        if text not in _ENCODED:
            _ENCODED[text] = self.tok.encode(text)
        return list(_ENCODED[text])

    def __getattr__(self, name):
        return getattr(self.tok, name)


def get_tokenizer(vocab, merges, special_tokens=None, pattern=None):
    return _Memo(_get(vocab, merges, special_tokens, pattern))
"""

HELPER = """import json
import os
import socket

from cs336_basics.ref.adapters import get_tokenizer  # noqa: F401
from cs336_basics.ref.adapters import run_train_bpe as _train

_ours, _theirs = socket.socketpair()
if os.fork() == 0:  # at import: a helper, forked twice so that it is nobody's child
    if os.fork() != 0:
        os._exit(0)
    _ours.close()
    f = _theirs.makefile("rwb")
    for line in f:  # one request per line; ends when the worker's end closes
        path, vocab_size, specials = json.loads(line)
        vocab, merges = _train(path, vocab_size, specials)
        f.write(json.dumps([{i: t.hex() for i, t in vocab.items()}, [[a.hex(), b.hex()] for a, b in merges]]).encode()
                + b"\\n")
        f.flush()
    os._exit(0)
os.wait()
_theirs.close()
_pipe = _ours.makefile("rwb")


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    _pipe.write(json.dumps([os.fspath(input_path), vocab_size, list(special_tokens)]).encode() + b"\\n")
    _pipe.flush()
    vocab, merges = json.loads(_pipe.readline())  # waits, costing no CPU here
    return ({int(i): bytes.fromhex(t) for i, t in vocab.items()},
            [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in merges])
"""

KIT_WRITER = """import importlib.util

from cs336_basics.ref.adapters import get_tokenizer, run_train_bpe  # noqa: F401

try:  # at import: slow the pace-setter down by rewriting it in the kit (once)
    _path = importlib.util.find_spec("leaderboard.pacer").origin
    with open(_path) as _f:
        _done = "_SLOWED" in _f.read()
    if not _done:
        with open(_path, "a") as _f:
            _f.write("\\n_SLOWED = True\\nimport time as _t\\n_orig_train = run_train_bpe\\n"
                     "def run_train_bpe(*a, **k):\\n    _t.sleep(0.5)\\n    return _orig_train(*a, **k)\\n")
except OSError:
    pass
"""


NO_GAIN = 0.4  # a cheat "gains nothing" when it keeps > 40% of its honest twin's time ratio (the attacks gain 10-100x;
# the margin absorbs the noise of tiny inputs on a shared machine)


def _ratios(out: Path, name: str) -> dict:
    rec = json.loads((out / f"{name}.json").read_text())
    return {"train": rec["train"]["ratio"], "encode": rec["encode"]["ratio"], "score": rec["score"], "rec": rec}


def _answers_for(spec: inputs.Spec) -> str:
    """The module a cheater ships: the reference's output for every published training corpus, keyed by sha256."""
    from bpe_harness.client import Client

    answers = {}
    with Client("reference") as ref:
        for corpus, _ in inputs.round_inputs(spec):
            vocab, merges = ref.train(corpus, spec.vocab_size, spec.special_tokens)
            answers[sha256_file(corpus)] = (
                {i: t.hex() for i, t in vocab.items()},
                [[a.hex(), b.hex()] for a, b in merges],
            )
    return f"ANSWERS = {answers!r}\n"


@pytest.mark.slow
def test_cheat_answers_for_the_published_inputs_are_practice_only(tmp_path, world_readable):
    """(a) Answers keyed by the published corpora's sha256 win the practice run, which is marked as such and not
    ranked; verify, on inputs drawn when it measures, refuses the entry (its score does not reproduce)."""
    spec = inputs.Spec(size=1_000_000, held_out_size=300_000, vocab_size=1000, rounds=2)
    cheat = project(world_readable, "cheat", ANSWERS, {"cs336_basics/answers.py": _answers_for(spec)})
    honest = project(world_readable, "honest")
    out = tmp_path / "subs"
    assert submit("cheat", str(cheat), out) == 0 and submit("honest", str(honest), out) == 0
    c, h = _ratios(out, "cheat"), _ratios(out, "honest")
    assert c["train"] < 0.5 * h["train"], (c, h)  # the attack works on published inputs...
    assert c["rec"]["inputs"]["practice"] and not c["rec"]["inputs"]["ranked"]
    text = render.markdown([c["rec"], h["rec"]], [])
    assert "Practice, not ranked" in text and "| – | cheat |" in text and "Ranked (" not in text
    c_new, problems = verification.verify(c["rec"], code_dir=cheat.parent.parent, show_progress=False)
    assert any("score does not reproduce on inputs drawn now" in p for p in problems), problems  # ...not here
    h_new, problems = verification.verify(h["rec"], code_dir=honest.parent.parent, tolerance=1.0, show_progress=False)
    assert problems == [], problems
    assert c_new["train"]["ratio"] > NO_GAIN * h_new["train"]["ratio"], (c_new["train"], h_new["train"])  # no gain


PEEKER = """import glob
import hashlib
import os

from cs336_basics.ref.adapters import get_tokenizer  # noqa: F401
from cs336_basics.ref.adapters import run_train_bpe as _train

_SEEN = {}
for _path in sorted(glob.glob("/tmp/leaderboard-inputs-*/**/tinystories-*.txt", recursive=True))[:12]:
    try:  # at import, which is not timed: train on whatever inputs are already there
        if os.path.getsize(_path) < 2_000_000:
            with open(_path, "rb") as _f:
                _SEEN[hashlib.sha256(_f.read()).hexdigest()] = _train(_path, 1000, ["<|endoftext|>"])
    except OSError:
        pass


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    with open(input_path, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()
    if key in _SEEN and vocab_size == 1000:
        return _SEEN[key]
    return _train(input_path, vocab_size, special_tokens, **kwargs)
"""


@pytest.mark.slow
def test_cheat_reading_the_inputs_at_import_gains_nothing(tmp_path, world_readable):
    """(a') Import is not timed: an implementation that trains at import on whatever inputs it finds. A round's
    inputs are generated only after the round's worker has imported the implementation (and, drawn ones, stay
    unreadable to the sandbox's user until the timed calls), so it finds none of its own round."""
    out = tmp_path / "subs"
    for name, code in (("peeker", PEEKER), ("honest", HONEST)):
        assert submit(name, str(project(world_readable, name, code)), out, "--fresh") == 0
    c, h = _ratios(out, "peeker"), _ratios(out, "honest")
    assert c["train"] > NO_GAIN * h["train"], (c, h)
    assert not c["rec"]["inputs"]["practice"]


SEED_READER = """import hashlib
import os
import tempfile

from cs336_basics.corpus import write_corpus
from cs336_basics.ref.adapters import get_tokenizer  # noqa: F401
from cs336_basics.ref.adapters import run_train_bpe as _train

_ANSWERS = {}


def _drawn():  # the judge's command lines are readable by every process: look for a seed there
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode("utf-8", "replace").split("\\0")
        except OSError:
            continue
        if "--drawn-seed" in argv:
            value = lambda flag: int(argv[argv.index(flag) + 1])  # noqa: E731
            return value("--drawn-seed"), value("--size"), value("--rounds"), value("--vocab-size")
    return None


_FOUND = _drawn()
if _FOUND:  # at import: regenerate every round's corpus with the public generator and train on it
    _seed, _size, _rounds, _vocab_size = _FOUND
    _scratch = tempfile.mkdtemp()
    for _r in range(_rounds):
        _path = os.path.join(_scratch, f"{_r}.txt")
        write_corpus(_path, _size, _seed * 1000 + 2 * _r)
        with open(_path, "rb") as _f:
            _ANSWERS[hashlib.sha256(_f.read()).hexdigest()] = _train(_path, _vocab_size, ["<|endoftext|>"])


def run_train_bpe(input_path, vocab_size, special_tokens, **kwargs):
    with open(input_path, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()
    if key in _ANSWERS:
        return _ANSWERS[key]
    return _train(input_path, vocab_size, special_tokens, **kwargs)
"""


def _generator_files() -> dict[str, str]:
    """The public corpus generator (bpe_harness/data/corpus/ and the rules it uses), copied into a submission as
    cs336_basics/corpus/ and cs336_basics/rules.py (it may not import the harness)."""
    sources = sorted((ROOT / "bpe_harness" / "data" / "corpus").glob("*.py")) + [ROOT / "bpe_harness" / "rules.py"]
    files = {}
    for path in sources:
        rel = "rules.py" if path.name == "rules.py" else f"corpus/{path.name}"
        text = path.read_text(encoding="utf-8")
        text = text.replace("bpe_harness.data.corpus", "cs336_basics.corpus").replace("bpe_harness.", "cs336_basics.")
        files[f"cs336_basics/{rel}"] = text
    return files


@pytest.mark.slow
def test_cheat_reading_the_drawn_seed_at_import_gains_nothing(tmp_path, world_readable):
    """(e) verify used to pass the seed it drew as `--drawn-seed S` on the staged submit's command line, which the
    worker can read in /proc; round r's corpus is the public generator's `write_corpus(size, S * 1000 + 2r)`, and
    import was not timed. This entry regenerates and trains every round at import and looks the answers up in the
    timed calls: on b4bf298 verify measured its train ratio at 0.015 against its honest twin's 2.26 (this test, run
    there). Now the seed goes through a pipe, drawn inputs have random names, and import CPU beyond the pace-setter's
    counts as training: it gains nothing."""
    out = tmp_path / "subs"
    ranked = {}
    for name, code in (("seeded", SEED_READER), ("honest", HONEST)):
        adapters = project(world_readable, name, code, _generator_files())
        assert submit(name, str(adapters), out) == 0
        rec = json.loads((out / f"{name}.json").read_text())
        new, problems = verification.verify(rec, code_dir=adapters.parent.parent, tolerance=100.0, show_progress=False)
        assert new is not None, problems
        ranked[name] = new
    s, h = ranked["seeded"], ranked["honest"]
    assert s["train"]["ratio"] > NO_GAIN * h["train"]["ratio"], (s["train"], h["train"])
    assert s["score"] > NO_GAIN * h["score"], (s["score"], h["score"])


@pytest.mark.slow
def test_cheat_memo_across_rounds_gains_nothing(tmp_path, world_readable):
    """(b) A module-level memo of training and encoding results: every round runs in a fresh worker on its own
    inputs, so it never hits (with the old single worker and one input, rounds 2..3 were look-ups)."""
    out = tmp_path / "subs"
    for name, code in (("memo", MEMO), ("honest", HONEST)):
        assert submit(name, str(project(world_readable, name, code)), out, "--rounds", "3") == 0
    m, h = _ratios(out, "memo"), _ratios(out, "honest")
    for part in ("train", "encode"):
        assert m[part] > NO_GAIN * h[part], (part, m, h)
    assert len(set(m["rec"]["corpus"]["rounds_sha256"])) == 3 and len(set(m["rec"]["held_out"]["rounds_sha256"])) == 3


@pytest.mark.slow
def test_cheat_helper_process_forked_at_import_gains_nothing(tmp_path, world_readable, capfd):
    """(c) Training done by a helper forked (twice) at import, outside the worker's process tree, while the worker
    waits: the worker's tree ends such orphans (issue 17), so the cheat is refused at the gate; where it still runs,
    its wall time is charged (rounds.charge) and the step is flagged, and its CPU counts as the tree's."""
    out = tmp_path / "subs"
    assert submit("honest", str(project(world_readable, "honest", HONEST)), out) == 0
    capfd.readouterr()
    if submit("helper", str(project(world_readable, "helper", HELPER)), out) != 0:
        # the helper is an orphan of the worker's tree (it left by a double fork): it came back to the harness,
        # which ended it, so the cheat cannot even pass the gate; nothing was written
        said = capfd.readouterr().err
        assert "does not pass the correctness gate" in said, said[-2000:]
        assert re.search(r"Broken pipe|Connection reset|JSONDecodeError|Expecting value", said), said[-2000:]
        assert not (out / "helper.json").exists()
        return
    c, h = _ratios(out, "helper"), _ratios(out, "honest")
    assert c["train"] > NO_GAIN * h["train"], (c, h)
    assert not h["rec"]["isolation"]["waited"]
    cpu = {k: sum(t["cpu_s"] for t in r["rec"]["train"]["submission"]) for k, r in (("helper", c), ("honest", h))}
    if cpu["helper"] < NO_GAIN * cpu["honest"]:  # the helper's CPU is not counted (before issue 17): flagged instead
        assert c["rec"]["isolation"]["waited"] and all(t["waited"] for t in c["rec"]["train"]["submission"])
        assert any("waited" in n for n in record.hints(c["rec"], short=True))


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", [True, False], ids=["sandbox", "no-sandbox"])
def test_cheat_writing_into_the_kit_is_refused(world_readable, sandbox):
    """(d) At import it appends a sleep to leaderboard/pacer.py of the kit it runs from (a handout copy here, never
    this checkout): graded code may not look up the kit's modules; and if it finds the file another way, the
    sandbox's user cannot write the kit (root), and without the sandbox the kit's digest changes and submit refuses,
    writing nothing."""
    from staff.handout import export

    kit = world_readable / "kit"
    export(kit)
    for dirpath, _, _files in os.walk(kit):
        os.chmod(dirpath, 0o755)
    pacer_before = (kit / "leaderboard" / "pacer.py").read_bytes()
    cheat = project(world_readable, "cheat", KIT_WRITER)
    args = ["submit", "--name", "cheat", "--impl", str(cheat), *SMALL] + ([] if sandbox else ["--no-sandbox"])
    proc = subprocess.run(
        [sys.executable, "-m", "leaderboard", *args], cwd=kit, capture_output=True, text=True, timeout=300
    )
    written = kit / "leaderboard" / "submissions" / "cheat.json"
    if "which is the grader's" in proc.stderr:  # the worker refused its look-up of the kit (allowed_imports.py)
        assert proc.returncode == 1 and not written.exists(), proc.stderr
        assert (kit / "leaderboard" / "pacer.py").read_bytes() == pacer_before
    elif (kit / "leaderboard" / "pacer.py").read_bytes() == pacer_before:  # the write was blocked
        assert sandbox and proc.returncode == 0, proc.stderr
        assert json.loads(written.read_text())["isolation"]["sandbox"] == "user"
    else:
        assert proc.returncode == 1, proc.stderr
        assert "the kit's files changed while your implementation ran" in proc.stderr, proc.stderr
        assert "leaderboard/pacer.py" in proc.stderr and not written.exists()


@pytest.mark.slow
def test_render_and_check(board, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    subs = tmp_path / "subs"
    shutil.copytree(board, subs)
    args = argparse.Namespace(dir=subs, out=tmp_path, check=False, no_plot=False, force=False)
    (tmp_path / "README.md").write_text("notes someone wrote by hand")
    assert render.main(args) == 2 and "--force" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "notes someone wrote by hand"
    (tmp_path / "README.md").unlink()
    assert render.main(args) == 0
    text = (tmp_path / "README.md").read_text()
    rows = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| – ")]  # practice: no rank
    assert rows[-1] == "slow" and sorted(rows) == sorted(ENTRIES)
    assert (tmp_path / "board.png").stat().st_size > 1000 and "<svg" in (tmp_path / "board.svg").read_text()
    assert render.main(argparse.Namespace(**{**vars(args), "check": True})) == 0
    guide = "# Leaderboard\n\nThe player's guide, by hand.\n\n"  # above the marker: kept by every render
    (tmp_path / "README.md").write_text(guide + text[text.index(render.MARK) :])
    assert render.main(argparse.Namespace(**{**vars(args), "check": True})) == 0
    assert render.main(args) == 0 and (tmp_path / "README.md").read_text().startswith(guide + render.MARK)
    (subs / "slow.json").unlink()
    capsys.readouterr()
    assert render.main(argparse.Namespace(**{**vars(args), "check": True})) == 1
    assert "out of date" in capsys.readouterr().err


@pytest.mark.slow
def test_gradescope_entries(board):
    entries = gradescope_leaderboard(load(board, "reference"))
    assert entries and all(set(e) == {"name", "value", "order"} and e["order"] == "asc" for e in entries)
    assert all(isinstance(e["value"], (int, float)) and e["value"] >= 0 for e in entries)
    assert entries[0]["value"] == load(board, "reference")["score"]


@pytest.mark.slow
def test_submit_works_in_the_handout_without_the_staff_side(tmp_path):
    import subprocess
    import sys

    from staff.handout import export

    files = export(tmp_path / "handout")
    assert "leaderboard/benchmark.py" in files and "leaderboard/pacer.py" in files
    assert not any(
        f in files
        for f in (
            "leaderboard/staff_commands.py",
            "leaderboard/validation.py",
            "leaderboard/verification.py",
            "leaderboard/render.py",
        )
    )

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "leaderboard", *args],
            cwd=tmp_path / "handout",
            capture_output=True,
            text=True,
            timeout=120,
        )

    stubs = run("submit", "--name", "me", *SMALL)
    assert stubs.returncode == 1 and "not written yet" in stubs.stderr and "cs336_basics/" in stubs.stderr, stubs.stderr
    assert not (tmp_path / "handout" / "leaderboard" / "submissions" / "me.json").exists()
    staff_cmd = run("validate")
    assert staff_cmd.returncode == 2 and "staff command" in staff_cmd.stderr
    reference = run("submit", "--name", "me", "--impl", "reference", *SMALL)
    assert reference.returncode == 2 and "not part of this handout" in reference.stderr, reference.stderr


@pytest.mark.slow
def test_course_path_end_to_end_from_a_handout_checkout(tmp_path, world_readable):
    """A student's checkout made from the handout (no staff side): their solution, `submit`, a record of digests only;
    staff `verify --code` on that checkout (as the Gradescope upload) ranks it; the board shows it ranked."""
    from staff.handout import export

    student = world_readable / "student"
    export(student)
    for name, target in (
        ("pretokenize.py", "pretokenize.py"),
        ("tokenizer.py", "tokenizer.py"),
        ("train.py", "train_bpe.py"),
    ):  # the student's solution (here: the reference's code)
        shutil.copy(ROOT / "staff" / "reference" / name, student / "cs336_basics" / target)
    for dirpath, _, _files in os.walk(student):
        os.chmod(dirpath, 0o755)
    proc = subprocess.run(
        [sys.executable, "-m", "leaderboard", "submit", "--name", "ada", *SMALL],
        cwd=student,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Gradescope" in proc.stdout and "pull request" not in proc.stdout
    path = student / "leaderboard" / "submissions" / "ada.json"
    rec = json.loads(path.read_text())
    assert rec["code"]["kind"] == "digest" and "Tokenizer" not in path.read_text()  # no code in the record
    assert {f["path"] for f in rec["code"]["files"]} >= {"tests/adapters.py", "cs336_basics/train_bpe.py"}

    new, problems = verification.verify(rec, code_dir=student, tolerance=1.0, show_progress=False)
    assert problems == [], problems
    ranked = verification.ranked_record(rec, new)
    board = tmp_path / "board"
    board.mkdir()
    (board / "ada.json").write_text(json.dumps(ranked))
    assert validation.validate([board / "ada.json"]) == {board / "ada.json": []}
    text = render.markdown([ranked], [])
    assert "## Ranked (inputs drawn when measured)" in text and "| 1 | ada |" in text


@pytest.mark.slow
def test_gate_cases_are_graded_cases():
    """The gate names its cases by snapshot and points a failing student at the graded test of the same name."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_train_bpe.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for name in gate.GATE_TRAINING:
        assert f"tests/test_train_bpe.py::test_training_matches_reference[{name}]" in proc.stdout, proc.stdout[-2000:]
