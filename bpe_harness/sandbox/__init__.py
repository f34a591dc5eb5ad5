"""Where the worker runs: the strongest tier this machine allows, the worker's view and limits, its own uids, and the
sweep after it. One idea per module:

  probe.py        which tier holds here (Tier, probe_tier), tried once; SandboxRefused where none may run a worker
  namespaces.py   the kernel calls through libc (unshare, mount, prctl) and a forked child to try them in
  view.py         the allowlisted view of the filesystem and processes (bubblewrap)
  permissions.py  what a sandbox uid can reach, read or write; what hides the interpreter from it
  uids.py         the uid block of one sandbox (a lock per block) and the judges' shared parent folder
  confine.py      the worker's confinement between fork and exec: namespaces, rlimits, the uid drop
  sweep.py        what the uids leave behind: processes, temporary files, message queues, System V IPC
  sandbox.py      the Sandbox: how each worker is started, what it enforces, how it is passed on and cleaned up

Why this exists: the per-call time limits of the Client stop a hang, but only the OS can stop a memory bomb, a fork
bomb, a file flood, a network call, a read of the staff's files or a write into the grading kit. And machines differ:
the kit is graded as root with every capability (CI), as root without CAP_SYS_ADMIN (Gradescope's Docker: no
namespaces), and as an ordinary user (a student's or a TA's laptop, Linux or macOS). `probe_tier()` tries what holds
here, once, and the sandbox uses the strongest tier that works; a failed probe falls back with a note, never fails.

  tier  where                        isolation                                                  accounting (tree.py)
  full  root with CAP_SYS_ADMIN      a uid per worker in an allowlisted view (view.py: bwrap as   every process of the
                                     root, the uid taken inside): only the interpreter, the     worker's uid, and of
                                     kit's public files, its inputs and scratch; own PID, IPC   its PID namespace
                                     and net namespaces. Without bwrap: secret paths covered
                                     by an empty tmpfs (mount namespace), no network
  root  root without CAP_SYS_ADMIN   a uid per worker; the same view where the kernel lets a    every process of the
                                     sandbox uid make a user namespace (bwrap as that uid);     worker's uid
                                     else (Gradescope's Docker) permissions only: secret paths
                                     made private (chmod o-rwx, said in the notes), network open
  user  not root, or not Linux       the code runs as you; where unprivileged user namespaces   the worker's session,
                                     are allowed (most Linux), the same view (or, without       descendants, orphans
                                     bwrap, no network and secret paths covered); elsewhere
                                     limits only: it can read your files

A root judge never runs the submission as root: where no sandbox uid can run the interpreter (a Python under /root
0700 and no namespaces to bind it in), the Sandbox refuses (SandboxRefused) with the fix, and grading says so.

Every tier: a scrubbed environment (no secrets, no CS336_* but the worker's own), HOME/TMPDIR/cwd in a private
directory, umask 077, rlimits set before Python starts (address space, file size, no core dumps; in the uid tiers the
process count of the worker's uid), its own session, and the CPU count the worker may use (os.cpu_count() inside
reports it, so a pool sized by it fits). The worker's whole tree is bounded in memory by the Client (tree_memory).
In the uid tiers the workers of one sandbox share a group of their own, so a private scratch folder can be opened to
them and to no other judge's workers; whatever their uids leave in /tmp, /var/tmp or /dev/shm (links removed, never
followed), their POSIX message queues and System V objects go in cleanup(); in a view, its IPC namespace takes them.

`sandbox_from_environment(os.environ)` builds one from CS336_SANDBOX=1 (and CS336_SANDBOX_UID, _DIR, _MEMORY_MB,
_TREE_MEMORY_MB, _NPROC, _FSIZE_MB, _CPUS, _HIDE, _SCRATCH, _READABLE, _TIER): the graders set these for their child
pytest, whose plugin passes it to every Client. CS336_SANDBOX_TIER=root|user caps the tier, CS336_SANDBOX_USERNS=0
turns off user namespaces (user and root tiers), CS336_SANDBOX_VIEW=0 the allowlisted view (staff: rehearse a weaker
machine).
"""

from bpe_harness.sandbox.permissions import close_world_writable, keep_out_of_reach, others_can_read
from bpe_harness.sandbox.probe import TIERS, SandboxRefused, Tier, probe_tier
from bpe_harness.sandbox.sandbox import Sandbox, allowed_cpus, sandbox_from_environment
from bpe_harness.sandbox.sweep import sweep_message_queues
from bpe_harness.sandbox.uids import UID_RANGE, UIDS_PER_SANDBOX, judges_base, reserve_uid_block

__all__ = [
    "TIERS",
    "UIDS_PER_SANDBOX",
    "UID_RANGE",
    "Sandbox",
    "SandboxRefused",
    "Tier",
    "allowed_cpus",
    "close_world_writable",
    "judges_base",
    "keep_out_of_reach",
    "others_can_read",
    "probe_tier",
    "reserve_uid_block",
    "sandbox_from_environment",
    "sweep_message_queues",
]
