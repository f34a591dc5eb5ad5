"""Hostile: no BPE code of its own. It looks for the checkout the judge runs from (every folder on its path and
above) and imports the staff reference from there. The sandbox must keep the reference out of reach."""

import os
import sys
from pathlib import Path

tried = []


def _find():
    places = [*sys.path, *os.environ.get("CS336_WORKER_SYS_PATH", "").strip("[]").replace('"', "").split(","),
              os.getcwd(), sys.prefix, sys.exec_prefix]
    for place in places:
        for folder in [Path(place.strip()), *Path(place.strip()).parents]:
            candidate = folder / "staff" / "reference" / "adapters.py"
            if str(candidate) in tried:
                continue
            tried.append(str(candidate))
            try:
                if candidate.is_file():
                    return folder
            except OSError:
                continue
    return None


_root = _find()
if _root is None:
    raise ImportError(f"no staff reference reachable (looked in {len(tried)} places)")
sys.path.insert(0, str(_root))
try:
    from staff.reference.adapters import get_tokenizer, run_train_bpe  # noqa: F401
except OSError as e:
    raise ImportError(f"found {_root} but cannot read it: {e}") from e
