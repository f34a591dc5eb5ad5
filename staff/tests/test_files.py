"""bpe_harness.files: nothing half-written, nothing private. The grader's sandboxed worker (another uid) reads the
harness's cached corpora, so a cache file must be readable by others however it was written."""

from __future__ import annotations

import os
import stat

import pytest

from bpe_harness.files import write_atomically


def _replace_privately(path):
    tmp = path.with_name(path.name + ".private")
    tmp.write_text("made elsewhere")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@pytest.mark.parametrize("content", [b"bytes", "text", _replace_privately], ids=["bytes", "str", "function"])
def test_written_files_are_complete_and_readable_by_others(tmp_path, content):
    target = tmp_path / "sub" / "file.txt"
    write_atomically(target, content)
    assert target.exists() and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")

    def fail(path):
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, fail)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_interleaved_writers_do_not_clobber_each_other(tmp_path, monkeypatch):
    """Writer A is about to move its temporary file in when writer B writes the same target: both must complete,
    and the target must be one writer's data, whole (a shared temporary name loses A's file or mixes them)."""
    target = tmp_path / "cache" / "entry"
    real_replace, nested = os.replace, []

    def replace_after_another_writer(src, dst):
        if not nested:
            nested.append(src)
            write_atomically(target, b"B" * 1000)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_after_another_writer)
    write_atomically(target, b"A" * 10)
    assert target.read_bytes() == b"A" * 10, "the last writer's data must land whole"
    assert sorted(p.name for p in target.parent.iterdir()) == ["entry"], "temporary files left behind"
