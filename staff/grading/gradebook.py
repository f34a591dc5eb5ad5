"""What a batch writes for people: one gradebook row per submission with its first failure's reason (a fixed set)
and detail, CSV cells a spreadsheet shows as text, and summary.md (the score histogram, reasons, per-test pass
rates)."""

from __future__ import annotations

import statistics

REASONS = (  # the fixed set of first-failure reasons in gradebook.csv and summary.md; the detail is its own column
    "not implemented",  # a stub left as handed out
    "import failed",  # the code could not be imported (missing module, syntax error, raised at import)
    "raised an error",  # a call raised something else
    "wrong output",  # wrong answers or wrong types
    "too slow",  # over a per-call or speed limit
    "over memory",  # over a memory limit
    "crashed",  # the worker process died (signal, exit)
    "timed out",  # the whole judge hit its overall time limit
    "grader error",  # grading itself failed (unreadable submission, the judge could not run)
)


IMPORT_FRAMES = ("exec_module", "_call_with_frames_removed")  # importlib's frames: the error happened at import


CLASS_WORDS = (  # (reason, words in a failing test's reason), first match wins
    ("not implemented", ("NotImplementedError",)),
    (
        "import failed",
        (
            "ModuleNotFoundError",
            "ImportError",
            "SyntaxError",
            "IndentationError",
            "ImplError",
            "cannot be imported",
            "PackageNotFoundError",
        ),
    ),
    ("timed out", ("judge was stopped",)),
    ("too slow", ("WorkerTimeout", "did not finish", "timed out", "too slow", "x the limit")),
    ("crashed", ("WorkerCrashed", "killed by signal", "exited with code")),
    ("over memory", ("MemoryError", "memory")),
    (
        "wrong output",
        (
            "expected a list of int",
            "expected str",
            "expected dict",
            "expected a (vocab, merges)",
            "expected list[tuple",
            "expected a (bytes, bytes)",
            "token ids must be ints",
            "differ",
            "AssertionError",
            "expected",
            "assert",
        ),
    ),
)


def failure_class(reason: str, output: str = "") -> str:
    """One of REASONS for a failing test, from its reason (and its output's traceback: an exception raised while
    the submission was imported is "import failed", whatever its type)."""
    for name, words in CLASS_WORDS:
        if any(w in reason for w in words):
            return name
    if any(frame in output for frame in IMPORT_FRAMES):
        return "import failed"
    first = reason.split(":")[0].strip()
    return "raised an error" if first.endswith(("Error", "Exception", "Exit", "Interrupt")) else "wrong output"


def first_failure(results: dict, code: int) -> tuple[str, str]:
    """(reason, detail) of the first thing that went wrong (("", "") for full marks): grading itself, else the
    first test that lost points. The reason is one of REASONS; the detail says which test and what it said."""
    if code != 0:
        first = " ".join((results["tests"][0].get("output", "") if results.get("tests") else "").split())
        return "grader error", first.removeprefix("grading failed").lstrip(": ")[:200] or f"exit code {code}"
    for t in results.get("tests", []):
        if t.get("outcome") != "skipped" and t["score"] < t["max_score"]:
            reason = t.get("reason", "")
            detail = f"{t['name'].split('::')[-1]}: {' '.join(reason.split())}"[:200]
            return failure_class(reason, t.get("output", "")), detail
    return "", ""


def histogram(scores: list[float], top: float, bins: int = 10) -> list[str]:
    """Text histogram rows: score range, count, bar."""
    top = top or 1.0
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, int(bins * s / top))] += 1
    width = max(counts + [1])
    return [
        f"| {top * i / bins:5.1f}-{top * (i + 1) / bins:5.1f} | {n} | {'#' * round(30 * n / width)} |"
        for i, n in enumerate(counts)
    ]


def gradebook_row(name: str, results: dict, code: int, how: str, key: dict) -> dict:
    extra = results["extra_data"]
    reason, detail = first_failure(results, code)
    return {
        "submission": name,
        "score": results["score"],
        "max_score": extra["max_score"],
        "grading": "ok" if code == 0 else "failed",
        "reason": reason,
        "detail": detail,
        "seconds": results["execution_time"],
        "kit_version": extra["kit_version"],
        "python": extra["python"],
        "hidden_seed": "" if key["hidden_seed"] is None else key["hidden_seed"],
        "digest": key["digest"],
        "how": how,
    }


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's CSV injection: a spreadsheet runs these as formulas


def csv_cell(value):
    """A gradebook cell a spreadsheet shows as text: a string starting like a formula gets a leading quote (a
    folder named `=HYPERLINK(...)` is a submission name, and a reason quotes student output). Numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def summary(rows: list[dict], version: str, seed: int | None = None, per_test: dict | None = None) -> str:
    scores = [r["score"] for r in rows]
    top = max((r["max_score"] for r in rows), default=0.0)
    failed = [r for r in rows if r["grading"] != "ok"]
    seed_text = "no hidden tests" if seed is None else f"hidden seed {seed}"
    lines = [
        f"# Grading summary (kit {version}, {seed_text})",
        "",
        f"{len(rows)} submissions; grading failed for {len(failed)}.",
    ]
    if scores:
        lines += [
            f"Mean {statistics.mean(scores):.1f}, median {statistics.median(scores):.1f}, "
            f"max {max(scores):g} of {top:g}.",
            "",
            "| score | submissions | |",
            "|---|---|---|",
            *histogram(scores, top),
        ]
    if failed:
        lines += [
            "",
            "## Failed to grade (retried once; graded again on the next run)",
            "",
            "| submission | reason | detail |",
            "|---|---|---|",
            *(f"| {md(r['submission'])} | {r['reason']} | {md(r['detail'])} |" for r in failed),
        ]
    reasons = statistics_of(r["reason"] for r in rows if r["grading"] == "ok" and r["reason"])
    if reasons:
        lines += [
            "",
            "## First failure class",
            "",
            "| reason | submissions |",
            "|---|---|",
            *(f"| {reason} | {n} |" for reason, n in reasons),
        ]
    if per_test:
        passed: dict[str, list[int]] = {}
        for tests in per_test.values():
            for t in tests:
                if t.get("outcome") == "skipped" or t["max_score"] == 0:
                    continue
                counts = passed.setdefault(t["name"], [0, 0])
                counts[0] += t["score"] >= t["max_score"]
                counts[1] += 1
        lines += [
            "",
            "## Pass rate per test (hardest first)",
            "",
            "| test | passed | rate |",
            "|---|---|---|",
            *(
                f"| {name} | {p}/{n} | {100 * p / n:.0f}% |"
                for name, (p, n) in sorted(passed.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0]))
            ),
        ]
    return "\n".join(lines) + "\n"


def md(text: str) -> str:
    """A Markdown table cell: a `|` or a line break in a name or a message would end the cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def statistics_of(values) -> list[tuple[str, int]]:
    """(value, count), most frequent first."""
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
