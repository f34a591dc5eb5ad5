"""A call's time limit on a busy machine: CPU time counts, up to a generous wall stop.

Every call has a time limit so that nothing can hang the suite. On a machine busy with other work (two judges on two
cores, a browser, a batch with --jobs 2), correct code gets a fraction of a core and its wall time grows while its
work does not; a wall-clock limit then turns correct code into a timeout that blames the algorithm. So when a call
reaches its limit while the machine had no idle CPU to give it, the call gets more wall time, up to WALL_STOP times
the limit; the timeout's message then says the machine was busy.

A call that is merely waiting (a sleep, a deadlock) on an idle machine still stops at its limit: the machine had CPU
to give and the call did not use it.

A verdict that a busy machine may have decided is not final: a call that timed out, or was charged its wall time,
while no CPU was idle is noted here (`note_load_affected`); the grading plugin marks the test's verdict load-affected
and the grader runs that test again with nothing else running (bpe_harness/judge/grade.py, staff/grading/load.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil

WALL_STOP = 3.0  # a call is stopped at this many times its limit in wall time, however busy the machine
BUSY_IDLE = 0.25  # busy: on average less than a quarter of one CPU was idle during the call


_load_notes: list[str] = []  # this test's load-affected calls (read and cleared by the grading plugin)


def note_load_affected(what: str) -> None:
    """A call of the current test timed out or was charged wall time while the machine had no idle CPU."""
    _load_notes.append(what)


def take_load_notes() -> list[str]:
    """The notes since the last take (the grading plugin takes them at the start and end of each test)."""
    notes = list(_load_notes)
    _load_notes.clear()
    return notes


def machine_idle_seconds() -> float:
    """CPU seconds all CPUs have spent idle since boot (the machine's, as /proc/stat sees it)."""
    times = psutil.cpu_times()
    return times.idle + getattr(times, "iowait", 0.0)


@dataclass
class LoadWatch:
    """One call's view of the machine: its tree's CPU and the machine's idle time since the call started."""

    allowed: float  # the call's limit, seconds
    tree_cpu: object  # () -> the call's tree CPU seconds so far
    started: float  # monotonic time the call started
    idle_at_start: float
    cpu_at_start: float
    busy: tuple[float, float] | None = None  # (CPU used, wall) when a grace was given

    @classmethod
    def start(cls, allowed: float, tree_cpu, started: float) -> LoadWatch:
        watch = cls(allowed, tree_cpu, started, machine_idle_seconds(), 0.0)
        watch.cpu_at_start = watch.cpu()
        return watch

    def cpu(self) -> float:
        """The tree's CPU seconds so far (the sampler's thread may be updating the tree: try again then)."""
        for _ in range(5):
            try:
                return self.tree_cpu()
            except RuntimeError:  # its membership changed while being summed
                continue
        return self.cpu_at_start

    def machine_busy(self, now: float) -> bool:
        """Whether the machine had (on average) no idle CPU since the call started."""
        wall = now - self.started
        return wall > 0 and machine_idle_seconds() - self.idle_at_start <= BUSY_IDLE * wall

    def grace(self, now: float) -> float:
        """Extra wall seconds the call gets now that it has reached its deadline (0: stop it). Given in steps of a
        quarter of the limit, each while the machine has been busy since the call started, never past the wall stop
        (a pool that uses every core gets it too: on a busy machine its share of the cores shrank)."""
        wall = now - self.started
        idle = machine_idle_seconds() - self.idle_at_start
        stop = WALL_STOP * self.allowed
        if wall >= stop or idle > BUSY_IDLE * wall:
            return 0.0
        self.busy = (self.cpu() - self.cpu_at_start, wall)
        return max(0.05, min(self.allowed / 4, stop - wall))

    def describe(self, now: float) -> str:
        """A sentence for the timeout's message when the machine was busy during the call ("" otherwise)."""
        if self.busy is None:
            return ""
        used = self.cpu() - self.cpu_at_start
        return (
            f"The machine was busy during this call: your code got {used:.1f} s of CPU in "
            f"{now - self.started:.1f} s, with no CPU left idle (other programs had the rest); a busy machine "
            f"stretches the limit up to {WALL_STOP:g} x in wall time, and this call needed more. Close other "
            f"programs (or grade with fewer jobs) and run it again; if it still does not finish, read on."
        )
