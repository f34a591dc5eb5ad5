"""Rehearse the grader in every sandbox tier this machine can play, and print what held in each.

    uv run python -m staff.tiers [--tiers root,user,user-plain] [--checks self-test,hostile,tree]   # as root
    uv run python -m staff.tiers --tiers root --checks gradescope     # setup.sh + run_autograder in /autograder

Why this exists: the kit is graded as root with every capability (CI), as root without CAP_SYS_ADMIN (Gradescope's
Docker), and as an ordinary user (a TA's or a student's laptop). Each tier must give the reference full marks and
every hostile case the score it expects there (staff/hostile/cases.py), so CI runs them all from one root shell:

  full        as this process is (root, with CAP_SYS_ADMIN)
  root        root without CAP_SYS_ADMIN (capsh --drop=cap_sys_admin), with a Python other users can run
  user        an unprivileged user (created if missing) in its own copy of the checkout; user namespaces allowed
  user-plain  the same with user namespaces turned off (CS336_SANDBOX_USERNS=0): limits only

The sandbox tiers need a Python every user can read (a venv in the checkout usually points into /root); one is
built with uv from the first such interpreter found (/usr/bin/python3, ...). A tier this machine cannot play is
reported as skipped, with the reason. The table it prints is the measured per-tier table staff/README.md refers to.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

from bpe_harness.sandbox import others_can_read
from bpe_harness.settings import ROOT

TIERS = ("full", "root", "user", "user-plain")
CHECKS = {
    "gradescope": [],  # root tier only: setup.sh + run_autograder in /autograder (rehearse_gradescope)
    "self-test": ["-m", "staff.grade", "--self-test", "--json"],
    "hostile": ["-m", "staff.hostile", "--jobs", "2", "--json"],
    "tree": [
        "-m",
        "staff.tests.runpytest",
        "staff/tests/test_tree.py",
        "staff/tests/test_sandbox.py",
        "staff/tests/test_judges_apart.py",
    ],
}
GRADESCOPE = Path("/autograder")  # the rehearsal lays Gradescope's tree here (only where it is absent or its own)
USER = "cs336-tiers"
SHARED = Path("/opt/cs336-tiers")  # the venv every user can run, and the unprivileged user's checkout
SETUP_MADE = ("/opt/cs336-venv", "/opt/cs336-python", "/opt/cs336-cache")  # what Gradescope's setup.sh installs


@contextlib.contextmanager
def leaves_nothing(paths):
    """Remove, on the way out (also after an error or Ctrl-C), each of `paths` that did not exist on the way in:
    a rehearsal must not leave /autograder or /opt/cs336-* on the machine."""
    absent = [Path(p) for p in paths if not Path(p).exists()]
    try:
        yield
    finally:
        for path in absent:
            shutil.rmtree(path, ignore_errors=True)


def readable_by_all(path: Path) -> bool:
    path = path.resolve()
    if not path.exists() or not os.stat(path).st_mode & stat.S_IROTH:
        return False
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in path.parents)


def shared_python() -> Path | None:
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable, sys._base_executable):
        path = Path(candidate)
        if readable_by_all(path):
            version = subprocess.run(
                [str(path), "-c", "import sys; print(sys.version_info >= (3, 11))"], capture_output=True, text=True
            ).stdout.strip()
            if version == "True":
                return path
    return None


def uv_binary() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not on PATH")
    uv = os.path.realpath(uv)
    if not readable_by_all(Path(uv)):
        shared = SHARED / "bin" / "uv"
        shared.parent.mkdir(parents=True, exist_ok=True)
        if not shared.exists() or shared.stat().st_size != Path(uv).stat().st_size:
            shutil.copy2(uv, shared)
        os.chmod(shared, 0o755)
        uv = str(shared)
    return uv


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def prepare_root_venv(python: Path, uv: str) -> Path:
    """A venv of the kit's locked dependencies, built from `python`, that every user can run."""
    venv = SHARED / "venv"
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(venv))
    done = run([uv, "sync", "--locked", "--python", str(python), "--group", "staff"], cwd=ROOT, env=env)
    if done.returncode:
        raise RuntimeError(f"uv sync for the shared venv failed: {done.stderr[-1000:]}")
    run(["chmod", "-R", "a+rX", str(SHARED)])
    os.chmod(SHARED, 0o755)
    return venv / "bin" / "python"


def prepare_user(python: Path, uv: str) -> tuple[Path, str]:
    """The unprivileged user, its own copy of this checkout (tracked and untracked files, no venv or cache) and its
    own venv. (checkout, user)."""
    if run(["id", USER]).returncode:
        made = run(["useradd", "--create-home", "--shell", "/bin/bash", USER])
        if made.returncode:
            raise RuntimeError(f"useradd failed: {made.stderr.strip()}")
    checkout = SHARED / "user-checkout"
    shutil.rmtree(checkout, ignore_errors=True)
    files = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT).stdout.split("\0")
    for rel in filter(None, files):
        source = ROOT / rel
        if source.is_file():
            (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / rel)
    run(["chown", "-R", f"{USER}:{USER}", str(checkout)])
    os.chmod(SHARED, 0o755)
    synced = as_user([uv, "sync", "--locked", "--python", str(python), "--group", "staff"], checkout)
    if synced.returncode:
        raise RuntimeError(f"uv sync as {USER} failed: {synced.stderr[-1000:]}")
    return checkout, USER


