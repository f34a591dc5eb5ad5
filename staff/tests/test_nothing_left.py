"""Nothing of a grading is left behind, nothing planted derails the next one, and no submission ever runs as root.

Each defence with the attack it stops: links (to folders too) and POSIX message queues left by a sandbox uid are
removed by the sweep, without following a link to what it points at; a link planted where the judges' folder goes
does not stop grading (a fresh private folder is used); a root judge that has no sandbox uid refuses to grade
instead of running the submission as root. Cheap: ~15 s in all.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import tempfile

import pytest

from bpe_harness.judge.grade import GradeOptions, grade
from bpe_harness.sandbox import Sandbox, SandboxRefused, Tier, judges_base, sweep_message_queues
from bpe_harness.sandbox import uids as sandbox_uids

as_root_on_linux = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.geteuid() == 0), reason="sandbox uids need root on Linux"
)
ONE_TEST = ["tests/test_train_bpe.py::test_vocab_has_specials_and_every_byte"]
O_CREAT, O_RDWR = 0o100, 0o2


def _as_uid(uid: int, gid: int, action) -> None:
    """Run `action()` in a forked child as `uid`; it must return without raising."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            action()
            code = 0
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _mq_open(name: bytes, flags: int) -> int:
    rt = ctypes.CDLL(ctypes.util.find_library("rt") or ctypes.util.find_library("c"), use_errno=True)
    rt.mq_open.restype = ctypes.c_int
    fd = rt.mq_open(name, flags, 0o600, None)
    if fd >= 0:
        os.close(fd)
    return fd


@as_root_on_linux
def test_links_left_by_a_sandbox_uid_are_removed_and_never_followed(tmp_path):
    """A link to a folder in /tmp (os.walk lists it among the folders, where rmtree refused it silently) and a link
    to a file in /dev/shm: both go. The honest twin: what they point at, someone else's, stays untouched."""
    box = Sandbox()
    target = tmp_path / "not-theirs"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    os.chmod(tmp_path, 0o755)
    links = [f"/tmp/cs336-left-dirlink-{os.getpid()}", f"/dev/shm/cs336-left-filelink-{os.getpid()}"]

    def plant():
        os.symlink(target, links[0])
        os.symlink(target / "keep.txt", links[1])

    try:
        _as_uid(box.uid + 1, box.gid, plant)
        assert all(os.path.islink(p) and os.lstat(p).st_uid == box.uid + 1 for p in links)
        swept = box.sweep_temp()
    finally:
        box.cleanup()
    assert not [p for p in links if os.path.lexists(p)], f"left behind: {links}; swept {swept}"
    assert (target / "keep.txt").read_text() == "keep", "the sweep followed a link"


@as_root_on_linux
def test_a_posix_message_queue_of_a_sandbox_uid_is_removed():
    """A queue made by a sandbox uid outlives it (a channel to the next grading): the sweep removes it. The twin: a
    queue of this user's stays."""
    box = Sandbox()
    theirs, ours = f"/cs336-left-{os.getpid()}".encode(), f"/cs336-ours-{os.getpid()}".encode()
    _as_uid(box.uid + 2, box.gid, lambda: _mq_open(theirs, O_CREAT | O_RDWR) >= 0 or sys.exit(1))
    assert _mq_open(ours, O_CREAT | O_RDWR) >= 0
    try:
        assert _mq_open(theirs, O_RDWR) >= 0, "the queue was not made"
        box.cleanup()
        assert _mq_open(theirs, O_RDWR) < 0, "the sandbox uid's message queue survived the sweep"
        assert _mq_open(ours, O_RDWR) >= 0, "the sweep removed a queue that was not the sandbox's"
    finally:
        rt = ctypes.CDLL(ctypes.util.find_library("rt") or ctypes.util.find_library("c"))
        rt.mq_unlink(ours)
        rt.mq_unlink(theirs)
    assert sweep_message_queues(range(box.uid, box.uid + 32)) == []


