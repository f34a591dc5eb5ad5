"""Hostile: no BPE code of its own. While another submission is graded beside it (batch, --jobs 2), it looks for that
judge's staged kit in the temporary folders (cs336-judge-*/kit) and runs the other student's code as its own."""

import glob
import os
import sys
import time

_own = {os.path.realpath(p) for p in sys.path if p}
_seen, _found = set(), None
_deadline = time.monotonic() + 5
while _found is None and time.monotonic() < _deadline:
    for judge in glob.glob("/tmp/cs336-judge-*"):
        kit = os.path.join(judge, "kit")
        if os.path.realpath(kit) in _own:
            continue
        _seen.add(judge)
        try:
            if os.path.isfile(os.path.join(kit, "cs336_basics", "train.py")):
                _found = kit
        except OSError:
            continue
    time.sleep(0.1)
if _found is None:
    raise ImportError(f"saw {len(_seen)} other judge folder(s) in /tmp, could read none")
sys.path.insert(0, _found)
for name in [m for m in sys.modules if m == "cs336_basics" or m.startswith("cs336_basics.")]:
    del sys.modules[name]
from cs336_basics.adapters import get_tokenizer, run_train_bpe  # noqa: E402,F401
