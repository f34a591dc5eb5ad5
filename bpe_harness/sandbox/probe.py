"""Which tier holds on this machine (full, root, user), tried once per process; the strongest wins, a failed probe
falls back with a note and never fails.

Why this exists: the same kit is graded as root with every capability (CI), as root without CAP_SYS_ADMIN
(Gradescope's Docker) and as an ordinary user (a laptop); only trying tells which isolation holds. A root judge
never runs a submission as root: where no sandbox uid can run the interpreter, the tier says it is refused, and why.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from bpe_harness import settings
from bpe_harness.sandbox import view
from bpe_harness.sandbox.namespaces import drop_to, on_linux, try_namespaces, try_user_namespaces, works_in_child
from bpe_harness.sandbox.permissions import hidden_ancestors, interpreter_paths
from bpe_harness.sandbox.uids import PROBE_UID

TIERS = ("full", "root", "user")  # strongest first


@dataclass(frozen=True)
class Tier:
    name: str  # one of TIERS
    notes: tuple[str, ...] = ()  # why a stronger tier did not hold, what was forced
    user_namespaces: bool = False  # user tier: namespaces of an unprivileged user namespace (Linux, where allowed)
    refused: str | None = None  # root, but no sandbox uid can run the worker: why no sandbox is built (never as root)
    view: bool = False  # the worker sees an allowlisted view (view.py, bubblewrap), in PID/IPC/net namespaces

    @property
    def switches_uid(self) -> bool:
        return self.name in ("full", "root")

    @property
    def namespaces(self) -> bool:
        """The kit's own mount/net namespaces with secret paths covered (where no allowlisted view holds)."""
        return not self.view and (self.name == "full" or self.user_namespaces)

    @property
    def label(self) -> str:
        return self.name + (" (user namespaces)" if self.user_namespaces else "")


class SandboxRefused(RuntimeError):
    """Running as root, and no sandbox uid can run the worker: the submission would run as root. Never done; the
    message says why and how to fix it."""

    def __init__(self, why: str):
        super().__init__(
            f"{why}. Student code never runs as root: install Python and the kit's environment where other users can "
            "read them (e.g. /opt: uv venv with UV_PYTHON_INSTALL_DIR=/opt/..., as the Gradescope setup.sh does; or "
            "chmod o+rx the folders on the way to the interpreter), or grade as an unprivileged user."
        )


def _python_runs_as(uid: int) -> str | None:
    """None when `uid` can start this Python with the kit's packages; else why not."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "import psutil, regex"],
            preexec_fn=functools.partial(drop_to, uid, uid),
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    except (OSError, subprocess.SubprocessError) as e:
        return f"uid {uid} cannot be used ({e})"
    if proc.returncode == 0:
        return None
    hidden = sorted(hidden_ancestors(interpreter_paths()))
    where = f" ({', '.join(hidden)} cannot be entered by other users)" if hidden else ""
    return (
        f"uid {uid} cannot run {sys.executable}{where}: install Python and the kit's environment where other "
        f"users can read them (e.g. /opt, as the Gradescope setup.sh does); {proc.stderr.strip()[-200:]}"
    )


def _view_holds(notes: list[str], privileged: bool, uid: int | None = None) -> bool:
    """Whether the worker's Python starts in an allowlisted view here (view.py): as root with bwrap dropping to
    `uid` inside (privileged), or as `uid` (or this user) in a user namespace. Why not goes into `notes`."""
    if settings.SANDBOX_VIEW.is_off():
        notes.append("allowlisted view turned off (CS336_SANDBOX_VIEW=0)")
        return False
    missing = view.have_tools(as_root=privileged)
    if missing is None:  # nothing writable needed: the probe must not depend on where this process's TMPDIR is
        probe = view.View(
            readable=view.interpreter_roots(),
            writable=[],
            home="/",
            user_namespace=not privileged,
            drop_to=(uid, uid) if privileged and uid is not None else None,
        )
        preexec: Callable[[], None] | None = None
        if not privileged and uid is not None:
            preexec = functools.partial(drop_to, uid, uid)
        missing = view.probe(probe, sys.executable, preexec)
    if missing is not None:
        notes.append(
            f"no allowlisted view ({missing}): the worker sees the machine's files as far as its tier hides them"
        )
    return missing is None


def _as_user(notes: list[str]) -> Tier:
    """Not root: the worker runs as this user, in user namespaces (and a view) where the kernel allows them."""
    userns = not settings.SANDBOX_USERNS.is_off() and works_in_child(try_user_namespaces)
    why = "" if userns else "; user namespaces refused here, so no network or mount isolation"
    in_view = userns and _view_holds(notes, privileged=False)
    return Tier("user", (*notes, f"not root: the worker runs as you{why}"), user_namespaces=userns, view=in_view)


def _as_root(cap: str, notes: list[str]) -> Tier:
    """Root: the full tier where namespaces hold, the root tier where a sandbox uid can run the interpreter, else
    refused (never as root)."""
    ns = cap == "full" and works_in_child(try_namespaces)
    if cap == "full" and not ns:
        notes.append("namespaces refused here (no CAP_SYS_ADMIN, as in Docker): no network or mount isolation")
    problem = None if ns else _python_runs_as(PROBE_UID)
    if ns:
        in_view = _view_holds(notes, privileged=True, uid=PROBE_UID)  # before the notes are taken: it adds to them
        return Tier("full", tuple(notes), view=in_view)
    if cap in ("full", "root") and problem is None:
        in_view = not settings.SANDBOX_USERNS.is_off() and _view_holds(notes, privileged=False, uid=PROBE_UID)
        if in_view and cap == "full":  # the view holds all the same, in a user namespace of the sandbox uid
            notes[-1] = "no CAP_SYS_ADMIN (as in Docker): the view is built in a user namespace of the sandbox uid"
        return Tier("root", tuple(notes), view=in_view)
    why = problem or f"CS336_SANDBOX_TIER={cap} leaves no sandbox uid"
    return Tier("user", (*notes, why), refused=f"refusing to run the submission as root: {why}")


_PROBED: dict[str, Tier] = {}


def probe_tier(cap: str | None = None) -> Tier:
    """The strongest tier that works on this machine, at most `cap` (a tier name; default $CS336_SANDBOX_TIER).
    Probed once per process."""
    cap = cap if cap is not None else settings.SANDBOX_TIER.raw() or "full"
    if cap not in TIERS:
        raise ValueError(f"CS336_SANDBOX_TIER={cap!r}: expected one of {', '.join(TIERS)}")
    if cap in _PROBED:
        return _PROBED[cap]
    notes = [] if cap == "full" else [f"capped at '{cap}' by CS336_SANDBOX_TIER"]
    if not on_linux():
        tier = Tier("user", (*notes, f"{sys.platform}: no uid switch or namespaces here; limits and process group"))
    elif os.geteuid() != 0:
        tier = _as_user(notes)
    else:
        tier = _as_root(cap, notes)
    _PROBED[cap] = tier
    return tier
