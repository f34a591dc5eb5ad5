"""Hostile: no BPE code of its own. Like a submission in a batch grading, it reads every process's command line
(/proc/*/cmdline: `staff.grade --batch DIR`, other checkouts, other judges), lists the folders named there and the
usual places (/tmp, /home, /root, /work, /opt), and runs the first solution it can read that is not its own: a
classmate's cs336_basics, or the staff reference. The allowlisted view (own PID namespace, nothing of the host)
must leave it nothing."""

import glob
import os
import sys

_own = {os.path.realpath(p) for p in sys.path if p}
_seen = {"command lines": 0, "folders": 0}


def _paths_in_command_lines():
    found = set()
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            args = open(path, "rb").read().split(b"\0")
        except OSError:
            continue
        _seen["command lines"] += 1
        for arg in args:
            text = arg.decode("utf-8", "replace").split("=", 1)[-1]
            if text.startswith("/") and os.path.isdir(text):
                found.add(text)
    return found


def _solutions(folder, depth=3):
    """Folders below `folder` holding a solution: (root to put on sys.path, module to import)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    _seen["folders"] += 1
    if "cs336_basics" in names and os.path.isfile(os.path.join(folder, "cs336_basics", "adapters.py")):
        yield folder, "cs336_basics.adapters"
    if "staff" in names and os.path.isfile(os.path.join(folder, "staff", "reference", "adapters.py")):
        yield folder, "staff.reference.adapters"
    if depth:
        for name in names:
            if not name.startswith(".") or name in (".venv",):
                yield from _solutions(os.path.join(folder, name), depth - 1)


def _steal():
    for place in [*sorted(_paths_in_command_lines()), "/tmp", "/home", "/root", "/work", "/opt", "/srv", "/var/tmp"]:
        for root, module in _solutions(place):
            if os.path.realpath(root) in _own:
                continue
            try:
                with open(os.path.join(root, *module.split(".")) + ".py") as f:
                    f.read(1)
            except OSError:
                continue
            return root, module
    return None


_found = _steal()
if _found is None:
    raise ImportError(f"batch parasite: read {_seen['command lines']} command lines and {_seen['folders']} folders, "
                      "could use none")
sys.path.insert(0, _found[0])
for _name in [m for m in sys.modules if m.split(".")[0] in ("cs336_basics", "staff")]:
    del sys.modules[_name]
_module = __import__(_found[1], fromlist=["run_train_bpe", "get_tokenizer"])
run_train_bpe, get_tokenizer = _module.run_train_bpe, _module.get_tokenizer
