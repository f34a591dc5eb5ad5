"""Where the worker's Python was when a call was stopped: the timeout's message shows the implementation's frames.

"did not finish within 10 s" says nothing about which loop never ended. So the worker arms `faulthandler` on
SIGNAL (`arm`, in server.py; a fork keeps it); before the harness kills a call that ran out of time it sends SIGNAL,
and the worker's C-level handler writes every thread's Python stack to stderr, even inside a tight loop or a long C
call that holds the GIL. `describe` turns that dump into a few lines: the thread that ran the call, the code under
test's frames only (the harness's own are left out), most recent first.
"""

from __future__ import annotations

import faulthandler
import os
import re
import signal
import sys
from pathlib import Path

SIGNAL = signal.SIGUSR2 if hasattr(signal, "SIGUSR2") else None
HARNESS = str(Path(__file__).resolve().parent.parent)
SHOWN = 12  # frames at most
_FRAME = re.compile(r'^\s+File "(?P<file>[^"]*)", line (?P<line>\d+) in (?P<name>.*)$')


def arm() -> None:
    """Worker side: dump every thread's stack to stderr on SIGNAL (what the worker's code runs keeps it)."""
    if SIGNAL is not None:
        faulthandler.register(SIGNAL, file=sys.stderr, all_threads=True, chain=False)


def _threads(dump: str) -> list[list[tuple[str, str, str]]]:
    threads: list[list[tuple[str, str, str]]] = []
    for line in dump.splitlines():
        if "(most recent call first)" in line:
            threads.append([])
            continue
        match = _FRAME.match(line)
        if match and threads:
            threads[-1].append((match["file"], match["line"], match["name"]))
    return threads


def _shown(filename: str) -> str:
    """A file under the current folder (the checkout, or the judge's staged copy) by its path from there."""
    here = os.getcwd() + os.sep
    return filename[len(here) :] if filename.startswith(here) else filename


def describe(dump: str) -> str:
    """The lines for the message ("" when the dump shows nothing of the code under test)."""
    threads = _threads(dump)
    # the thread that ran the call is the one inside the server's measured call; else the one with most of their code
    running = [t for t in threads if any(f.endswith("server.py") and name == "measured" for f, _, name in t)]
    candidates = running or sorted(threads, key=lambda t: -sum(not f.startswith(HARNESS) for f, _, _ in t))
    if not candidates:
        return ""
    theirs = [(f, line, name) for f, line, name in candidates[0] if not f.startswith((HARNESS, "<frozen"))]
    if not theirs:
        return ""
    lines = [f"  {_shown(f)}, line {line}, in {name}" for f, line, name in theirs[:SHOWN]]
    if len(theirs) > SHOWN:
        lines.append(f"  ... ({len(theirs) - SHOWN} more)")
    return "Where your code was when it was stopped (most recent call first):\n" + "\n".join(lines)
