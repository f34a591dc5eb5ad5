"""What the judge prints: the table of tests (points, status, one-line reason) and the total, with every control
character escaped; and, when grading itself failed, why (on stderr)."""

from __future__ import annotations

import sys
import unicodedata
from typing import Any


def printable(text: str) -> str:
    """`text` with every control or format character (an ANSI escape, a carriage return, a right-to-left override)
    written as its escape: a reason quotes the submission's own messages, and a terminal must not let them move the
    cursor over the table (a failing row redrawn as "passed")."""
    return "".join(
        c if c in "\n\t" or not unicodedata.category(c).startswith("C") else c.encode("unicode_escape").decode()
        for c in text
    )


def format_table(results: dict[str, Any]) -> str:
    """The readable report: test, points, status, one-line reason; then the total (control characters escaped)."""
    rows = [
        (t["name"], f"{t['score']:g}/{t['max_score']:g}", t.get("outcome", t["status"]), t.get("reason", "")[:90])
        for t in results["tests"]
    ]
    width = min(88, max([len(r[0]) for r in rows] + [4]))
    lines = [f"{'test':<{width}}  {'points':>7}  {'status':<7}  reason"]
    for name, pts, status, reason in rows:
        name = name if len(name) <= width else "..." + name[-(width - 3) :]
        lines.append(f"{name:<{width}}  {pts:>7}  {status:<7}  {reason}")
    for t in results["extra_data"].get("skipped", []):
        lines.append(f"{t['name'][-width:]:<{width}}  {'-':>7}  skipped  {t['reason'][:90]}")
    total = results["extra_data"]["max_score"]
    lines.append(f"{'total':<{width}}  {results['score']:g}/{total:g}")
    output = results["output"].splitlines()
    lines += [output[0], *(line for line in output if line.startswith("sandbox"))]
    return printable("\n".join(lines))


def report_failure(results: dict[str, Any], code: int) -> None:
    """When grading itself failed (exit code 2), say why on stderr: the table only says "grading failed"."""
    if code == 0 or not results.get("tests"):
        return
    why = results["tests"][0].get("output", "").strip()
    print(f"error: {why or 'grading failed'}", file=sys.stderr)
