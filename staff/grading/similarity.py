"""The similarity pass: every pair of a class's submissions, and each against solutions staff collected, compared on
their student-owned code, so a TA learns which submissions are the same code under new names.

    uv run --group staff python -m staff.grade --similarity DIR [--compare-with COLLECTED] [--out-dir OUT]

Run after `--batch` too (batch.py calls `similarity_pass` in similarity_report.py): similarity.md and
similarity.html beside the gradebook, and a `highest_match` column in gradebook.csv. Flags are for a person to
review, never a grade change.

How (measurements and the choice of detector: staff/README.md, "Similarity"):
1. Take each submission's student-owned files as the judge does (`read_submission`: `cs336_basics/**`,
   `tests/adapters.py`; folders or zips), `.py` only.
2. Normalise what a student changes to hide a copy: parse, drop comments (the parser never keeps them), docstrings,
   type annotations and imports (every solution imports the same things), reprint in one layout (`ast.unparse`),
   and put the statements, functions and methods of all files in one canonical order (by shape: the code with names
   and strings abstracted), so renaming, reordering and moving code between files change nothing.
3. Leave out blocks whose shape is the handout's (its stubs, `tests/adapters.py`'s glue) or what every solution
   shares (the GPT-2 regex): they never count. A stub left in place, or an untouched handout, adds nothing.
4. Fingerprint with copydetect (winnowing, as MOSS does: k-grams of the token stream with names and strings
   replaced by placeholders), the handout's fingerprints removed as boilerplate.
5. Score a pair by the larger of the two shares (matched tokens / a submission's fingerprinted tokens): a student
   who copied all of a bigger solution's trainer and nothing else scores high on their side. A pair is flagged when
   the score and the characters in common both reach their thresholds (two tiny submissions are not flagged for
   sharing one line).
"""

from __future__ import annotations

import ast
import io
import tempfile
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from bpe_harness.judge.staging import STUDENT_ADAPTERS, STUDENT_PACKAGE, SubmissionError, read_submission
from bpe_harness.settings import ROOT
from staff.grading.batch import named_submissions

NOISE_TOKENS = 25  # copydetect's noise threshold k: a match shorter than this many filtered characters never counts
GUARANTEE_TOKENS = 30  # any match at least this long is always found (winnowing window = 30 - 25 + 1)
THRESHOLD = 0.5  # flag a pair whose score (larger share of matched tokens) reaches this
MIN_MATCHED = 300  # ... and who share at least this many filtered characters (about ten lines of code)
CLASSMATE = "classmate"


@dataclass
class Document:
    """One submission (or collected solution) as compared: its normalised code and fingerprints."""

    name: str
    source: str  # CLASSMATE, or "collected: FOLDER"
    files: list[str]
    text: str  # normalised code, what the fingerprints and the HTML view are made of
    notes: list[str] = field(default_factory=list)
    fingerprint: object = None  # copydetect's CodeFingerprint


@dataclass
class Match:
    """A compared pair: `score` = max(share_a, share_b); spans are (start, end) offsets into each side's text."""

    a: str
    b: str
    source: str  # CLASSMATE or "collected: FOLDER" (b is then the collected solution)
    score: float
    share_a: float
    share_b: float
    matched: int  # filtered characters in common
    spans_a: list[tuple[int, int]]
    spans_b: list[tuple[int, int]]
    flagged: bool


@dataclass
class SimilarityResult:
    documents: dict[str, Document]
    collected: dict[str, Document]
    matches: list[Match]  # every pair, highest score first
    seconds: float
    threshold: float = THRESHOLD
    min_matched: int = MIN_MATCHED

    def flagged(self) -> list[Match]:
        return [m for m in self.matches if m.flagged]

    def highest(self) -> dict[str, Match | None]:
        """Each class submission's best match (classmate or collected), None when it matched nothing."""
        best: dict[str, Match | None] = dict.fromkeys(self.documents)
        for m in self.matches:
            for side in (m.a, m.b) if m.source == CLASSMATE else (m.a,):
                if m.score > 0 and (best[side] is None or m.score > best[side].score):
                    best[side] = m
        return best


# --- normalising ---------------------------------------------------------------------------------------------------


