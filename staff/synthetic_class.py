"""A synthetic class for the similarity pass: independent submissions with disguised copies mixed in, made only from
code this repository holds (the reference, the naive trainer, staff/independent's solutions, hostile and degenerate
submissions, a mutant), so the pass can be measured without anyone's real code.

    uv run python -m staff.synthetic_class OUT          # OUT/class (20 submissions), OUT/collected, OUT/truth.json
    uv run python -m staff.synthetic_class OUT --measure   # ... then run the pass and print the score distribution

A disguised copy is what a student does to hide one: every name they may choose renamed (functions, classes,
arguments, variables, attributes), docstrings and comments replaced, the code reformatted (another indentation,
`ast.unparse`'s layout), functions and methods shuffled, and for one copy all modules merged into one file. Which
pairs are copies is in truth.json: two submissions are a copy pair when they share an origin.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import json
import random
import shutil
import sys
import zipfile
from pathlib import Path

from bpe_harness.settings import ROOT
from staff.grading.staff_judge import reference_submission
from staff.mutants.catalog import MUTANTS
from staff.mutants.run import mutated_sources

HANDOUT_ADAPTERS = (ROOT / "tests" / "adapters.py").read_text(encoding="utf-8")
API = {"train_bpe", "Tokenizer", "encode", "decode", "encode_iterable", "from_files", "run_train_bpe", "get_tokenizer"}
HANDOUT_PARAMETERS = {  # the handout's signatures: its adapters call Tokenizer(..., pattern=pattern)
    node.arg
    for rel in ("cs336_basics/tokenizer.py", "cs336_basics/train_bpe.py", "tests/adapters.py")
    for node in ast.walk(ast.parse((ROOT / rel).read_text(encoding="utf-8")))
    if isinstance(node, ast.arg)
}
KEPT = API | HANDOUT_PARAMETERS | {"self", "cls", "kwargs", "args"} | set(dir(builtins))
WORDS = (
    "amber basil cedar delta ember fjord grove harbor iris juniper kelp lumen maple nectar onyx pebble quartz "
    "raven sage tundra umber vale willow xenon yarrow zephyr"
).split()
COMMENTS = (
    "# helper for the main loop",
    "# TODO: tidy this up before the deadline",
    "# see lecture notes",
    "# this part took me a while",
    "# edge cases handled here",
)
MUTANT = "tie_smallest_pair"  # the reference with one bug: a copy made from it is still a copy of the reference


def _handout(into: Path) -> Path:
    for rel in ("cs336_basics/__init__.py", "cs336_basics/tokenizer.py", "cs336_basics/train_bpe.py"):
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, into / rel)
    (into / "tests").mkdir(exist_ok=True)
    (into / "tests" / "adapters.py").write_text(HANDOUT_ADAPTERS, encoding="utf-8")
    return into


def _write(into: Path, files: dict[str, str]) -> Path:
    _handout(into)
    for rel, text in files.items():
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        (into / rel).write_text(text, encoding="utf-8")
    return into


def _independent(name: str) -> dict[str, str]:
    folder = ROOT / "staff" / "independent" / name
    return {f"cs336_basics/{f}": (folder / f).read_text(encoding="utf-8") for f in ("train_bpe.py", "tokenizer.py")}


def _naive() -> dict[str, str]:
    return {
        "cs336_basics/naive.py": (ROOT / "staff" / "naive.py").read_text(encoding="utf-8"),
        "cs336_basics/naive_trainer.py": (ROOT / "staff" / "bad" / "naive_trainer.py").read_text(encoding="utf-8"),
        "cs336_basics/naive_encoder.py": (ROOT / "staff" / "bad" / "naive_encoder.py").read_text(encoding="utf-8"),
        "tests/adapters.py": "from cs336_basics.naive_encoder import get_tokenizer\n"
        "from cs336_basics.naive_trainer import run_train_bpe\n",
    }


def _adapters_module(path: Path) -> dict[str, str]:
    return {"tests/adapters.py": path.read_text(encoding="utf-8")}


# --- disguising ----------------------------------------------------------------------------------------------------


class _Names(ast.NodeVisitor):
    """Every name a student chose: functions, classes, arguments, assigned variables (`names`), and the attributes
    and methods of their own classes (`attributes`: renamed only after a dot, so `m.start()` keeps a library's
    method when `start` is also a local variable)."""

    def __init__(self):
        self.names: list[str] = []
        self.attributes: set[str] = set()
        self.parameters: set[str] = set()
        self.imported: set[str] = set()
        self._in_class = False

    def _add(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)

    def visit_FunctionDef(self, node):
        self._add(node.name)
        if self._in_class:
            self.attributes.add(node.name)
        in_class, self._in_class = self._in_class, False
        self.generic_visit(node)
        self._in_class = in_class

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self._add(node.name)
        in_class, self._in_class = self._in_class, True
        self.generic_visit(node)
        self._in_class = in_class

    def visit_arg(self, node):
        self._add(node.arg)
        self.parameters.add(node.arg)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self._add(node.id)

    def visit_Attribute(self, node):
        if isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == "self":
            self._add(node.attr)
            self.attributes.add(node.attr)
        self.generic_visit(node)

    def visit_alias(self, node):
        self.imported.add((node.asname or node.name).split(".")[0])


LIBRARY_KEYWORDS = {"key", "reverse", "default", "encoding", "errors", "strict", "newline", "flags", "start", "end"}


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str], attributes: set[str], parameters: set[str]):
        self.mapping = mapping
        self.attributes = attributes
        self.parameters = parameters - LIBRARY_KEYWORDS

    def _new(self, name: str) -> str:
        return self.mapping.get(name, name)

    def visit_FunctionDef(self, node):
        node.name = self._new(node.name)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        node.name = self._new(node.name)
        return self.generic_visit(node)

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        return node

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_Attribute(self, node):
        if node.attr in self.attributes:
            node.attr = self._new(node.attr)
        return self.generic_visit(node)

    def visit_keyword(self, node):
        if node.arg in self.parameters:
            node.arg = self._new(node.arg)
        return self.generic_visit(node)


def _shuffle_definitions(body: list[ast.stmt], rng: random.Random) -> list[ast.stmt]:
    """Functions and classes shuffled among the places they held, so module-level code still runs after them."""
    places = [k for k, s in enumerate(body) if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    defs = [body[k] for k in places]
    rng.shuffle(defs)
    body = list(body)
    for k, d in zip(places, defs, strict=True):
        if isinstance(d, ast.ClassDef):
            d.body = _shuffle_definitions(d.body, rng)
        body[k] = d
    return body


def _new_docstrings(tree: ast.AST, rng: random.Random) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body.pop(0)
            if isinstance(node, ast.FunctionDef) and rng.random() < 0.4:
                node.body.insert(0, ast.Expr(ast.Constant(f"{rng.choice(WORDS)} step, my own version.")))
            if not node.body:
                node.body = [ast.Pass()]


def _package_import(node: ast.stmt) -> bool:
    """An import of the student's own package (or of __future__), which a merged single file no longer needs."""
    if not isinstance(node, ast.ImportFrom):
        return False
    return node.level > 0 or (node.module or "").split(".")[0] in ("cs336_basics", "__future__")


