"""--handout-check: export the handout, grade it bare (it must score 0) and with the reference's files copied in (it
must score full marks), each through `python -m bpe_harness.judge.grade`, as a student would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from staff.grading.staff_judge import reference_submission


def handout_check(timeout: float) -> int:
    """Export the handout; grade it bare (must score 0) and with the reference's files copied in (must be full)."""
    from staff.handout import export

    with tempfile.TemporaryDirectory() as tmp:
        # as a student's checkout would be: reachable by others, so the sandboxed worker (another uid) can read the
        # corpora the harness generates into the handout's .cache (mkdtemp makes the folder private)
        os.chmod(tmp, 0o755)
        handout = Path(tmp) / "handout"
        handout.mkdir()
        export(handout)
        failures = []
        for label, expect_full in (("bare handout", False), ("handout + reference", True)):
            if expect_full:
                reference_submission(handout)
            cmd = [
                sys.executable,
                "-m",
                "bpe_harness.judge.grade",
                ".",
                "--out",
                str(Path(tmp) / "results.json"),
                "--timeout",
                str(timeout),
            ]
            start = time.monotonic()
            proc = subprocess.run(cmd, cwd=handout, capture_output=True, text=True)
            results = json.loads((Path(tmp) / "results.json").read_text(encoding="utf-8"))
            score, top = results["score"], results["extra_data"]["max_score"]
            ok = proc.returncode == 0 and top > 0 and (score == top if expect_full else score == 0)
            print(f"{label}: {score:g}/{top:g} in {time.monotonic() - start:.1f} s -> {'ok' if ok else 'WRONG'}")
            if not ok:
                failures.append(label)
                wrong = [t for t in results["tests"] if (t["score"] > 0) != expect_full and t["max_score"] > 0]
                for t in wrong[:10]:
                    print(f"  {t['name']}: {t['score']:g}/{t['max_score']:g} {t.get('reason', '')[:200]}")
                print(proc.stderr[-2000:])
    return 1 if failures else 0