@pytest.mark.slow
@as_root_on_linux
def test_a_link_planted_as_the_judges_folder_does_not_stop_grading(tmp_path, monkeypatch):
    """Someone plants /tmp/cs336-judges-<uid> as a link to a folder of theirs: the judge grades anyway, in a fresh
    private folder, and writes nothing where the link points (before: a RuntimeError, no results.json)."""
    temp = tmp_path / "tmp"
    temp.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    trap = tmp_path / "trap"
    trap.mkdir(mode=0o777)
    (temp / f"cs336-judges-{os.getuid()}").symlink_to(trap)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(sandbox_uids, "_JUDGES_BASE", None)
    base = judges_base()
    assert not base.is_symlink() and base.parent == temp and base.stat().st_uid == os.getuid(), base
    submission = tmp_path / "sub"
    (submission / "tests").mkdir(parents=True)
    (submission / "tests" / "adapters.py").write_text("def run_train_bpe(*a, **k):\n    raise ValueError('x')\n")
    results, code = grade(submission, tmp_path / "results.json", GradeOptions(tests=ONE_TEST))
    assert code == 0 and (tmp_path / "results.json").exists(), results["tests"][0]["output"][:1000]
    assert results["extra_data"]["max_score"] > 0
    assert list(trap.iterdir()) == [], "the judge wrote where the planted link points"


WHOAMI = """
import os
def run_train_bpe(*args, **kwargs):
    raise ValueError(f"worker uid {os.getuid()}")
def get_tokenizer(*args, **kwargs):
    raise ValueError(f"worker uid {os.getuid()}")
"""


@pytest.mark.slow
@as_root_on_linux
def test_a_root_judge_without_a_sandbox_uid_refuses_instead_of_running_as_root(tmp_path, monkeypatch):
    """Root, but no sandbox uid can run the worker (here: the tier capped at 'user', as a Python under /root 0700
    does): the submission must not run as root. The judge refuses with the fix and writes results.json; the twin,
    the same submission in this machine's own tier, runs as a uid other than 0."""
    submission = tmp_path / "sub"
    (submission / "tests").mkdir(parents=True)
    (submission / "tests" / "adapters.py").write_text(WHOAMI)
    honest, _ = grade(submission, tmp_path / "honest.json", GradeOptions(tests=ONE_TEST))
    assert "worker uid " in str(honest) and "worker uid 0" not in str(honest), str(honest)[:1000]

    monkeypatch.setenv("CS336_SANDBOX_TIER", "user")
    with pytest.raises(SandboxRefused, match="never runs as root"):
        Sandbox()
    with pytest.raises(SandboxRefused):
        Sandbox(tier=Tier("user"))
    results, code = grade(submission, tmp_path / "refused.json", GradeOptions(tests=ONE_TEST))
    text = (tmp_path / "refused.json").read_text()
    assert code == 2 and results["score"] == 0 and "refusing to run the submission as root" in text, text[:1000]
    assert "worker uid" not in text, "the submission ran"


def test_no_file_of_the_interpreter_is_left_writable_by_others(tmp_path):
    """A sandbox uid runs the judge's own interpreter where no view binds it read-only: a world-writable file there
    (uv's venv `.lock` is 0666) would outlive the judge and carry data between submissions. Its twin: the owner's
    own write bit, a link, and a file others could only read stay as they were."""
    import os
    import stat

    from bpe_harness.sandbox import close_world_writable

    lock, folder, own, link = tmp_path / ".lock", tmp_path / "open", tmp_path / "mine.py", tmp_path / "link"
    lock.write_text("")
    os.chmod(lock, 0o666)
    folder.mkdir()
    os.chmod(folder, 0o777)
    own.write_text("")
    os.chmod(own, 0o644)
    link.symlink_to("/dev/null")
    changed = close_world_writable((str(tmp_path),))
    assert sorted(changed) == sorted([str(lock), str(folder)])
    assert stat.S_IMODE(lock.stat().st_mode) == 0o664 and stat.S_IMODE(folder.stat().st_mode) == 0o775
    assert stat.S_IMODE(own.stat().st_mode) == 0o644 and stat.S_IMODE(os.stat("/dev/null").st_mode) & 0o002
