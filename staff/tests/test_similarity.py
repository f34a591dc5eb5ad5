"""The similarity pass (staff/grading/similarity.py): disguised copies are flagged, independently written correct
solutions are not, the handout's stubs alone score 0; each defence (boilerplate, canonical order) shown to matter by
taking it away; the report is private, escapes student code, and fills the gradebook column. ~15 s in all, most of
it the synthetic class of 20 (staff/synthetic_class.py)."""

from __future__ import annotations

import csv
import importlib
import stat

import pytest

from bpe_harness.settings import ROOT
from staff.grade import main
from staff.grading import similarity as sim
from staff.grading.similarity_report import similarity_pass, write_reports
from staff.reference import adapters as reference
from staff.synthetic_class import _independent, _write, build, disguise


def _pairs(result):
    return {tuple(sorted((m.a, m.b))): m for m in result.matches}


@pytest.mark.slow
def test_synthetic_class_every_copy_flagged_no_independent_pair(tmp_path):
    truth = build(tmp_path)
    result = sim.similarity(tmp_path / "class", tmp_path / "collected")
    assert len(result.documents) == 20 and len(truth["copy_pairs"]) == 5 and len(truth["collected_pairs"]) == 1
    copies = {tuple(sorted(p)) for p in truth["copy_pairs"] + truth["collected_pairs"]}
    pairs = _pairs(result)
    missed = [f"{k}: {pairs[k].score:.2f}, {pairs[k].matched} chars" for k in copies if not pairs[k].flagged]
    false = [f"{k}: {m.score:.2f}, {m.matched} chars" for k, m in pairs.items() if m.flagged and k not in copies]
    assert not missed, f"disguised copies not flagged (threshold {sim.THRESHOLD}, {sim.MIN_MATCHED} chars): {missed}"
    assert not false, f"independent submissions flagged: {false}. Usual cause: boilerplate counted as similarity"
    assert all(pairs[k].score >= 0.9 for k in copies), "copies should score near 1 after normalisation"
    assert max(m.score for k, m in pairs.items() if k not in copies and m.matched >= sim.MIN_MATCHED) < 0.4
    collected = pairs[tuple(sorted(("tess", "public-naive")))]
    assert collected.source == "collected: public-naive"
    best = result.highest()
    assert best["eli"] is None, "the bare handout must match nothing: it has no code of its own"
    assert not any("public-handout-clone" in (m.a, m.b) and m.score > 0 for m in result.matches)
    assert result.seconds < 60, f"the pass took {result.seconds:.0f} s on 20 submissions (budget: a minute)"

    out = tmp_path / "report"
    for path in write_reports(result, out):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} names students: staff only (0600)"
    md, page = (out / "similarity.md").read_text(), (out / "similarity.html").read_text()
    assert "| ana | pia | classmate | 1.00 |" in md and "collected: public-naive" in md
    assert page.count("<section class='pair'") == 6 and "<mark>" in page


