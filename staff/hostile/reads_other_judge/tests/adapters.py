"""Hostile: no BPE code of its own. While another submission is graded beside it (batch, --jobs 2), it looks for that
judge's staged kit (in the temporary folders, and at the path named in /tmp/cs336-spy-target, as if it had guessed
it) and runs the other student's code as its own."""

import glob
import os
import sys
import time

_own = {os.path.realpath(p) for p in sys.path if p}
_tried, _found = {}, None
_deadline = time.monotonic() + 5
while _found is None and time.monotonic() < _deadline:
    kits = glob.glob("/tmp/cs336-judge*/kit") + glob.glob("/tmp/cs336-judges-*/cs336-judge-*/kit")
    try:
        kits.append(open("/tmp/cs336-spy-target").read().strip())
    except OSError:
        pass
    for kit in kits:
        if os.path.realpath(kit) in _own:
            continue
        try:
            open(os.path.join(kit, "cs336_basics", "train.py")).close()
            _found = kit
        except OSError as e:
            _tried[kit] = type(e).__name__
    time.sleep(0.1)
if _found is None:
    raise ImportError(f"tried {len(_tried)} other judge folder(s), could read none: {_tried}")
sys.path.insert(0, _found)
for name in [m for m in sys.modules if m == "cs336_basics" or m.startswith("cs336_basics.")]:
    del sys.modules[name]
from cs336_basics.adapters import get_tokenizer, run_train_bpe  # noqa: E402,F401
