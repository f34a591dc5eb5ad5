"""The experiments toolkit (tools/experiments): exports give the student's ids, train/compare produce complete
outputs, and bad input gets a sentence with nothing half-written left behind."""

from __future__ import annotations

import errno
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bpe_harness.client import Client
from bpe_harness.data.corpus import write_corpus
from bpe_harness.data.vocab_io import load_vocab_and_merges
from bpe_harness.plugin.divergence import assert_ids_equal
from bpe_harness.plugin.snapshots import SnapshotStore
from bpe_harness.settings import ROOT
from bpe_harness.tools.experiments import export as X
from bpe_harness.tools.experiments import inputs
from bpe_harness.tools.experiments.compare import run_compare, sample_documents
from bpe_harness.tools.experiments.inputs import ExperimentError
from bpe_harness.tools.experiments.train import run_train

FIXTURES = ROOT / "tests" / "fixtures"
TEXTS = sorted((FIXTURES / "samples").glob("*.txt")) + sorted((FIXTURES / "corpora").glob("*.txt"))
SMALL_CORPUS = FIXTURES / "corpora" / "tinystories_sample.txt"


def leftovers(directory: Path) -> list[str]:
    """Temporary names our writers use; none may survive a failed or interrupted run."""
    return [p.name for p in directory.iterdir() if ".partial" in p.name or ".tmp" in p.name or ".old" in p.name]


# --- exports ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference():
    with Client("reference") as client:
        yield client


@pytest.mark.parametrize("snapshot", ["tinystories_sample", "multi_special"])
def test_exports_give_the_reference_encoders_ids_on_every_fixture(snapshot, reference, tmp_path):
    snap = SnapshotStore(ROOT / "tests" / "snapshots", update=False).load_training(snapshot)
    vocab, merges, specials = snap.vocab_by_convention(), snap.merges, snap.special_tokens
    X.write_tiktoken(vocab, merges, specials, None, tmp_path, name=snapshot)
    X.to_hf_tokenizer_json(vocab, merges, specials, None, tmp_path / "tokenizer.json")
    enc = X.load_tiktoken(tmp_path)  # through the files, as a student loads them
    tokenizers = pytest.importorskip("tokenizers")
    hf = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    remote = reference.tokenizer(vocab, merges, specials, timeout=60)
    assert len(TEXTS) >= 10
    for path in TEXTS:
        text = path.read_text(encoding="utf-8")
        expected = remote.encode(text, timeout=60)
        assert_ids_equal(
            enc.encode(text, allowed_special="all"), expected, text, vocab, f"tiktoken export, {path.name}"
        )
        assert_ids_equal(
            hf.encode(text, add_special_tokens=False).ids,
            expected,
            text,
            vocab,
            f"HF tokenizer.json export, {path.name}",
        )
        assert hf.decode(expected, skip_special_tokens=False) == text, f"HF decode differs on {path.name}"


def test_a_special_missing_from_the_vocab_gets_the_next_id_in_both_exports():
    snap = SnapshotStore(ROOT / "tests" / "snapshots", update=False).load_training("tinystories_sample")
    vocab = {i: t for i, t in snap.vocab_by_convention().items() if t != b"<|endoftext|>"}
    enc = X.to_tiktoken(vocab, snap.merges, ["<|endoftext|>"])
    assert enc.encode("<|endoftext|>", allowed_special="all") == [max(vocab) + 1]
    hf = X.hf_tokenizer_dict(vocab, snap.merges, ["<|endoftext|>"])
    assert hf["added_tokens"][0]["id"] == max(vocab) + 1


def test_export_refuses_ids_out_of_merge_order():
    snap = SnapshotStore(ROOT / "tests" / "snapshots", update=False).load_training("tinystories_sample")
    vocab = snap.vocab_by_convention()
    first, second = (max(i for i, t in vocab.items() if t == a + b) for a, b in snap.merges[:2])
    vocab[first], vocab[second] = vocab[second], vocab[first]
    with pytest.raises(X.ExportError, match="merge order"):
        X.to_tiktoken(vocab, snap.merges, ["<|endoftext|>"])