@pytest.mark.slow
def test_the_handout_alone_scores_zero_and_boilerplate_is_why(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    _write(subs / "stub1", {})
    _write(subs / "stub2", {"cs336_basics/extra.py": "# nothing here yet\n"})
    _write(subs / "solo", _independent("tuples"))
    result = sim.similarity(subs)
    assert all(m.score == 0 and not m.flagged for m in result.matches), [(m.a, m.b, m.score) for m in result.matches]
    # attack: without the handout as boilerplate, two untouched handouts are "identical"
    monkeypatch.setattr(sim, "boilerplate", lambda kit=None: sim.Boilerplate(frozenset(), ()))
    bare = _pairs(sim.similarity(subs))[("stub1", "stub2")]
    assert bare.score == 1.0 and bare.flagged, "the boilerplate defence is what keeps the stubs out"


@pytest.mark.slow
def test_disguise_changes_the_text_not_the_normalised_shape(tmp_path, monkeypatch):
    files = _independent("heapclass")
    hidden = disguise(files, seed=7)
    assert hidden["cs336_basics/train_bpe.py"] != files["cs336_basics/train_bpe.py"]
    assert "BPETrainer" not in "".join(hidden.values()), "the disguise renames the student's own names"
    shapes = sorted(key for key, _ in sim.blocks(files)[0])
    assert sorted(key for key, _ in sim.blocks(hidden)[0]) == shapes
    subs = tmp_path / "subs"
    _write(subs / "orig", files)
    _write(subs / "copy", hidden)
    _write(subs / "other", _independent("wordlist"))
    pairs = _pairs(sim.similarity(subs))
    assert pairs[("copy", "orig")].flagged and pairs[("copy", "orig")].score >= 0.95
    assert not pairs[("orig", "other")].flagged and not pairs[("copy", "other")].flagged
    # attack: without the canonical order, the shuffled copy shares less
    monkeypatch.setattr(sim, "normalise", _file_order_normalise)
    assert _pairs(sim.similarity(subs))[("copy", "orig")].score < pairs[("copy", "orig")].score


def _file_order_normalise(files, boilerplate=frozenset()):
    found, notes = sim.blocks(files)
    return "".join(code + "\n" for key, code in found if key not in boilerplate), notes


@pytest.mark.slow
def test_report_escapes_code_cli_and_gradebook_column(tmp_path, capsys):
    hostile = 'def banner(size):\n    return "</pre><script>alert(1)</script>" * size\n'
    files = _independent("tuples")
    files["cs336_basics/train_bpe.py"] += hostile
    subs = tmp_path / "subs"
    _write(subs / "alice", files)
    _write(subs / "bob", disguise(files, seed=1))
    _write(subs / "carol", _independent("wordlist"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("submission,score\nalice,1\nbob,2\ncarol,3\n", encoding="utf-8")
    assert main(["--similarity", str(subs), "--out-dir", str(out)]) == 0
    assert "alice ~ bob (classmate)" in capsys.readouterr().out
    page = (out / "similarity.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page, "student code is shown escaped"
    rows = {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open(encoding="utf-8"))}
    assert rows["alice"]["highest_match"].endswith("bob (flagged)") and rows["alice"]["score"] == "1"
    assert "flagged" not in rows["carol"]["highest_match"]

    rows = [{"submission": n} for n in ("alice", "bob", "carol")]
    similarity_pass(subs, out, rows)
    assert rows[1]["highest_match"].endswith("alice (flagged)")


@pytest.mark.slow
def test_without_the_detector_the_batch_still_writes_its_gradebook(tmp_path, monkeypatch, capsys):
    def missing():
        raise sim.DetectorMissing("the similarity pass needs copydetect, in the staff dependency group")

    monkeypatch.setattr(sim, "_copydetect", missing)
    rows = [{"submission": "alice"}]
    assert similarity_pass(tmp_path, tmp_path / "out", rows) is None
    assert rows[0]["highest_match"].startswith("not run") and "staff dependency group" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["wordlist", "tuples", "heapclass"])
def test_the_independent_solutions_are_correct(variant):
    """staff/independent's solutions must stay correct, or 'two correct solutions are not flagged' proves nothing:
    the reference's merges on a fixture with specials, and its ids (streamed too). The graded suite passes on each
    (`uv run pytest --impl staff.independent.NAME.adapters`); this is the quick check (~2 s each)."""
    adapters = importlib.import_module(f"staff.independent.{variant}.adapters")
    corpus = ROOT / "tests/fixtures/corpora/multi_special.txt"
    specials = ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|pad|>"]
    vocab, merges = reference.run_train_bpe(corpus, 400, specials)
    assert adapters.run_train_bpe(corpus, 400, specials) == (vocab, merges)
    text = corpus.read_text(encoding="utf-8")[:20000]
    ours = reference.get_tokenizer(vocab, merges, specials)
    theirs = adapters.get_tokenizer(vocab, merges, specials)
    assert theirs.encode(text) == ours.encode(text)
    assert list(theirs.encode_iterable(text[i : i + 97] for i in range(0, len(text), 97))) == ours.encode(text)
    assert theirs.decode(ours.encode(text)) == text
