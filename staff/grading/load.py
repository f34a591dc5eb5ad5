"""A batch grade that does not depend on load: a submission whose results a busy machine may have decided is graded
again with no other judge running.

The grader marks a test `load_affected` when one of its calls timed out or was charged its wall time while the
machine had no idle CPU (bpe_harness/client/busy_machine.py), and runs such tests once more itself; with
`--jobs 2` the other judges are still running then. So when a submission's results are still load-affected, the
batch grades it again alone: `Judges.alone()` waits until every other judge has finished and keeps new ones from
starting until it is done.

    judges = Judges()
    with judges.running():
        results, code = grade(...)
    if load_affected(results):
        with judges.alone():
            results, code = grade(...)           # its row says "regraded: load"
"""

from __future__ import annotations

import contextlib
import threading

REGRADED = "regraded: load"


def load_affected(results: dict) -> bool:
    """Whether a results.json holds a verdict a busy machine may have decided."""
    extra = results.get("extra_data") or {}
    return bool(extra.get("load_affected")) or any(t.get("load_affected") for t in results.get("tests", []))


class Judges:
    """Judges that may run together, and one that must run alone (a readers-writer lock, the lone judge first)."""

    def __init__(self):
        self._lock = threading.Condition()
        self._running = 0
        self._alone_waiting = 0
        self._alone = False

    @contextlib.contextmanager
    def running(self):
        with self._lock:
            self._lock.wait_for(lambda: not self._alone and not self._alone_waiting)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    @contextlib.contextmanager
    def alone(self):
        """Called outside `running()`: waits for the other judges to finish, then runs with none beside it."""
        with self._lock:
            self._alone_waiting += 1
            self._lock.wait_for(lambda: not self._alone and self._running == 0)
            self._alone_waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._lock:
                self._alone = False
                self._lock.notify_all()