def as_user(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    assignments = [f"{k}={shlex.quote(v)}" for k, v in (env or {}).items()]
    line = f"cd {shlex.quote(str(cwd))} && env {' '.join(assignments)} {shlex.join(cmd)}"
    return run(["su", USER, "-s", "/bin/bash", "-c", line])


def rehearse_gradescope(drop: list[str]) -> subprocess.CompletedProcess:
    """Gradescope's own steps, as its Docker runs them (root, `drop` = without CAP_SYS_ADMIN): the autograder zip
    unpacked into /autograder/source, setup.sh, then run_autograder on the reference as the submission. Its output
    ends with the results.json run_autograder wrote. /autograder and what setup.sh installs in /opt are removed
    afterwards (an /autograder that is not a rehearsal's is left alone: RuntimeError, saying so)."""
    marker = GRADESCOPE / ".cs336-rehearsal"
    if GRADESCOPE.exists() and not marker.exists():
        raise RuntimeError(
            f"{GRADESCOPE} exists and is not a rehearsal's (this machine is, or was, an autograder?): not touching "
            "it; rehearse on a machine without it, or move it away first"
        )
    shutil.rmtree(GRADESCOPE, ignore_errors=True)  # a rehearsal's, left by one that was killed
    with leaves_nothing([GRADESCOPE, *SETUP_MADE]):
        return _rehearse_in(drop, marker)


def _rehearse_in(drop: list[str], marker: Path) -> subprocess.CompletedProcess:
    import tempfile
    import zipfile

    from staff.grading.gradescope_zip import build_gradescope_zip
    from staff.grading.staff_judge import reference_submission

    (GRADESCOPE / "source").mkdir(parents=True)
    marker.touch()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "autograder.zip"
        build_gradescope_zip(archive)
        with zipfile.ZipFile(archive) as z:
            z.extractall(GRADESCOPE / "source")
    for name, mode in (("setup.sh", 0o755), ("run_autograder", 0o755), ("hidden_seed", 0o600)):
        os.chmod(GRADESCOPE / "source" / name, mode)
    shutil.copy2(GRADESCOPE / "source" / "run_autograder", GRADESCOPE / "run_autograder")
    reference_submission(GRADESCOPE / "submission")
    line = "bash /autograder/source/setup.sh > /autograder/setup.log 2>&1 && /autograder/run_autograder"
    proc = run([*drop, line], cwd="/")
    results = GRADESCOPE / "results" / "results.json"
    text = results.read_text() if results.exists() else "{}"
    setup_log = (GRADESCOPE / "setup.log").read_text(errors="replace") if (GRADESCOPE / "setup.log").exists() else ""
    try:
        results = json.loads(text)
        full = results["score"] == results["extra_data"]["max_score"] > 0
        tier = results["extra_data"]["sandbox"]["tier"]
    except (ValueError, KeyError, TypeError):
        text, full, tier = "{}", False, None
    code = proc.returncode or (0 if full and tier == "root" else 1)  # run_autograder itself always exits 0
    return subprocess.CompletedProcess(proc.args, code, proc.stdout + "\n" + text, setup_log[-3000:] + proc.stderr)


def outcome(check: str, proc: subprocess.CompletedProcess) -> str:
    """A short summary of what a check printed: each check's command prints one JSON document last on stdout (the
    gradescope rehearsal: the results.json run_autograder wrote)."""
    try:
        found = json.loads(proc.stdout[proc.stdout.rfind("\n{") + 1 :])
    except ValueError:
        return "no JSON report: " + (proc.stdout + proc.stderr).strip()[-300:].replace("\n", " ")
    try:
        return SUMMARIES[check](found)
    except (KeyError, TypeError) as e:
        return f"unexpected JSON report ({type(e).__name__}: {e}): " + json.dumps(found)[:300]


def self_test_summary(found: dict) -> str:
    return f"{found['score']:g}/{found['max_score']:g} points, tier {found['tier']}"  # public + hidden


def hostile_summary(found: dict) -> str:
    cases = found["cases"]
    wrong = [c["case"] for c in cases if not c["ok"]]
    weak = [c["case"] for c in cases if c["expected"] == "(weak)"]
    return (
        f"{len(cases) - len(wrong)}/{len(cases)} cases as expected"
        + (f"; wrong: {wrong}" if wrong else "")
        + (f"; not a boundary here: {', '.join(weak)}" if weak else "")
        + (f"; processes left running: {found['left_running'][:10]}" if found["left_running"] else "")
    )


def gradescope_summary(results: dict) -> str:
    extra = results["extra_data"]
    return (
        f"results.json {results['score']:g}/{extra['max_score']:g}, tier {extra['sandbox']['tier']}, "
        f"{len(results['tests'])} tests"
    )


def tree_summary(found: dict) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(found["counts"].items()))
    failed = [t["test"].rsplit("::", 1)[-1] for t in found["not_passed"]]
    return (counts or "no tests ran") + (f"; not passed: {', '.join(failed)}" if failed else "")


