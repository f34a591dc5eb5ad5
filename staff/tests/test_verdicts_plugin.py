"""The verdict plugin (bpe_harness/judge/verdicts.py) on small test files, in process with pytest's `pytester`: the
manifest (points, visibility), one verdict per test (the first failure wins: setup, call or teardown), skips, load
notes, bad points. The judge reads nothing else, so what it scores is what these records say. ~2 s."""

from __future__ import annotations

import json

import pytest

from bpe_harness.settings import ROOT

pytest_plugins = ["pytester"]

PLUGIN = ("-p", "bpe_harness.judge.verdicts", "-p", "no:cacheprovider")


def graded(pytester, *args):
    """Run pytester's files with the verdict plugin: (result, manifest, test name -> its verdict lines in order)."""
    out = pytester.path / "grading"
    out.mkdir(exist_ok=True)
    result = pytester.runpytest_inprocess(*PLUGIN, "--grading-dir", str(out), *args)
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else None
    log = out / "verdicts.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    verdicts: dict[str, list[dict]] = {}
    for record in records:
        verdicts.setdefault(record["nodeid"].rsplit("::", 1)[-1], []).append(record)
    return result, manifest, verdicts


def test_manifest_holds_every_test_with_its_points_and_visibility(pytester):
    pytester.makepyfile(
        test_public="""
        import pytest

        def test_plain(): pass

        @pytest.mark.points(3)
        def test_three(): pass

        @pytest.mark.points(2)
        @pytest.mark.parametrize("x", [1, 2])
        def test_each_case(x): pass

        @pytest.mark.parametrize("x", [1, pytest.param(2, marks=pytest.mark.points(5))])
        def test_one_case(x): pass
        """
    )
    hidden = pytester.mkdir("staff").joinpath("hidden")
    hidden.mkdir()
    hidden.joinpath("test_secret.py").write_text("def test_hidden(): pass\n")
    result, manifest, _ = graded(pytester, "--co")
    assert result.ret == 0, result.stdout.str()
    points = {m["nodeid"].rsplit("::", 1)[-1]: (m["points"], m["visibility"]) for m in manifest}
    assert points == {
        "test_plain": (1.0, "visible"),
        "test_three": (3.0, "visible"),
        "test_each_case[1]": (2.0, "visible"),
        "test_each_case[2]": (2.0, "visible"),
        "test_one_case[1]": (1.0, "visible"),
        "test_one_case[2]": (5.0, "visible"),
        "test_hidden": (1.0, "after_due_date"),
    }


def test_a_verdict_line_per_test_and_one_per_later_failure(pytester):
    """A line when the call ends, or when setup fails or skips; a teardown failure adds a line after it (the judge
    takes the first failure, else the call's outcome)."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def broken_setup():
            raise RuntimeError("setup broke")

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown broke")

        def test_passes(): pass
        def test_fails(): assert 1 == 2, "wrong answer"
        def test_setup_error(broken_setup): pass
        def test_teardown_error(broken_teardown): pass
        def test_fails_then_teardown_error(broken_teardown): assert 0, "call first"
        @pytest.mark.skip(reason="not here")
        def test_skipped(): pass
        """
    )
    result, _, verdicts = graded(pytester)
    assert result.ret == 1, result.stdout.str()
    lines = {name: [(v["when"], v["status"]) for v in records] for name, records in verdicts.items()}
    assert lines == {
        "test_passes": [("call", "passed")],
        "test_fails": [("call", "failed")],
        "test_setup_error": [("setup", "error")],
        "test_teardown_error": [("call", "passed"), ("teardown", "error")],
        "test_fails_then_teardown_error": [("call", "failed"), ("teardown", "error")],
        "test_skipped": [("setup", "skipped")],
    }
    [fails] = verdicts["test_fails"]
    assert "wrong answer" in fails["reason"] and "assert 1 == 2" in fails["output"] and fails["duration"] >= 0
    assert "setup broke" in verdicts["test_setup_error"][0]["reason"]
    assert "teardown broke" in verdicts["test_teardown_error"][1]["reason"]
    assert verdicts["test_skipped"][0]["reason"] == "Skipped: not here" and verdicts["test_passes"][0]["output"] == ""


def test_a_failure_while_the_machine_was_busy_is_marked_load_affected(pytester):
    pytester.makepyfile(
        """
        from bpe_harness.client.busy_machine import note_load_affected

        def test_timed_out_busy():
            note_load_affected("the call timed out while no CPU was idle")
            assert 0, "timed out"

        def test_passed_busy():
            note_load_affected("busy, but it passed")

        def test_failed_quiet():
            assert 0, "wrong answer"
        """
    )
    _, _, verdicts = graded(pytester)
    [busy], [passed], [quiet] = (
        verdicts["test_timed_out_busy"],
        verdicts["test_passed_busy"],
        verdicts["test_failed_quiet"],
    )
    assert busy["load_affected"] is True and busy["load_notes"] == ["the call timed out while no CPU was idle"]
    assert "load_affected" not in passed and "load_affected" not in quiet


@pytest.mark.parametrize("points", ["-1", "'three'"])
def test_points_that_are_not_a_number_at_least_0_are_a_usage_error(pytester, points):
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.points({points})\ndef test_x(): pass\n")
    result, manifest, _ = graded(pytester, "--co")
    assert result.ret == 4 and manifest is None
    assert "points must be a number >= 0" in result.stderr.str(), result.stderr.str()


def test_without_a_grading_dir_nothing_is_written(pytester):
    pytester.makepyfile("def test_x(): pass\n")
    result = pytester.runpytest_inprocess(*PLUGIN)
    assert result.ret == 0 and not list(pytester.path.rglob("*.json*"))


def test_public_points_add_up_to_the_documented_total(pytester, tmp_path):
    """The points markers in tests/ sum to the README's public total (100)."""
    result = pytester.runpytest_inprocess(
        str(ROOT / "tests"), f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), "--co", "-q",
        *PLUGIN, "--grading-dir", str(tmp_path),
    )  # fmt: skip
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sum(t["points"] for t in manifest) == 100, result.stdout.str()[-2000:]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "| **public total** | | **100** |" in readme
