"""The similarity pass's report: similarity.md (what to look at), similarity.html (each flagged pair side by side,
the matching code highlighted), and the gradebook's `highest_match` column. Staff output, written 0600 atomically:
it names students and what they share with whom."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from bpe_harness.files import write_atomically
from staff.grading.gradebook import FORMULA_STARTS, csv_cell
from staff.grading.similarity import CLASSMATE, DetectorMissing, Match, SimilarityResult, similarity

PRIVATE = 0o600
NEAR = 10  # how many of the highest unflagged pairs the report lists, so a TA sees how far the rest are


def span_lines(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """Each matching span's size in lines of the normalised code, largest first."""
    return sorted((text.count("\n", s, e) + 1 for s, e in spans), reverse=True)


def describe_spans(result: SimilarityResult, m: Match) -> str:
    sizes = span_lines(_doc(result, m.a).text, m.spans_a)
    if not sizes:
        return "none"
    return f"{len(sizes)} span{'s' if len(sizes) > 1 else ''}, largest {sizes[0]} lines, {sum(sizes)} lines in all"


def _doc(result: SimilarityResult, name: str):
    return result.documents.get(name) or result.collected[name]


def _other(m: Match, name: str) -> str:
    return m.b if m.a == name else m.a


def highest_match_column(result: SimilarityResult) -> dict[str, str]:
    """{submission: `SCORE NAME` of its highest match, `(flagged)` added when flagged; '' when nothing matched}."""
    column = {}
    for name, m in result.highest().items():
        if m is None:
            column[name] = ""
            continue
        other = _other(m, name) if m.source == CLASSMATE else m.source
        column[name] = f"{m.score:.2f} {other}" + (" (flagged)" if m.flagged else "")
    return column


