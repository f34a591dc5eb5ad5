"""The sandbox a leaderboard run's workers get: the grader's own Sandbox when this machine can build one, as the
grader does; otherwise none, said on stderr and in the record, and never the implementation run as root."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bpe_harness.settings import ROOT


def make_sandbox(enabled: bool = True, memory_bytes: int = 4_000_000_000, impl_value: str = "student"):
    """(sandbox or None, kind): the grader's Sandbox when it can be built here, at the strongest tier the machine
    allows (bpe_harness.sandbox probes it). The kind is recorded as `isolation.sandbox` and says whom the worker
    runs as: "user" (a sandbox user of its own: no network, the kit read-only to it; needs root), "limits" (you,
    with resource limits and a private HOME/TMPDIR), "none" (disabled, or no sandbox here).

    Not the sandbox's tiers (full, root, user, strongest first), whose "user" is the weakest: the record's "user"
    names the uid the worker runs as, the value committed records carry."""
    if not enabled:
        return None, "none"
    try:  # imported here: a system where the sandbox's module cannot even load (no pwd, no resource) has none
        from bpe_harness.sandbox import Sandbox, others_can_read

        box = Sandbox(memory_mb=max(2048, memory_bytes // 1_000_000 + 2048))
        box.protect_interpreter()
    except Exception as e:  # no sandbox on this system: say so in the record
        _never_as_root(f"no sandbox here ({type(e).__name__}: {e})")
        print(f"leaderboard: no sandbox here ({type(e).__name__}: {e}); the worker runs as you", file=sys.stderr)
        return None, "none"
    if box.uid is not None:
        needed = [ROOT] + ([Path(impl_value).expanduser()] if impl_value.endswith(".py") else [])
        hidden = [p for p in needed if not others_can_read(p)]
        if hidden and not (box.tier.view and box.tier.name == "full"):  # bwrap as root binds what root reads
            box.cleanup()
            _never_as_root(f"{hidden[0]} is not readable by other users")
            print(
                f"leaderboard: no sandbox: {hidden[0]} is not readable by other users, so the sandbox's user could "
                "not import it (make the folders on the way world-readable, e.g. chmod o+rx, to get the sandbox); "
                "the worker runs as you (recorded: sandbox none)",
                file=sys.stderr,
            )
            return None, "none"
    return box, ("user" if box.uid is not None else "limits")


def _never_as_root(why: str) -> None:
    """Root without a sandbox would run the implementation as root: refuse instead (--no-sandbox says it outright)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        raise SystemExit(
            f"leaderboard: refusing to run the implementation as root without a sandbox ({why}): give the sandbox's "
            "users a Python and kit they can read (e.g. under /opt, chmod o+rx), or run as an ordinary user"
        )