class _Strip(ast.NodeTransformer):
    """Drop docstrings (and any bare string statement), type annotations and imports."""

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        kept = [
            s
            for s in body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))
            and not isinstance(s, ast.Import | ast.ImportFrom)
        ]
        return kept or [ast.Pass()]

    def generic_visit(self, node):
        super().generic_visit(node)
        if isinstance(getattr(node, "body", None), list) and node.body:  # modules, classes, functions, loops, ...
            node.body = self._body(node.body)
        return node

    def visit_arg(self, node: ast.arg):
        node.annotation = None
        return node

    def visit_FunctionDef(self, node):
        node.returns = None
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node: ast.AnnAssign):
        if node.value is None:
            return None  # a bare declaration (`x: int`) does nothing
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)


class DetectorMissing(Exception):
    """copydetect is not installed: it is in the staff dependency group. The message says how to get it."""


def _copydetect():
    try:
        import copydetect.detector
        import copydetect.utils
    except ImportError:
        raise DetectorMissing(
            "the similarity pass needs copydetect, in the staff dependency group: run it as "
            "`uv run --group staff python -m staff.grade ...` (or `uv sync --group staff` once)"
        ) from None
    return copydetect


class _Abstract(ast.NodeTransformer):
    """Every name a student may choose becomes `_`, every string `S`, as the detector's tokenizer sees them."""

    def visit_Name(self, node):
        return ast.Name("_", node.ctx)

    def visit_arg(self, node):
        return ast.arg("_")

    def visit_Attribute(self, node):
        node = self.generic_visit(node)
        node.attr = "_"
        return node

    def visit_FunctionDef(self, node):
        node.name = "_"
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        node.name = "_"
        return self.generic_visit(node)

    def visit_keyword(self, node):
        node.arg = node.arg and "_"
        return self.generic_visit(node)

    def visit_Constant(self, node):
        return ast.Constant("S") if isinstance(node.value, str | bytes) else node


def _block(node: ast.AST, header: str) -> tuple[str, str]:
    """(shape, code) of `node`: the shape is its code with names and strings abstracted, so blocks are ordered, and
    handout blocks recognised, by what they do, not by what they are called. Abstracts `node` in place."""
    code = f"# {header}\n{ast.unparse(node)}"
    return ast.unparse(_Abstract().visit(node)), code