def test_export_check_reports_where_an_export_diverges(tmp_path):
    snap = SnapshotStore(ROOT / "tests" / "snapshots", update=False).load_training("tinystories_sample")
    vocab, merges = snap.vocab_by_convention(), snap.merges
    X.write_tiktoken(vocab, merges, ["<|endoftext|>"], None, tmp_path)
    data = X.hf_tokenizer_dict(vocab, merges, ["<|endoftext|>"])
    data["model"]["merges"] = data["model"]["merges"][1:]  # a broken export: first merge lost
    (tmp_path / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    pytest.importorskip("tokenizers")
    lines = X.check_exports(
        tmp_path, vocab, merges, ["<|endoftext|>"], None, "reference", sorted((FIXTURES / "samples").glob("*.txt"))
    )
    assert lines[0].startswith("tiktoken: identical ids"), lines
    assert lines[1].startswith("tokenizer.json: ids differ") and "at position" in lines[1], lines


def test_hf_byte_table_is_gpt2s():
    table = X.bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert (table[ord(" ")], table[ord("\n")], table[ord("a")], table[0]) == ("Ġ", "Ċ", "a", "Ā")


# --- train --------------------------------------------------------------------------------------------------------


def test_train_writes_a_complete_run(tmp_path, capsys):
    out = tmp_path / "run"
    report = run_train(SMALL_CORPUS, 400, out, impl="reference", progress=False)
    assert sorted(p.name for p in out.iterdir()) == [
        "merges.json",
        "merges.txt",
        "report.json",
        "vocab.json",
        "vocab.txt",
    ]
    vocab, merges = load_vocab_and_merges(out / "vocab.json", out / "merges.json")
    assert len(vocab) == report["vocab_size"] == 400 and len(merges) == report["merges"] == 400 - 257
    assert json.loads((out / "report.json").read_text()) == report
    longest = report["longest_tokens"][0]
    assert longest["bytes"] == max(len(t) for t in vocab.values() if t != b"<|endoftext|>")
    assert (
        report["wall_s"] > 0
        and report["peak_rss_bytes"] > 10**6
        and report["corpus_bytes"] == SMALL_CORPUS.stat().st_size
    )
    assert len((out / "merges.txt").read_text(encoding="utf-8").splitlines()) == len(merges)
    assert leftovers(tmp_path) == []


def test_train_cli_prints_the_summary_and_exports(tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "bpe_harness.tools.experiments",
        "train",
        str(SMALL_CORPUS),
        "--vocab-size",
        "300",
        "--out",
        str(out),
        "--impl",
        "reference",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wall time" in done.stdout and "peak memory" in done.stdout and "longest" in done.stdout
    assert "worker" in done.stderr and "corpus" in done.stderr  # the progress line
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "--force" in again.stderr
    exported = subprocess.run(
        [sys.executable, "-m", "bpe_harness.tools.experiments", "export", str(out), "--impl", "reference"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    assert "tiktoken: identical ids to --impl reference on 5 texts" in exported.stdout, exported.stdout
    assert {"tokenizer.json", "tokenizer.tiktoken", "tiktoken.json"} <= {p.name for p in out.iterdir()}


def test_missing_corpus(tmp_path):
    with pytest.raises(ExperimentError, match="does not exist"):
        run_train(tmp_path / "nope.txt", 300, tmp_path / "out", impl="reference", progress=False)
    assert not (tmp_path / "out").exists()


def test_non_utf8_corpus_names_the_byte_offset(tmp_path, monkeypatch):
    corpus = tmp_path / "latin1.txt"
    corpus.write_bytes(b"hello\nworld caf\xe9 au lait\n")
    with pytest.raises(ExperimentError, match=r"byte offset 15 \(line 2\).*e9"):
        run_train(corpus, 300, tmp_path / "out", impl="reference", progress=False)
    monkeypatch.setattr(inputs, "CHECK_BLOCK", 4)  # a character cut by a block edge is fine; the offset still exact
    corpus.write_bytes("caf\u00e9 \u00e9t\u00e9\n".encode() + b"ok \xff")
    with pytest.raises(ExperimentError, match=r"byte offset 15 \(line 2\)"):
        inputs.check_utf8(corpus)


def test_vocab_size_below_bytes_and_specials(tmp_path):
    with pytest.raises(ExperimentError, match="below 256 \\+ 2"):
        run_train(
            SMALL_CORPUS, 257, tmp_path / "out", special_tokens=["<|a|>", "<|b|>"], impl="reference", progress=False
        )


def test_existing_output_is_kept_without_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(ExperimentError, match="--force"):
        run_train(SMALL_CORPUS, 300, out, impl="reference", progress=False)
    assert (out / "mine.txt").read_text() == "keep me"
    run_train(SMALL_CORPUS, 300, out, impl="reference", progress=False, force=True)
    assert not (out / "mine.txt").exists() and (out / "vocab.json").exists()


def test_a_crashing_implementation_leaves_nothing(tmp_path):
    with pytest.raises(ExperimentError, match="(?s)crashed.*exited with code 7"):
        run_train(SMALL_CORPUS, 300, tmp_path / "out", impl="staff.bad.crashing_trainer", progress=False)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_hanging_implementation_is_stopped_at_the_timeout(tmp_path):
    with pytest.raises(ExperimentError, match="--timeout 2 s"):
        run_train(SMALL_CORPUS, 300, tmp_path / "out", impl="staff.bad.hanging_trainer", timeout=2, progress=False)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_disk_full_while_saving_leaves_nothing(tmp_path, monkeypatch):
    from bpe_harness.tools.experiments import train

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(train, "write_readable", full)
    with pytest.raises(ExperimentError, match="disk is full"):
        run_train(SMALL_CORPUS, 300, tmp_path / "out", impl="reference", progress=False)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery")
def test_ctrl_c_stops_the_worker_and_says_so(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bpe_harness.tools.experiments",
            "train",
            str(SMALL_CORPUS),
            "--vocab-size",
            "300",
            "--out",
            str(out),
            "--impl",
            "staff.bad.hanging_trainer",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    import psutil

    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    while not parent.children() and time.monotonic() < deadline:  # wait until the worker runs
        time.sleep(0.1)
    workers = parent.children(recursive=True)
    assert workers, "the train command never started a worker"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "stopped by Ctrl-C" in stderr and "nothing was written" in stderr
    assert not out.exists() and leftovers(tmp_path) == []
    time.sleep(0.2)
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers), "worker left running"


# --- compare ------------------------------------------------------------------------------------------------------


def test_sampling_is_seeded_and_uniform_over_documents(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(f"doc {i}<|endoftext|>\n" for i in range(1000)), encoding="utf-8")
    a = sample_documents(corpus, 50, seed=1)
    assert a == sample_documents(corpus, 50, seed=1) != sample_documents(corpus, 50, seed=2)
    numbers = [int(d.split()[1]) for d in a]
    assert numbers == sorted(numbers) and len(set(numbers)) == 50
    assert min(numbers) < 200 and max(numbers) > 800  # drawn from the whole file, not its start
    assert sample_documents(corpus, 5000, seed=0) == [f"doc {i}" for i in range(1000)]


@pytest.mark.slow
def test_compare_writes_table_json_and_plot(tmp_path):
    run = tmp_path / "run"
    run_train(SMALL_CORPUS, 400, run, impl="reference", progress=False)
    corpora = []
    for style in ("tinystories", "webtext"):
        corpora.append(tmp_path / f"{style}.txt")
        write_corpus(corpora[-1], 300_000, 5, style=style)
    out = tmp_path / "cmp"
    data = run_compare(
        [f"{run}@reference", f"{run}@tiktoken", "o200k_base"],
        corpora,
        out,
        docs=40,
        min_bytes=100_000,
        impl="reference",
    )
    cells = {(c["tokenizer"], c["corpus"]): c for c in data["cells"]}
    assert len(cells) == 6
    for corpus in ("tinystories", "webtext"):
        ours, fast = cells["run@reference", corpus], cells["run@tiktoken", corpus]
        assert ours["tokens"] == fast["tokens"] > 0  # same vocab, same ids, same count
        assert 1.5 < ours["bytes_per_token"] < cells["o200k_base", corpus]["bytes_per_token"]
        assert ours["extrapolated_s"] == pytest.approx(825e9 / (ours["mb_per_s"] * 1e6), rel=0.01)
    assert "bytes per token" in data["table"] and "825" in data["table"]
    assert (out / "compare.txt").read_text().strip() == data["table"]
    if data["no_plot_reason"] is None:
        assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ExperimentError, match="--force"):
        run_compare(["o200k_base"], corpora, out, docs=5)


def test_compare_rejects_an_unknown_tokenizer(tmp_path):
    with pytest.raises(ExperimentError, match="vocab.json"):
        run_compare([str(tmp_path)], [SMALL_CORPUS], tmp_path / "cmp", docs=5)


def test_profile_runs_in_the_worker_and_names_the_trainers_functions(tmp_path):
    report = run_train(SMALL_CORPUS, 300, tmp_path / "run", impl="reference", profile=True, progress=False)
    names = [row["function"] for row in report["profile"]["top"]]
    assert any("run_train_bpe" in n for n in names) and any("reference/train.py" in n for n in names), names
    top = report["profile"]["top"][0]
    assert top["cumtime"] >= max(r["cumtime"] for r in report["profile"]["top"]) > 0
    assert json.loads((tmp_path / "run" / "profile.json").read_text()) == report["profile"]


# --- encode_corpus: bad input ------------------------------------------------------------------------------------


def test_encode_corpus_names_the_byte_offset_of_bad_utf8_and_writes_nothing(tmp_path, capsys):
    from bpe_harness.tools import encode_corpus

    run = tmp_path / "run"
    run_train(SMALL_CORPUS, 300, run, impl="reference", progress=False)
    corpus = tmp_path / "bad.txt"
    good = SMALL_CORPUS.read_bytes()
    corpus.write_bytes(good[:100_000] + b"caf\xe9" + good[100_000:])
    argv = [
        str(corpus),
        str(tmp_path / "ids.npy"),
        "--vocab",
        str(run / "vocab.json"),
        "--merges",
        str(run / "merges.json"),
        "--special-token",
        "<|endoftext|>",
        "--impl",
        "reference",
        "--chunk-mb",
        "0.05",
        "--workers",
        "1",
        "--quiet",
    ]
    assert encode_corpus.main(argv) == 2
    assert "byte offset 100,003" in capsys.readouterr().err
    assert not (tmp_path / "ids.npy").exists() and leftovers(tmp_path) == []
    assert encode_corpus.main([str(tmp_path / "missing.txt"), *argv[1:]]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_progress_line_counts_steps_one_line_each_off_a_terminal():
    """The leaderboard's k/n line is the same ProgressLine: off a terminal (logs, CI) one line per step, readings
    not drawn; each step's peak is its own."""
    from bpe_harness.client import Progress
    from bpe_harness.tools.progress import ProgressLine

    stream = io.StringIO()
    line = ProgressLine(steps=2, stream=stream)
    line.step("gate: train a")
    line(Progress(1.0, 50_000_000, 50_000_000, 0, 0))
    line.step("round 1/1: yours")
    assert line.peak_rss == 0
    line.finish()
    first, second = stream.getvalue().splitlines()
    assert first.startswith("[##########----------] 1/2 gate: train a") and "\r" not in stream.getvalue()
    assert second.startswith("[####################] 2/2 round 1/1: yours")
