"""Stage a grading: read a submission (a folder or a .zip) for its student-owned files, and build the fresh,
read-only copy of the kit the judge's pytest runs in, with those files in place.

Only `cs336_basics/**` and `tests/adapters.py` are taken from a submission (never a conftest.py, a pytest
configuration or an interpreter hook: the kit's own are used); everything else is listed as ignored. Expected answers
and the paths the course registers as secret (bpe_harness/extensions.py) are staged readable by the grader only.
"""

from __future__ import annotations

import os
import shutil
import stat
import tomllib
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bpe_harness import extensions, kit_files
from bpe_harness.settings import ROOT
from bpe_harness.worker.allowed_imports import extra_dependencies_note

PUBLIC_KIT = ("bpe_harness", "tests", "conftest.py", "pyproject.toml", "cs336_basics")
EXPECTED_ANSWERS = ("tests/snapshots",)  # staged unreadable to the worker (with the registered secret paths)
STUDENT_PACKAGE = "cs336_basics"
STUDENT_ADAPTERS = "tests/adapters.py"
MAX_FILE_BYTES = 2 << 20  # one student file
MAX_SUBMISSION_BYTES = 20 << 20  # all student files together
KIT_LIST = "handout_files.txt"  # beside a kit that is not a checkout (Gradescope's): the handout's file names


class SubmissionError(Exception):
    """The submission cannot be read (not a directory or zip, unsafe zip, too large). The message says why."""


@dataclass
class Submission:
    root: Path
    files: list[str]  # student-owned files taken (posix paths where they are staged)
    ignored: list[str]  # other files present, not used
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # staged path -> path in the submission, when they differ

    def source(self, rel: str) -> Path:
        return self.root / self.sources.get(rel, rel)


NEVER_TAKEN = (
    "conftest.py",
    "pytest.ini",
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "sitecustomize.py",
    "usercustomize.py",
)  # pytest configuration or interpreter hooks: the kit's own are used


def _student_owned(rel: str) -> bool:
    if PurePosixPath(rel).name in NEVER_TAKEN or rel.endswith(".pth"):
        return False
    return rel == STUDENT_ADAPTERS or rel.startswith(STUDENT_PACKAGE + "/")


def _find_root(folder: Path) -> Path:
    """The folder holding cs336_basics/ or tests/adapters.py: the submission itself or one level down (a zip of a
    repository usually wraps it in one folder)."""
    candidates = [folder, *sorted(p for p in folder.iterdir() if p.is_dir() and not kit_files.skipped_dir(p.name))]
    for c in candidates:
        if (c / STUDENT_PACKAGE).is_dir() or (c / STUDENT_ADAPTERS).is_file():
            return c
    return folder