def _dependency_order(trees: dict[str, ast.Module]) -> list[str]:
    """Files ordered so each comes after the package modules it imports (for merging them into one)."""
    needs = {}
    for rel, tree in trees.items():
        imported = {(node.module or "").split(".")[-1] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        needs[rel] = {other for other in trees if other != rel and Path(other).stem in imported}
    order: list[str] = []
    while len(order) < len(trees):
        ready = sorted(rel for rel in trees if rel not in order and needs[rel] <= set(order))
        order += ready or sorted(rel for rel in trees if rel not in order)  # a cycle: any order
    return order


def disguise(files: dict[str, str], seed: int, merge_into: str | None = None) -> dict[str, str]:
    """`files` as a student hiding a copy would hand them in (see the module docstring); with `merge_into`, every
    cs336_basics module merged into that one file (tests/adapters.py then imports from it)."""
    rng = random.Random(seed)
    trees = {rel: ast.parse(text) for rel, text in files.items()}
    names = _Names()
    for tree in trees.values():
        names.visit(tree)
    chosen = [n for n in names.names if n not in KEPT and n not in names.imported and not n.startswith("__")]
    pool = [f"{a}_{b}" for a in WORDS for b in WORDS if a != b]
    rng.shuffle(pool)
    mapping = dict(zip(chosen, pool, strict=False))
    order = _dependency_order(trees) if merge_into else list(trees)
    out: dict[str, str] = {}
    for rel in order:
        tree = trees[rel]
        if merge_into and rel.startswith("cs336_basics/"):
            tree.body = [s for s in tree.body if not _package_import(s)]
        _new_docstrings(tree, rng)
        tree = _Rename(mapping, names.attributes, names.parameters).visit(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    alias.name = mapping.get(alias.name, alias.name)
        tree.body = _shuffle_definitions(tree.body, rng)
        ast.fix_missing_locations(tree)
        lines = []
        for line in ast.unparse(tree).splitlines():
            stripped = line.lstrip(" ")
            indent = (len(line) - len(stripped)) // 4
            if stripped.startswith(("def ", "class ")) and rng.random() < 0.5:
                lines.append("  " * indent + rng.choice(COMMENTS))
            lines.append("  " * indent + stripped)  # two-space indentation instead of four
        out[rel] = "\n".join(lines) + "\n"
    if merge_into:
        package = [rel for rel in out if rel.startswith("cs336_basics/")]
        out[merge_into] = "from __future__ import annotations\n\n" + "\n\n".join(out.pop(rel) for rel in package)
        module = merge_into.removesuffix(".py").replace("/", ".")
        out["tests/adapters.py"] = f"from {module} import get_tokenizer, run_train_bpe  # noqa: F401\n"
    return out


# --- the class -------------------------------------------------------------------------------------------------------


def build(out: Path) -> dict:
    """Write OUT/class (15 independent submissions and 5 disguised copies, some zipped), OUT/collected (solutions
    staff collected) and return the truth: {"origins": {submission: [origin, ...]}, "copy_pairs": [[a, b], ...]}."""
    klass, collected = out / "class", out / "collected"
    for folder in (klass, collected):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    origins: dict[str, list[str]] = {}

    def add(name: str, files: dict[str, str] | None, origin: str | None, folder: Path = klass) -> Path:
        target = _write(folder / name, files or {})
        if origin:
            origins[name] = [origin]
        return target

    reference_submission(klass / "ana")
    origins["ana"] = ["reference"]
    add("ben", _independent("wordlist"), "wordlist")
    add("caro", _independent("tuples"), "tuples")
    add("dev", _independent("heapclass"), "heapclass")
    add("eli", None, None)  # the bare handout
    for name, case in (
        ("fay", "infinite_loop"),
        ("gus", "sleep_forever"),
        ("hal", "memory_bomb"),
        ("ida", "fork_bomb"),
        ("jo", "wrong_types"),
        ("kim", "eq_always_true"),
    ):
        add(name, _adapters_module(ROOT / "staff" / "hostile" / case / "tests" / "adapters.py"), None)
    for name, module in (("lou", "empty"), ("max", "identity"), ("ned", "bytes_only"), ("ola", "constant")):
        add(name, _adapters_module(ROOT / "staff" / "degenerate" / f"{module}.py"), None)

    reference = {
        f"cs336_basics/{p.name}": p.read_text(encoding="utf-8") for p in (ROOT / "staff/reference").glob("*.py")
    }
    reference["tests/adapters.py"] = (klass / "ana" / "tests" / "adapters.py").read_text(encoding="utf-8")
    add("pia", disguise(reference, seed=1), "reference")
    add("quinn", disguise(_independent("wordlist"), seed=2), "wordlist")
    heap_trainer = {"cs336_basics/train_bpe.py": _independent("heapclass")["cs336_basics/train_bpe.py"]}
    add("rosa", disguise(heap_trainer, seed=3), "heapclass")  # copied the trainer only; tokenizer left a stub
    mutant = next(m for m in MUTANTS if m.name == MUTANT)
    mutated = {f"cs336_basics/{name}": text for name, text in mutated_sources(mutant).items()}
    mutated["tests/adapters.py"] = reference["tests/adapters.py"]
    add("sam", disguise(mutated, seed=4, merge_into="cs336_basics/bpe.py"), "reference")
    add("tess", disguise(_naive(), seed=5), "naive")  # copied a solution found online

    add("public-naive", _naive(), None, collected)
    add("public-handout-clone", None, None, collected)  # someone's untouched fork: must match nobody

    for name in ("ben", "sam"):  # zips as Gradescope exports them: one folder inside
        _zip(klass / name)
    _zip(collected / "public-naive")
    names = sorted(p.name.removesuffix(".zip") for p in klass.iterdir())
    pairs = [
        [a, b] for i, a in enumerate(names) for b in names[i + 1 :] if set(origins.get(a, [])) & set(origins.get(b, []))
    ]
    collected_pairs = [[a, "public-naive"] for a in names if "naive" in origins.get(a, [])]
    truth = {"origins": origins, "copy_pairs": pairs, "collected_pairs": collected_pairs}
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


def _zip(folder: Path) -> None:
    with zipfile.ZipFile(folder.with_name(folder.name + ".zip"), "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, Path(folder.name) / path.relative_to(folder))
    shutil.rmtree(folder)


def measure(out: Path, truth: dict) -> int:
    """Run the pass on OUT/class against OUT/collected; print each pair's score, copies apart from independent
    pairs, and whether every copy pair and no independent pair is flagged."""
    from staff.grading.similarity import similarity
    from staff.grading.similarity_report import write_reports

    result = similarity(out / "class", out / "collected")
    write_reports(result, out / "report")
    copies = {tuple(sorted(p)) for p in truth["copy_pairs"] + truth["collected_pairs"]}
    copy_scores, independent_scores, wrong = [], [], []
    for m in result.matches:
        key = tuple(sorted((m.a, m.b)))
        is_copy = key in copies
        (copy_scores if is_copy else independent_scores).append(m.score)
        if is_copy != m.flagged:
            wrong.append(
                f"{m.a} ~ {m.b}: score {m.score:.2f}, matched {m.matched}, flagged {m.flagged}, copy {is_copy}"
            )
    print(
        f"{len(result.documents)} submissions, {len(result.collected)} collected, {len(result.matches)} pairs, "
        f"{result.seconds:.1f} s"
    )
    print(f"copy pairs ({len(copy_scores)}): " + " ".join(f"{s:.2f}" for s in sorted(copy_scores)))
    independent_scores.sort(reverse=True)
    print(
        f"independent pairs ({len(independent_scores)}): max {independent_scores[0]:.2f}, top ten "
        + " ".join(f"{s:.2f}" for s in independent_scores[:10])
    )
    for lo, hi in ((0, 0.0001), (0.0001, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 1.01)):
        n = sum(lo <= s < hi for s in independent_scores)
        c = sum(lo <= s < hi for s in copy_scores)
        print(f"  score [{lo:.2f}, {min(hi, 1):.2f}): independent {n:3d}, copies {c:2d}")
    print("\n".join(wrong) or "every copy pair flagged, no independent pair flagged")
    print(f"report: {out / 'report' / 'similarity.md'}, {out / 'report' / 'similarity.html'}")
    return 1 if wrong else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.synthetic_class", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--measure", action="store_true", help="run the similarity pass on it and print the scores")
    args = parser.parse_args(argv)
    truth = build(args.out)
    print(
        f"wrote {args.out / 'class'} ({len(list((args.out / 'class').iterdir()))} submissions), "
        f"{args.out / 'collected'}, {args.out / 'truth.json'}"
    )
    return measure(args.out, truth) if args.measure else 0


if __name__ == "__main__":
    sys.exit(main())
