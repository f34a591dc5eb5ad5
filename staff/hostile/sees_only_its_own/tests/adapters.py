"""Hostile twin-checker: the reference's code, which refuses to work if it can see anything of the machine beyond
its own: another process's command line in /proc, host folders (/home, /root's files, other checkouts under /work),
another judge's folder, or the checkout's staff/ beside its venv. In an allowlisted view it sees none and scores
full marks (its honest twin is the plain reference); where the tier only hides by permissions, it sees the others
and scores 0 (not a boundary there: the tier table)."""

import glob
import os
import sys

from cs336_basics.adapters import get_tokenizer, run_train_bpe  # noqa: F401


def _own_tree() -> set[str]:
    ours, pid = set(), os.getpid()
    while pid > 1:
        ours.add(str(pid))
        try:
            pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return ours | {"1"}


def _seen() -> list[str]:
    seen = []
    mine = _own_tree()
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        pid = path.split("/")[2]
        try:
            text = open(path, "rb").read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if pid not in mine and text and "bpe_harness.worker.server" not in text:
            seen.append(f"process {pid}: {text[:60]}")
    ways = [os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.executable, os.getcwd(), *sys.path) if p]
    markers = {"staff", ".git", "cs336_basics", "submissions", "results.json", "gradebook.csv", "batch.json"}
    for top in ("/home", "/root", "/work", "/opt", "/srv", "/var/tmp", "/mnt"):
        for folder, names, files in os.walk(top):
            if folder.count(os.sep) - top.count(os.sep) >= 3:
                names[:] = []
            found = [n for n in (*names, *files) if n in markers or n.startswith("cs336-judge")]
            found = [n for n in found if not any(w.startswith(os.path.join(folder, n)) for w in ways)]
            if found:
                seen.append(f"{folder}: {found[:5]}")
    venv = os.path.dirname(os.path.dirname(os.path.abspath(sys.executable)))
    checkout = os.path.dirname(venv)
    if os.path.basename(venv) == ".venv" and os.path.exists(os.path.join(checkout, "staff")):
        seen.append(f"the checkout's staff/ at {checkout}")
    for judge in glob.glob("/tmp/cs336-judges-*/cs336-judge-*"):
        if not any(p.startswith(judge) for p in map(os.path.realpath, sys.path if sys.path else [])):
            seen.append(f"another judge's folder {judge}")
    return seen


if _seen():
    raise ImportError(f"saw what is not its own: {'; '.join(_seen()[:6])}")
