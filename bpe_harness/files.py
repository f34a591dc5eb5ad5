"""Writing files so that nothing is ever half-written, and hashing them: one implementation for every cache and
output the kit writes (limits' generated corpora, tiktoken data, vocab/merges, reports, leaderboard entries)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(
    path: str | os.PathLike[str], content: bytes | str | Callable[[Path], None], mode: int = 0o644
) -> None:
    """Write `content` (bytes, str as UTF-8, or a function that writes the file it is given) under a unique
    temporary name in the same folder, then rename it over `path`. Readers see the old file or the whole new one;
    concurrent writers never share a temporary file; on any error the temporary file is removed. `mode`: the
    file's permissions (0o600 for what only its owner may read: a batch's records, which hold the hidden seed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # mkstemp makes it private; most files are readable like any other
            if not callable(content):
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
                f.flush()
                os.fsync(f.fileno())
        if callable(content):
            content(Path(tmp))
            os.chmod(tmp, mode)  # the function may have replaced the file, with a private mode of its own
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