def blocks(files: dict[str, str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(shape, code) of every top-level statement, function and method of `files` after `_Strip`, each code
    headed by a comment naming its file (and class), and notes. A file that is not valid Python is one block as
    written (the detector's tokenizer still drops its comments and abstracts its names)."""
    found: list[tuple[str, str]] = []
    notes: list[str] = []
    for rel, source in sorted(files.items()):
        try:
            tree = _Strip().visit(ast.parse(source))
        except (SyntaxError, ValueError, RecursionError) as e:
            notes.append(f"{rel}: not valid Python ({type(e).__name__}), compared as written")
            found.append((source, f"# {rel}\n{source}"))
            continue
        for node in tree.body:
            if isinstance(node, ast.Pass):
                continue
            if isinstance(node, ast.ClassDef):
                methods = [s for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
                node.body = [s for s in node.body if s not in methods] or [ast.Pass()]
                found += [_block(m, f"{rel}: class {node.name}") for m in methods]
                found.append(_block(node, rel))
            else:
                found.append(_block(node, rel))
    return found, notes


def normalise(files: dict[str, str], boilerplate: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """The code of `files` ({path: source}) in canonical form: stripped (`_Strip`), in one layout, functions and
    methods of every file in one order (by shape), blocks whose shape is in `boilerplate` left out; and notes."""
    found, notes = blocks(files)
    kept = sorted((key, code) for key, code in found if key not in boilerplate)
    return "".join(code + "\n" for _, code in kept), notes


def handout_files(kit: Path = ROOT) -> dict[str, str]:
    """The handout's student-owned files (stubs and adapters glue): what every submission starts from."""
    files = {p.relative_to(kit).as_posix(): p.read_text(encoding="utf-8") for p in (kit / STUDENT_PACKAGE).glob("*.py")}
    files[STUDENT_ADAPTERS] = (kit / STUDENT_ADAPTERS).read_text(encoding="utf-8")
    return files


SHARED_BY_ALL = {  # what every solution writes the same way because the assignment says so: never similarity
    "gpt2_pattern.py": 'PAT = r"""\'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""\n'
}


@dataclass(frozen=True)
class Boilerplate:
    """What never counts: blocks (statements, functions, methods) whose shape is the handout's or what every
    solution shares are left out whole; fingerprints of the rest of the handout are removed from every document."""

    shapes: frozenset[str]
    hashes: tuple[int, ...]


def boilerplate(kit: Path = ROOT) -> Boilerplate:
    files = {**handout_files(kit), **SHARED_BY_ALL}
    found, _ = blocks(files)
    hashes: set[int] = set()
    for rel, source in files.items():
        text, _ = normalise({rel: source})
        hashes |= _fingerprint("boilerplate", text).hashes
    return Boilerplate(frozenset(key for key, _ in found), tuple(sorted(hashes)))


def _fingerprint(name: str, text: str, boilerplate: list[int] | None = None):
    window = GUARANTEE_TOKENS - NOISE_TOKENS + 1
    return _copydetect().detector.CodeFingerprint(
        f"{name}.py", NOISE_TOKENS, window, boilerplate, language="python", fp=io.StringIO(text)
    )


# --- reading submissions -------------------------------------------------------------------------------------------


def student_code(path: Path) -> tuple[dict[str, str], list[str]]:
    """{path: source} of a submission's student-owned .py files (as the judge takes them), and notes."""
    with tempfile.TemporaryDirectory(prefix="cs336-similarity-") as scratch:
        try:
            sub = read_submission(path, Path(scratch))
        except SubmissionError as e:
            return {}, [f"not compared: {e}"]
        files = {}
        for rel in sub.files:
            if rel.endswith(".py"):
                files[rel] = sub.source(rel).read_text(encoding="utf-8", errors="replace")
        return files, []


def load(folder: Path, source: str, shared: Boilerplate) -> dict[str, Document]:
    """Every submission in `folder` (named as the batch names them) as a fingerprinted Document."""
    documents = {}
    for name, path in named_submissions(folder).items():
        files, notes = student_code(path)
        text, more = normalise(files, shared.shapes)
        doc = Document(name, source, sorted(files), text, notes + more)
        doc.fingerprint = _fingerprint(name, text, list(shared.hashes))
        documents[name] = doc
    return documents


# --- comparing -----------------------------------------------------------------------------------------------------


def compare(a: Document, b: Document, source: str, threshold: float, min_matched: int) -> Match:
    matched, (share_a, share_b), (slices_a, slices_b) = _copydetect().detector.compare_files(
        a.fingerprint, b.fingerprint
    )
    score = float(max(share_a, share_b))
    spans_a = [(int(s), int(e)) for s, e in zip(*slices_a, strict=True)] if len(slices_a) else []
    spans_b = [(int(s), int(e)) for s, e in zip(*slices_b, strict=True)] if len(slices_b) else []
    flagged = score >= threshold and int(matched) >= min_matched
    return Match(a.name, b.name, source, score, float(share_a), float(share_b), int(matched), spans_a, spans_b, flagged)


def similarity(
    folder: Path,
    compare_with: Path | None = None,
    threshold: float = THRESHOLD,
    min_matched: int = MIN_MATCHED,
    kit: Path = ROOT,
) -> SimilarityResult:
    """Compare every pair of submissions in `folder`, and each with every solution in `compare_with`."""
    start = time.monotonic()
    shared = boilerplate(kit)
    documents = load(folder, CLASSMATE, shared)
    collected = {}
    if compare_with is not None:
        for name, doc in load(compare_with, "", shared).items():
            doc.source = f"collected: {name}"
            collected[name] = doc
    matches = [
        compare(documents[a], documents[b], CLASSMATE, threshold, min_matched) for a, b in combinations(documents, 2)
    ]
    matches += [compare(d, c, c.source, threshold, min_matched) for d in documents.values() for c in collected.values()]
    matches.sort(key=lambda m: (-m.score, m.a, m.b))
    return SimilarityResult(documents, collected, matches, time.monotonic() - start, threshold, min_matched)
