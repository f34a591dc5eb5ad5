"""The worker sandbox on its own: what a worker can and cannot do, checked through a real Client.

Each check runs a tiny adapters module in a sandboxed worker that reports what it saw (as the message of the
exception it raises) or attacks (memory, fork, grandchild), and asserts the outcome from this side.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from bpe_harness.client import Client, WorkerCrashed
from bpe_harness.sandbox import Sandbox, sandbox_from_environment

as_root_on_linux = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.geteuid() == 0), reason="uid switch and namespaces need root on Linux"
)

PROBE = """
import json, os
def run_train_bpe(input_path, vocab_size, special_tokens, **kw):
    seen = {"uid": os.getuid(), "cwd": os.getcwd(), "home": os.environ.get("HOME"), "env": sorted(os.environ)}
    seen["interfaces"] = [line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]]
    try:
        with open(input_path, "a") as f:
            f.write("tampered")
        seen["kit_write"] = "written"
    except OSError as e:
        seen["kit_write"] = type(e).__name__
    try:
        open("/root/.bashrc").read()
        seen["root_home"] = "read"
    except OSError as e:
        seen["root_home"] = type(e).__name__
    raise ValueError(json.dumps(seen))
def get_tokenizer(*a, **k):
    raise NotImplementedError
"""

BOMBS = """
import os, time
def run_train_bpe(input_path, vocab_size, special_tokens, **kw):
    if str(input_path).endswith("memory"):
        hoard = []
        while True:
            hoard.append(bytearray(32 << 20))
    if str(input_path).endswith("fork"):
        n = 0
        while n < 1000:
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(10**6)
                os._exit(0)
            n += 1
        raise RuntimeError(f"forked {n}")
    if str(input_path).endswith("grandchild"):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(10**6)
            os._exit(0)
        return {}, []
def get_tokenizer(*a, **k):
    raise NotImplementedError
"""


@pytest.fixture
def module_dir():
    folder = Path(tempfile.mkdtemp(prefix="cs336-sandbox-test-"))
    folder.chmod(0o755)
    yield folder
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _adapters(folder: Path, name: str, source: str) -> str:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    path.chmod(0o644)
    return str(path)


@as_root_on_linux
def test_worker_is_another_user_without_network_or_write_access(module_dir):
    kit_file = module_dir / "kit_file.txt"
    kit_file.write_text("kit")
    kit_file.chmod(0o644)
    box = Sandbox(memory_mb=1024)
    try:
        with Client(_adapters(module_dir, "probe", PROBE), sandbox=box) as impl:
            with pytest.raises(ValueError) as err:
                impl.train(kit_file, 300, [], timeout=60)
        seen = json.loads(str(err.value))
    finally:
        box.cleanup()
    assert seen["uid"] == box.uid != 0
    assert seen["cwd"] == seen["home"] == str(box.workdir / str(box.uid))
    if box.tier.namespaces:  # no network device but loopback: nothing to send through (no traffic is tried)
        assert seen["interfaces"] == ["lo"], seen["interfaces"]
    assert seen["kit_write"] == "PermissionError" and kit_file.read_text() == "kit"
    assert seen["root_home"] in ("PermissionError", "FileNotFoundError")
    assert not [k for k in seen["env"] if k.startswith(("AWS", "GITHUB", "SSH", "UV_"))], seen["env"]


def test_memory_bomb_stops_at_the_limit(module_dir):
    box = Sandbox(memory_mb=600)
    try:
        start = time.monotonic()
        with Client(_adapters(module_dir, "bombs", BOMBS), sandbox=box) as impl:
            with pytest.raises((MemoryError, WorkerCrashed)):
                impl.train("memory", 300, [], timeout=60)
        assert time.monotonic() - start < 30
    finally:
        box.cleanup()


@as_root_on_linux
def test_fork_bomb_is_bounded_and_swept(module_dir):
    box = Sandbox(nproc=16)
    try:
        with Client(_adapters(module_dir, "bombs", BOMBS), sandbox=box) as impl:
            with pytest.raises(RuntimeError) as err:
                impl.train("fork", 300, [], timeout=60)
            forked = int(str(err.value).split()[-1])
            assert 0 < forked < 16, str(err.value)
            assert box.processes(), "the sleeping children should still be there while the worker lives"
        assert box.processes() == [], "closing the Client ends the worker's whole tree"
    finally:
        box.cleanup()


@as_root_on_linux
def test_orphaned_grandchild_is_swept(module_dir):
    """A grandchild that leaves the session and is orphaned comes back to the harness (subreaper) and is ended by
    the Client itself: nothing is left for the judge's sweep."""
    box = Sandbox()
    try:
        with Client(_adapters(module_dir, "bombs", BOMBS), sandbox=box) as impl:
            impl.train("grandchild", 300, [], timeout=60)
            time.sleep(0.5)  # the intermediate process exits, the grandchild is re-parented to this process
            impl.ping()  # the next call's scans find the orphan, and end it
            # the worker's processes, and bwrap's around it where they run as its uid (the root tier's view)
            workers = {impl.zygote.pid, impl.child.pid, *impl.zygote.tree.launchers}
            running = {p.pid for p in box.processes()}  # a zombie (the dead intermediate) is not running
            assert running <= workers, box.processes()
            assert box.kill_orphans({os.getpid()}) == 0
    finally:
        box.cleanup()
    assert box.processes() == []