SUMMARIES = {
    "self-test": self_test_summary,
    "hostile": hostile_summary,
    "gradescope": gradescope_summary,
    "tree": tree_summary,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.tiers", description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", default=",".join(TIERS), help=f"comma-separated, of {', '.join(TIERS)}")
    parser.add_argument("--checks", default="self-test,hostile,tree", help=f"comma-separated, of {', '.join(CHECKS)}")
    args = parser.parse_args(argv)
    tiers, checks = args.tiers.split(","), args.checks.split(",")
    if unknown := [t for t in tiers if t not in TIERS] + [c for c in checks if c not in CHECKS]:
        parser.error(f"unknown tier or check: {', '.join(unknown)}")
    if os.geteuid() != 0:
        parser.error("run as root: it plays the weaker tiers from there (capsh, an unprivileged user)")
    if "gradescope" in checks and tiers != ["root"]:
        parser.error("--checks gradescope rehearses Gradescope's Docker: use it with --tiers root")
    with leaves_nothing([SHARED]):  # the shared venv, the user's checkout: rebuilt by the next rehearsal
        return rehearse(tiers, checks)


def tier_problem(tier: str, python) -> tuple[str, str] | None:
    """("skipped" or "FAILED", why) when this machine cannot rehearse the tier; None when it can."""
    if tier != "full" and python is None:
        return "skipped", "no Python >= 3.11 that every user can read (install python3 from the OS packages)"
    if tier == "root" and shutil.which("capsh") is None:
        return "skipped", "capsh missing (apt-get install libcap2-bin)"
    if tier == "root" and not others_can_read(ROOT):
        return "FAILED", (
            f"{ROOT} is not readable by other users (a folder on the way is "
            "private, as mktemp -d makes it): the root tier's workers run as other uids and import the "
            "kit from here; clone it where others can read it, or chmod o+rx the folders on the way"
        )
    return None


def launcher(tier: str, python, uv):
    """launch(cmd, extra_env) running `python cmd...` in the tier: this process (full), root without
    CAP_SYS_ADMIN (root), or an unprivileged user's own checkout (user, user-plain). RuntimeError if not ready."""
    if tier == "full":

        def launch(cmd, extra=None):
            return run([sys.executable, *cmd], cwd=ROOT, env=dict(os.environ, **(extra or {})))

        return launch
    if tier == "root":
        shared = prepare_root_venv(python, uv)

        def launch_root(cmd, extra=None):
            line = shlex.join([str(shared), *cmd])
            return run(
                ["capsh", "--drop=cap_sys_admin", "--", "-c", f"cd {shlex.quote(str(ROOT))} && {line}"],
                env=dict(os.environ, **(extra or {})),
            )

        return launch_root
    checkout, _ = prepare_user(python, uv)
    plain = {"CS336_SANDBOX_USERNS": "0"} if tier == "user-plain" else {}

    def launch_user(cmd, extra=None):
        return as_user([str(checkout / ".venv" / "bin" / "python"), *cmd], checkout, {**plain, **(extra or {})})

    return launch_user


def run_check(check: str, launch) -> subprocess.CompletedProcess:
    if check != "gradescope":
        return launch(CHECKS[check])
    try:
        return rehearse_gradescope(["capsh", "--drop=cap_sys_admin", "--", "-c"])
    except RuntimeError as e:
        return subprocess.CompletedProcess([], 1, "", str(e))


def rehearse(tiers: list[str], checks: list[str]) -> int:
    """Play each tier's checks; print the per-tier table. 1 when anything failed."""
    python, uv = shared_python(), uv_binary()
    rows, failed = [], False
    for tier in tiers:
        problem = tier_problem(tier, python)
        if problem:
            rows.append((tier, "-", problem[0], 0.0, problem[1]))
            failed |= problem[0] == "FAILED"
            continue
        try:
            launch = launcher(tier, python, uv)
        except RuntimeError as e:
            rows.append((tier, "-", "FAILED", 0.0, str(e)[:300]))
            failed = True
            continue
        for check in checks:
            started = time.monotonic()
            proc = run_check(check, launch)
            seconds = time.monotonic() - started
            ok = proc.returncode == 0
            failed |= not ok
            rows.append((tier, check, "ok" if ok else "FAILED", seconds, outcome(check, proc)))
            print(f"{tier:10} {check:9} {'ok' if ok else 'FAILED':7} {seconds:6.1f} s  {rows[-1][4]}", flush=True)
            if not ok:
                print((proc.stdout + proc.stderr)[-4000:], flush=True)
    print("\n| tier | check | result | seconds | what it showed |\n|---|---|---|---|---|")
    for tier, check, result, seconds, detail in rows:
        print(f"| {tier} | {check} | {result} | {seconds:.0f} | {detail} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
