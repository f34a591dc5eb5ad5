"""Install GPT-2's ranks for the offline gpt2 parity test, verified against the hash tiktoken pins.

    uv run --group staff python -m staff.fetch_gpt2 [--cache DIR] [--archive FILE]

No installed package ships GPT-2's vocabulary, and graders have no internet. The `openai-whisper` source distribution
on PyPI ships `whisper/assets/gpt2.tiktoken`, which is tiktoken's r50k_base rank file (GPT-2's ranks). This command
downloads that distribution with `pip download --no-deps` (no install, nothing of the package is imported or run),
reads that one member from the archive without extracting anything, checks its sha256 against the hash tiktoken's
own r50k_base constructor pins, and only then writes it into the kit's tiktoken cache (DIR/tiktoken, default
CS336_CACHE_DIR or .cache). `bpe_harness.data.encodings` then serves both r50k_base and gpt2 from it. Data that does not
match is refused with a clear message and nothing is written.

--archive FILE uses an already downloaded openai-whisper sdist (.tar.gz) or wheel instead of pip.
Note: pip prepares an sdist's metadata with its build backend (setuptools, in an isolated environment), which reads
the version from the package's files; the package's own code is not run.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from bpe_harness import settings
from bpe_harness.data import encodings

PACKAGE = "openai-whisper==20250625"  # any version with the asset works: the sha256 check decides, not the version
MEMBER = "whisper/assets/gpt2.tiktoken"
MAX_BYTES = 16 << 20  # the real file is 0.8 MB; anything far bigger is not it


class FetchError(RuntimeError):
    pass


def download(package: str, dest: Path) -> Path:
    """`pip download --no-deps` one distribution into the empty directory `dest`; return its path."""
    if importlib.util.find_spec("pip") is None:
        raise FetchError("pip is not installed here: run with `uv run --group staff python -m staff.fetch_gpt2`")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-input",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        package,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FetchError(f"`{' '.join(cmd[2:])}` failed (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
    files = [p for p in dest.iterdir() if p.is_file()]
    if len(files) != 1:
        raise FetchError(f"expected one downloaded file in {dest}, found {[p.name for p in files]}")
    return files[0]


def _only_member(names: list[str], archive: Path) -> str:
    hits = [n for n in names if n == MEMBER or fnmatch.fnmatchcase(n, f"*/{MEMBER}")]
    if len(hits) != 1:
        raise FetchError(f"{archive.name} must hold exactly one {MEMBER}; found {len(hits)}")
    return hits[0]


def read_member(archive: Path) -> bytes:
    """The bytes of whisper/assets/gpt2.tiktoken inside an sdist (.tar.gz) or a wheel (.whl), read in memory."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            info = z.getinfo(_only_member(z.namelist(), archive))
            if info.file_size > MAX_BYTES:
                raise FetchError(f"{info.filename} in {archive.name} is {info.file_size} bytes; expected ~0.8 MB")
            return z.read(info)
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.getmember(_only_member(tar.getnames(), archive))
            if not member.isfile() or member.size > MAX_BYTES:
                raise FetchError(f"{member.name} in {archive.name} is not a regular file of at most {MAX_BYTES} bytes")
            return tar.extractfile(member).read()
    except tarfile.TarError as e:
        raise FetchError(f"{archive} is neither a wheel nor a readable source archive: {e}") from e


def install_from_archive(archive: Path, cache_root: Path) -> Path:
    """Verify the archive's gpt2.tiktoken as tiktoken's r50k_base and install it; nothing is written if it fails."""
    data = read_member(archive)
    return encodings.install_ranks("r50k_base", data, cache_root / "tiktoken", f"{MEMBER} from {archive.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff.fetch_gpt2", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache",
        type=Path,
        default=settings.cache_dir(),
        help=f"kit cache root: the file goes to CACHE/tiktoken (default {settings.cache_dir()})",
    )
    parser.add_argument("--archive", type=Path, help="use this openai-whisper sdist or wheel instead of downloading")
    parser.add_argument("--package", default=PACKAGE, help=f"what pip downloads (default {PACKAGE})")
    args = parser.parse_args(argv)
    target_dir = args.cache / "tiktoken"
    if args.archive is None and encodings.is_verified("r50k_base", target_dir):
        where = encodings.cached_ranks_path("r50k_base", target_dir)
        print(f"r50k_base (gpt2's ranks) already installed and verified: {where}")
        return 0
    try:
        if args.archive is not None:
            if not args.archive.is_file():
                raise FetchError(f"{args.archive}: no such file")
            target = install_from_archive(args.archive, args.cache)
        else:
            with tempfile.TemporaryDirectory(prefix="fetch_gpt2.") as tmp:
                target = install_from_archive(download(args.package, Path(tmp)), args.cache)
    except (FetchError, encodings.EncodingDataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"installed r50k_base (gpt2's ranks), sha256 verified against tiktoken's pin: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
