"""Hostile: no BPE code of its own. It looks for the checkout the judge runs from (every folder on its path and
above) and imports the staff reference from there, or from that checkout's git history (found by a staff attacker).
The sandbox must keep both out of reach."""

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


def _from_history():
    """The reference out of the checkout's git history (git show), into a folder of our own."""
    import subprocess
    import tempfile

    for place in [*sys.path, os.getcwd(), sys.prefix]:
        for folder in [Path(place), *Path(place).parents]:
            try:
                if not (folder / ".git").is_dir():
                    continue
                names = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(folder), "ls-tree", "--name-only",
                                        "HEAD", "staff/reference/"], capture_output=True, text=True, timeout=20)
            except (OSError, subprocess.SubprocessError):
                continue
            if names.returncode or not names.stdout.strip():
                tried.append(f"{folder}/.git: {names.stderr.strip()[:80]}")
                continue
            out = Path(tempfile.mkdtemp())
            (out / "staff" / "reference").mkdir(parents=True)
            (out / "staff" / "__init__.py").write_text("")
            for name in names.stdout.split():
                blob = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(folder), "show", f"HEAD:{name}"],
                                      capture_output=True, text=True, timeout=20)
                (out / name).write_text(blob.stdout)
            return out
    return None


_root = _find() or _from_history()
if _root is None:
    raise ImportError(f"no staff reference reachable (looked in {len(tried)} places)")
sys.path.insert(0, str(_root))
try:
    from staff.reference.adapters import get_tokenizer, run_train_bpe  # noqa: F401
except OSError as e:
    raise ImportError(f"found {_root} but cannot read it: {e}") from e