def markdown(result: SimilarityResult) -> str:
    flagged = result.flagged()
    lines = [
        "# Similarity",
        "",
        f"{len(result.documents)} submissions compared pairwise"
        + (f", and each with {len(result.collected)} collected solutions" if result.collected else "")
        + f" ({len(result.matches)} pairs, {result.seconds:.1f} s). "
        f"Flagged: score >= {result.threshold:.2f} and >= {result.min_matched} characters of normalised code "
        "in common. **A flag asks a person to look; it never changes a grade.** Side by side: similarity.html.",
        "",
        "Score: the larger of the two shares of matched code (after comments, docstrings, annotations, imports, "
        "layout and the order of functions are normalised, names and strings abstracted, and the handout's stubs "
        "and glue removed). 1.00: everything one side wrote is in the other.",
        "",
        f"## Flagged pairs ({len(flagged)})",
        "",
    ]
    if flagged:
        lines += [
            "| # | submission | matches | source | score | shares | characters | shared spans |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for k, m in enumerate(flagged, 1):
            source = CLASSMATE if m.source == CLASSMATE else m.source
            lines.append(
                f"| [{k}](similarity.html#pair-{k}) | {m.a} | {m.b} | {source} | {m.score:.2f} | "
                f"{m.share_a:.2f} / {m.share_b:.2f} | {m.matched} | {describe_spans(result, m)} |"
            )
    else:
        lines.append("None.")
    near = [m for m in result.matches if not m.flagged and m.score > 0][:NEAR]
    if near:
        lines += [
            "",
            f"## Highest pairs not flagged (top {len(near)})",
            "",
            "| submission | matches | source | score | characters |",
            "|---|---|---|---|---|",
            *(f"| {m.a} | {m.b} | {m.source} | {m.score:.2f} | {m.matched} |" for m in near),
        ]
    lines += ["", "## Highest match per submission", "", "| submission | highest match | notes |", "|---|---|---|"]
    column = highest_match_column(result)
    for name, doc in sorted(result.documents.items()):
        notes = "; ".join(doc.notes) or ("no code of its own (handout only)" if not doc.text else "")
        lines.append(f"| {name} | {column[name] or '-'} | {notes} |")
    return "\n".join(lines) + "\n"


def _highlighted(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` HTML-escaped, with each span in <mark>."""
    out, at = [], 0
    for s, e in sorted(spans):
        s = max(s, at)
        if s >= e:
            continue
        out += [html.escape(text[at:s]), "<mark>", html.escape(text[s:e]), "</mark>"]
        at = e
    out.append(html.escape(text[at:]))
    return "".join(out)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
.pair { margin-top: 2em; } .sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.6em; font-size: 12px; overflow: auto;
      max-height: 40em; white-space: pre-wrap; }
mark { background: #ffd27a; }
.note { color: #555; }
"""


def html_page(result: SimilarityResult) -> str:
    flagged = result.flagged()
    rows = "".join(
        f"<tr><td><a href='#pair-{k}'>{k}</a></td><td>{html.escape(m.a)}</td><td>{html.escape(m.b)}</td>"
        f"<td>{html.escape(m.source)}</td><td>{m.score:.2f}</td><td>{m.matched}</td>"
        f"<td>{html.escape(describe_spans(result, m))}</td></tr>"
        for k, m in enumerate(flagged, 1)
    )
    pairs = []
    for k, m in enumerate(flagged, 1):
        a, b = _doc(result, m.a), _doc(result, m.b)
        pairs.append(
            f"<section class='pair' id='pair-{k}'><h2>{k}. {html.escape(m.a)} ~ {html.escape(m.b)} "
            f"({html.escape(m.source)}): score {m.score:.2f}</h2>"
            f"<p class='note'>shares {m.share_a:.2f} / {m.share_b:.2f}; {m.matched} characters in common; "
            f"{html.escape(describe_spans(result, m))}</p><div class='sides'>"
            f"<div><h3>{html.escape(m.a)}</h3><pre>{_highlighted(a.text, m.spans_a)}</pre></div>"
            f"<div><h3>{html.escape(m.b)}</h3><pre>{_highlighted(b.text, m.spans_b)}</pre></div></div></section>"
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Similarity</title>"
        f"<style>{STYLE}</style></head><body><h1>Similarity: {len(flagged)} flagged pairs</h1>"
        f"<p class='note'>{len(result.documents)} submissions, {len(result.collected)} collected solutions; flagged "
        f"at score &ge; {result.threshold:.2f} and &ge; {result.min_matched} characters in common. The code shown is "
        "the normalised code that was compared (comments, docstrings, annotations and imports gone, one layout, "
        "functions in a canonical order, each headed by its file); highlighted: what the two share. A flag asks a "
        "person to look; it never changes a grade.</p>"
        "<table><tr><th>#</th><th>submission</th><th>matches</th><th>source</th><th>score</th><th>characters</th>"
        f"<th>shared spans</th></tr>{rows}</table>{''.join(pairs)}</body></html>\n"
    )


def write_reports(result: SimilarityResult, out_dir: Path) -> list[Path]:
    """similarity.md and similarity.html in `out_dir`, each 0600 and written atomically."""
    written = []
    for name, text in (("similarity.md", markdown(result)), ("similarity.html", html_page(result))):
        write_atomically(out_dir / name, text, mode=PRIVATE)
        written.append(out_dir / name)
    return written


def similarity_pass(folder: Path, out_dir: Path, rows: list[dict] | None = None, compare_with: Path | None = None):
    """Run the pass on `folder` (and `compare_with`), write the reports into `out_dir`, print what was flagged, and
    give each gradebook row its `highest_match` (the rows of `out_dir`/gradebook.csv when `rows` is None and it
    exists: the on-demand pass after a batch). Returns the result, or None when the detector is not installed (a
    batch still writes its gradebook; the column then says how to run the pass)."""
    try:
        result = similarity(folder, compare_with)
    except DetectorMissing as e:
        print(f"similarity pass not run: {e}")
        for row in rows or []:
            row["highest_match"] = "not run: uv run --group staff"
        return None
    column = highest_match_column(result)
    if not result.matches:
        print(f"similarity: nothing to compare ({len(result.documents)} submissions, {len(result.collected)} others)")
        for row in rows or []:
            row["highest_match"] = ""
        return result
    written = write_reports(result, out_dir)
    for row in rows or []:
        row["highest_match"] = column.get(row["submission"], "")
    gradebook = out_dir / "gradebook.csv"
    if rows is None and gradebook.is_file():
        with open(gradebook, encoding="utf-8", newline="") as f:
            old = list(csv.DictReader(f))
        for row in old:  # cells were neutralised when the batch wrote them (csv_cell): match the name as submitted
            name = row.get("submission", "")
            name = name[1:] if name.startswith("'") and name[1:].startswith(FORMULA_STARTS) else name
            row["highest_match"] = csv_cell(column.get(name, ""))
        if old:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=list(old[0]))
            writer.writeheader()
            writer.writerows(old)
            write_atomically(gradebook, buf.getvalue(), mode=PRIVATE)
            written.append(gradebook)
    flagged = result.flagged()
    print(
        f"similarity: {len(result.documents)} submissions, {len(result.collected)} collected, {len(result.matches)} "
        f"pairs in {result.seconds:.1f} s; {len(flagged)} flagged for review (never a grade change)"
    )
    for m in flagged:
        print(f"  {m.a} ~ {m.b} ({m.source}): score {m.score:.2f}, {m.matched} characters in common")
    print("wrote " + ", ".join(str(p) for p in written))
    return result