def test_sandbox_from_environment(tmp_path):
    assert sandbox_from_environment({}) is None
    box = sandbox_from_environment(
        {
            "CS336_SANDBOX": "1",
            "CS336_SANDBOX_DIR": str(tmp_path / "w"),
            "CS336_SANDBOX_MEMORY_MB": "700",
            "CS336_SANDBOX_UID": "61999",
        }
    )
    assert box.memory_mb == 700 and box.workdir == tmp_path / "w"
    assert box.uid == (61999 if os.geteuid() == 0 else None)
    assert box.popen_kwargs({"cwd": "/kit", "env": {"SECRET": "x", "CS336_WORKER_SYS_PATH": "[]"}})["env"].keys() >= {
        "CS336_WORKER_SYS_PATH",
        "HOME",
        "PYTHONPATH",
    }
    with pytest.raises(ValueError, match="CS336_SANDBOX_NPROC"):
        sandbox_from_environment({"CS336_SANDBOX": "1", "CS336_SANDBOX_NPROC": "many"})


@as_root_on_linux
def test_what_a_sandbox_uid_leaves_behind_is_removed():
    """Files in the shared temporary folders and System V IPC objects outlive every process of the uid that made
    them (a memo or a channel to the next grading): cleanup() removes them."""
    import ctypes

    box = Sandbox()
    uid, ipc_creat = box.uid + 3, 0o1000
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(box.gid)
            os.setuid(uid)
            libc = ctypes.CDLL(None, use_errno=True)
            ok = libc.shmget(0, 4096, ipc_creat | 0o666) >= 0 and libc.msgget(0, ipc_creat | 0o666) >= 0
            for top in ("/tmp", "/run/lock"):
                if os.access(top, os.W_OK):
                    with open(os.path.join(top, f"cs336-left-{os.getpid()}"), "w") as f:
                        f.write("memo")
            code = 0 if ok else 2
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0

    def owned() -> list[str]:
        found = [
            line
            for kind in ("shm", "msg")
            for line in open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]
            if int(line.split()[7]) == uid
        ]  # the uid column
        return found + [
            p
            for top in ("/tmp", "/run/lock")
            if os.path.isdir(top)
            for p in os.listdir(top)
            if p.startswith("cs336-left-") and os.lstat(f"{top}/{p}").st_uid == uid
        ]

    assert len(owned()) >= 3, owned()
    box.cleanup()
    assert owned() == []


SECRETS_PROBE = """
import json
def run_train_bpe(input_path, vocab_size, special_tokens, **kw):
    seen = {}
    for name in ("secret_dir/answer.txt", "secret_file.txt"):
        try:
            seen[name] = open(input_path.rsplit("/", 1)[0] + "/" + name).read()
        except OSError as e:
            seen[name] = type(e).__name__
    raise ValueError(json.dumps(seen))
def get_tokenizer(*a, **k):
    raise NotImplementedError
"""


