"""Export the student handout: the repository minus everything staff-only.

    uv run python -m staff.handout OUT_DIR

Copies the files git tracks, except staff/ (reference, hidden tests, mutants...), .ci/, .github/ but for the
students' own grading workflow, and the leaderboard's staff side (validate, verify, render). README.md is the
students' guide as it stands (the staff's guide is staff/README.md, which leaves with staff/). Refuses to write into
a non-empty OUT_DIR, so nothing there is overwritten.

It also refuses (writing nothing) when a file it would ship carries staff content wherever it sits: lines of the
reference or the hidden tests (a copy, a paste into a stub), an archive holding staff/ files or a seed (an
autograder.zip committed by mistake), a file named like the Gradescope zip's `hidden_seed`.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

from bpe_harness.settings import ROOT

STAFF_ONLY = (
    "staff/",
    ".ci/",
    ".github/",
    "leaderboard/staff_commands.py",
    "leaderboard/validation.py",
    "leaderboard/verification.py",
    "leaderboard/render.py",
)
SHIPPED = {".github/workflows/grade.yml"}  # the students' grading workflow; every other workflow is staff-only
EXTENSIONS_TABLE = "[tool.bpe_harness]"  # pyproject.toml: the staff modules the kit loads (bpe_harness/extensions.py)


def handout_files() -> list[str]:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in tracked if f in SHIPPED or not f.startswith(STAFF_ONLY)]


STAFF_SOURCES = ("staff/reference", "staff/hidden")  # their lines must not reach a student
SEED_NAMES = ("hidden_seed",)  # the Gradescope zip's secret (staff/grading/gradescope_zip.py)
MIN_LINE = 30  # characters: shorter lines (imports, signatures) are shared by chance
MAX_SHARED = 4  # staff lines a shipped file may share with the reference that no other shipped file has...
MAX_SHARE = 0.25  # ...or any number, if they are at most this share of its lines (bpe_harness/rules.py's splitter)
COPY_SHARE = 0.6  # a file more staff lines than not is a copy: its lines do not count as shared by other files


def _lines(text: str) -> set[str]:
    return {t for t in (line.strip() for line in text.splitlines()) if len(t) >= MIN_LINE and not t.startswith("#")}


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def staff_content(files: list[str], root: Path = ROOT) -> list[str]:
    """Why each of `files` (paths under `root`) may not ship, if any: it carries lines of the reference or the
    hidden tests that no other shipped file has (more than MAX_SHARED, and more than MAX_SHARE of its lines: the
    stubs share signatures, the harness's rules a helper), or it is an archive with staff files or a seed inside,
    or a seed file itself."""
    staff = set()
    for top in STAFF_SOURCES:
        for path in sorted((root / top).rglob("*.py")):
            staff |= _lines(path.read_text(encoding="utf-8"))
    texts = {rel: _text((root / rel).read_bytes()) for rel in files}
    share = {rel: len(_lines(t) & staff) / max(1, len(_lines(t))) for rel, t in texts.items() if t is not None}
    seen: dict[str, int] = {}  # staff line -> how many shipped files have it (files mostly staff lines aside)
    for rel, text in texts.items():
        if text is not None and share[rel] <= COPY_SHARE:
            for line in _lines(text) & staff:
                seen[line] = seen.get(line, 0) + 1
    problems = []
    for rel in files:
        if PurePosixPath(rel).name in SEED_NAMES:
            problems.append(f"{rel}: a hidden seed file")
            continue
        data = (root / rel).read_bytes()
        if texts[rel] is None and zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                inner = [n for n in z.namelist() if n.startswith("staff/") or PurePosixPath(n).name in SEED_NAMES]
                pasted = [n for n in z.namelist() if len(_lines(_text(z.read(n)) or "") & staff) > MAX_SHARED]
            if inner or pasted:
                problems.append(f"{rel}: an archive holding staff content ({', '.join([*inner, *pasted][:5])})")
            continue
        lines = _lines(texts[rel] or "")
        own = {line for line in lines & staff if seen.get(line, 0) <= 1}
        if len(own) > MAX_SHARED and (len(own) > MAX_SHARE * len(lines) or share.get(rel, 0) > COPY_SHARE):
            problems.append(f"{rel}: {len(own)} lines of the reference or the hidden tests, e.g. {sorted(own)[0]!r}")
    return problems


def export(out: Path) -> list[str]:
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; choose a new folder (nothing was written)")
    files = handout_files()
    problems = staff_content(files)
    if problems:
        raise SystemExit(
            "refusing to export: staff content in files the handout would ship (remove them from git, or move them "
            "under staff/; nothing was written):\n  " + "\n  ".join(problems)
        )
    for name in files:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
        if name == "pyproject.toml":
            target.write_text(without_extensions((ROOT / name).read_text(encoding="utf-8")), encoding="utf-8")
    return files


def without_extensions(pyproject: str) -> str:
    """pyproject.toml without its extensions table and the comment above it: the handout loads no staff module."""
    lines = pyproject.splitlines(keepends=True)
    if EXTENSIONS_TABLE + "\n" not in lines:
        return pyproject
    start = end = lines.index(EXTENSIONS_TABLE + "\n")
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    end += 1
    while end < len(lines) and not lines[end].startswith("["):
        end += 1
    return "".join(lines[:start] + lines[end:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    files = export(args.out)
    print(f"wrote {len(files)} files to {args.out}; students run `uv run pytest` there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
