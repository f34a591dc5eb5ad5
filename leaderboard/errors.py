"""Why a leaderboard run stops: the two exceptions `submit` turns into its message and exit status."""

from __future__ import annotations


class SubmitError(Exception):
    """Why no submission can be produced; the message is for the student, complete and actionable."""


class GateFailure(SubmitError):
    """The implementation is not correct on the gate's inputs (the message is the graded suite's)."""