@as_root_on_linux
def test_secret_folders_and_files_are_out_of_reach(module_dir):
    """What the judge hides (the checkout's staff/ and .git, which is a file in a git worktree) cannot be read."""
    (module_dir / "secret_dir").mkdir(mode=0o755)
    for path in (module_dir / "secret_dir" / "answer.txt", module_dir / "secret_file.txt", module_dir / "input.txt"):
        path.write_text("the answer")
        path.chmod(0o644)
    box = Sandbox(memory_mb=1024, hide=(str(module_dir / "secret_dir"), str(module_dir / "secret_file.txt")))
    try:
        with Client(_adapters(module_dir, "secrets_probe", SECRETS_PROBE), sandbox=box) as impl:
            with pytest.raises(ValueError) as err:
                impl.train(module_dir / "input.txt", 300, [], timeout=60)
        seen = json.loads(str(err.value))
    finally:
        box.cleanup()
    assert "the answer" not in seen.values(), seen


VIEW_PROBE = """
import glob, json, os
def run_train_bpe(input_path, vocab_size, special_tokens, checkout="", **kw):
    seen = {"cmdlines": {}, "listed": {}, "opened": {}}
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            seen["cmdlines"][path.split("/")[2]] = open(path, "rb").read().decode("latin-1")[:80]
        except OSError:
            pass
    for folder in ("/", "/tmp", "/home", "/root", checkout, os.path.dirname(checkout)):
        try:
            seen["listed"][folder] = sorted(os.listdir(folder))
        except OSError as e:
            seen["listed"][folder] = type(e).__name__
    for path in (checkout + "/staff/reference/adapters.py", checkout + "/staff/hidden/test_hidden.py", input_path):
        try:
            seen["opened"][path] = len(open(path).read())
        except OSError as e:
            seen["opened"][path] = type(e).__name__
    raise ValueError(json.dumps(seen))
def get_tokenizer(*a, **k):
    raise NotImplementedError
"""


@as_root_on_linux
def test_the_worker_sees_only_its_own(module_dir):
    """The allowlisted view: a worker that lists /, /tmp, /home, /root and the kit's own checkout, reads every
    /proc/*/cmdline and opens the staff reference and the hidden tests finds only what it needs: no other process,
    no host folder, no staff file. The honest twin: its own input (in its implementation's folder) and the kit's
    public files are there. (Without the view, as before, it saw every process, /home and the checkout's staff/.)"""
    from bpe_harness.settings import ROOT

    box = Sandbox(memory_mb=1024)
    if not box.tier.view:
        box.cleanup()
        pytest.skip(f"no allowlisted view in this tier: {box.tier.notes}")
    corpus = module_dir / "input.txt"
    corpus.write_text("its own input")
    corpus.chmod(0o644)
    try:
        with Client(_adapters(module_dir, "view_probe", VIEW_PROBE), sandbox=box) as impl:
            with pytest.raises(ValueError) as err:
                impl.train(corpus, 300, [], checkout=str(ROOT), timeout=60)
        seen = json.loads(str(err.value))
    finally:
        box.cleanup()
    others = {pid: cmd for pid, cmd in seen["cmdlines"].items() if "bpe_harness.worker.server" not in cmd}
    assert set(others) <= {"1"} and "bwrap" in others.get("1", "bwrap"), others  # pid 1: bwrap's init, no paths
    assert all(not cmd.startswith("/usr/bin/bwrap --ro-bind") for cmd in others.values())
    listed = seen["listed"]
    assert set(listed["/"]) <= {
        "bin",
        "dev",
        "etc",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "sbin",
        "tmp",
        "usr",
        *(
            p.split("/")[1]
            for p in (str(ROOT), str(module_dir), os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix))
        ),
    }, listed["/"]
    assert listed["/home"] == "FileNotFoundError", listed
    assert listed["/root"] in ("FileNotFoundError", [".pyenv"]) or not any(
        n for n in listed["/root"] if n not in os.path.realpath(sys.base_prefix)
    ), listed["/root"]
    assert "staff" not in listed[str(ROOT)] and ".git" not in listed[str(ROOT)], listed[str(ROOT)]
    assert set(listed["/tmp"]) <= {module_dir.name, box.workdir.name, *str(ROOT).split("/")}, listed["/tmp"]
    opened = seen["opened"]
    assert opened[str(ROOT / "staff/reference/adapters.py")] == "FileNotFoundError", opened
    assert opened[str(ROOT / "staff/hidden/test_hidden.py")] == "FileNotFoundError", opened
    assert opened[str(corpus)] == len("its own input"), opened  # the twin: what is its own is there
    assert {"bpe_harness", "tests", "cs336_basics"} <= set(listed[str(ROOT)]), listed[str(ROOT)]
