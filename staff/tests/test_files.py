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