def _extract_zip(path: Path, into: Path) -> None:
    """Extract regular files only, refusing absolute paths, '..', and oversized content."""
    total = 0
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise SubmissionError(f"{path} is not a valid zip file ({e})") from None
    with archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir():
                continue
            if name.is_absolute() or ".." in name.parts:
                raise SubmissionError(f"{path}: unsafe path in zip: {info.filename!r}")
            if stat.S_ISLNK(info.external_attr >> 16):
                continue  # symlinks are never followed
            total += info.file_size
            if total > 10 * MAX_SUBMISSION_BYTES:
                raise SubmissionError(f"{path}: more than {10 * MAX_SUBMISSION_BYTES >> 20} MB uncompressed")
            target = into / Path(*name.parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
                # a file and a folder of one name, a name too long, a corrupt or encrypted entry: the student's zip
                raise SubmissionError(
                    f"{path}: cannot extract {info.filename[:200]!r} ({type(e).__name__}: {e}); zip the folder "
                    "holding cs336_basics/ and tests/ again, as it is on your disk"
                ) from None


def _submission_root(path: Path, scratch: Path, notes: list[str]) -> Path:
    """The folder holding the submission's files: the folder itself, its zip extracted under `scratch`, or the lone
    zip inside the folder extracted (Gradescope's drag and drop of a .zip leaves it unextracted)."""
    if path.is_file() and path.suffix == ".zip":
        folder = scratch / "unzipped"
        folder.mkdir()
        _extract_zip(path, folder)
    elif path.is_dir():
        folder = path
    else:
        raise SubmissionError(f"{path}: expected a directory or a .zip of a student repository")
    root = _find_root(folder)
    inner = _lone_zip(root) if path.is_dir() else None
    if inner is not None:
        folder = scratch / "unzipped"
        folder.mkdir()
        _extract_zip(inner, folder)
        root = _find_root(folder)
        notes.append(f"{inner.name} was extracted and graded (the submission held nothing else to grade)")
    return root


def _take_files(root: Path, notes: list[str]) -> tuple[list[str], list[str]]:
    """(taken, ignored): the student-owned regular files under `root` within the size limits, and the rest."""
    taken, ignored, total = [], [], 0
    for rel in _all_files(root):
        full = root / rel
        if not _student_owned(rel) or kit_files.skipped_file(full.name) or full.is_symlink() or not full.is_file():
            ignored.append(rel)
            continue
        size = full.stat().st_size
        if size > MAX_FILE_BYTES:
            notes.append(f"{rel} ignored: {size >> 10} KB is over the {MAX_FILE_BYTES >> 20} MB per-file limit")
            ignored.append(rel)
            continue
        total += size
        if total > MAX_SUBMISSION_BYTES:
            raise SubmissionError(f"student files exceed {MAX_SUBMISSION_BYTES >> 20} MB in total")
        taken.append(rel)
    return taken, ignored


def _all_files(root: Path) -> list[str]:
    """Every name under `root` but the skipped folders' (links and skipped files too: they are listed as ignored)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not kit_files.skipped_dir(d))
        found += [(Path(dirpath) / name).relative_to(root).as_posix() for name in sorted(filenames)]
    return found


def read_submission(path: Path, scratch: Path) -> Submission:
    """The student-owned files of a directory or .zip (extracted under `scratch`)."""
    notes: list[str] = []
    root = _submission_root(Path(path), scratch, notes)
    taken, ignored = _take_files(root, notes)
    sources = {}
    if not taken:
        sources = place_loose_files(root, ignored, notes)
        taken = sorted(sources)
        ignored = [rel for rel in ignored if rel not in sources.values()]
    notes += extra_dependencies_note(root / "pyproject.toml")
    if STUDENT_ADAPTERS not in taken:
        notes.append(
            f"no {STUDENT_ADAPTERS} in the submission: the handout's is used"
            + (
                f" (with the handout's stub for any module it imports that your {STUDENT_PACKAGE} lacks)"
                if taken
                else ""
            )
        )
    return Submission(root, taken, ignored, notes, sources)


def _lone_zip(root: Path) -> Path | None:
    """The one .zip at the top of a submission folder that has nothing else to grade (no cs336_basics/, no
    tests/adapters.py, no .py file at its top), else None."""
    if (root / STUDENT_PACKAGE).is_dir() or (root / STUDENT_ADAPTERS).is_file():
        return None
    tops = [p for p in root.iterdir() if not p.name.startswith(".") and not kit_files.skipped_dir(p.name)]
    zips = [p for p in tops if p.is_file() and not p.is_symlink() and p.suffix.lower() == ".zip"]
    if len(zips) != 1 or any(p.suffix == ".py" for p in tops):
        return None
    return zips[0]


HOW_TO_SUBMIT = (
    f"Submit your repository's {STUDENT_PACKAGE}/ folder and {STUDENT_ADAPTERS} with their folders: "
    "a .zip of the repository (or of those two), or Gradescope's GitHub upload."
)


def place_loose_files(root: Path, present: list[str], notes: list[str]) -> dict[str, str]:
    """Python files dropped at the top without their folders (Gradescope's drag and drop does this): adapters.py
    goes to tests/adapters.py, every other .py file into cs336_basics/. {staged path: path in the submission}; a note
    for each, or one saying how to submit when there is nothing to place."""
    placed = {}
    tops = {rel.split("/")[0] for rel in present}
    folder = f"{tops.pop()}/" if len(tops) == 1 and all("/" in rel for rel in present) else ""  # a zip's one folder
    for rel in present:
        name = PurePosixPath(rel).name
        if "/" in rel.removeprefix(folder) or not name.endswith(".py") or name in NEVER_TAKEN or name == "__main__.py":
            continue
        if (root / rel).is_symlink() or not (root / rel).is_file() or (root / rel).stat().st_size > MAX_FILE_BYTES:
            continue
        placed[STUDENT_ADAPTERS if name == "adapters.py" else f"{STUDENT_PACKAGE}/{name}"] = rel
    if placed:
        listed = ", ".join(f"{src} -> {dst}" for dst, src in sorted(placed.items()))
        notes.append(f"files without their folders were placed where they belong: {listed}. {HOW_TO_SUBMIT}")
    else:
        notes.append(
            f"nothing to grade: the submission has no {STUDENT_PACKAGE}/ folder, no {STUDENT_ADAPTERS} "
            f"and no .py files at its top, so the handout's stubs were graded. {HOW_TO_SUBMIT}"
        )
    return placed


# --- the staged kit ------------------------------------------------------------------------------------------------


def kit_paths(kit: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """The kit's files the judge stages: the public kit plus `extra` (GradeOptions.extra_kit), posix paths."""
    return list(kit_files.walk(kit, (*PUBLIC_KIT, *extra)))


def kit_version(kit: Path = ROOT, extra: tuple[str, ...] = ()) -> str:
    """The pyproject version plus a digest of every kit file the judge uses (the same kit gives the same id)."""
    version = tomllib.loads((kit / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    rels = [rel for rel in kit_paths(kit, extra) if not _student_path(rel)]
    return f"{version}+{kit_files.digest(kit_files.file_digests(kit, rels))[:10]}"


def _student_path(rel: str) -> bool:
    return rel.startswith(STUDENT_PACKAGE + "/") or rel == STUDENT_ADAPTERS


def kit_file(kit: Path, rel: str) -> bool:
    """Whether `rel` is one of the kit's own files (a whole-repository upload carries them all): not the student's
    work, so not listed to them as ignored."""
    if (kit / rel).is_file():
        return True
    listed = kit / KIT_LIST
    return listed.is_file() and rel in listed.read_text(encoding="utf-8").splitlines()


def private_kit() -> tuple[str, ...]:
    """Staged paths readable by the grader only: the expected answers and the registered secret paths."""
    return (*EXPECTED_ANSWERS, *extensions.secret_paths())


def stage(kit: Path, submission: Submission, into: Path, extra: tuple[str, ...] = ()) -> None:
    """Copy the kit (with its handout stubs) into `into`, then the student's files. A submission with its own
    cs336_basics and tests/adapters.py replaces the stub package wholly (a stub `tokenizer.py` would shadow a
    student's `tokenizer/` folder); without tests/adapters.py, the handout's adapters are used and only the stub
    modules whose names (as a file or a folder) the submission lacks are staged. Everything is read-only; expected
    answers and secret paths are readable by this user only."""
    own = {rel.split("/")[1].removesuffix(".py") for rel in submission.files if rel.startswith(STUDENT_PACKAGE + "/")}
    for rel in kit_paths(kit, extra):
        if (
            own
            and rel.startswith(STUDENT_PACKAGE + "/")
            and (STUDENT_ADAPTERS in submission.files or rel.split("/")[1].removesuffix(".py") in own)
        ):
            continue  # the handout's adapters (no tests/adapters.py submitted) still need the modules it lacks
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kit / rel, target)
    for rel in submission.files:
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(submission.source(rel), target)
    for dirpath, _, filenames in os.walk(into):
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o444)
        os.chmod(dirpath, 0o555)
    for private in private_kit():
        if (into / private).exists():
            os.chmod(into / private, 0o500)
