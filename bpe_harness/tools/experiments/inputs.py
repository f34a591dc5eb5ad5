"""Checks and file handling shared by the experiment commands: refuse bad input with a sentence, never leave a
half-written output behind, never overwrite without --force."""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import shutil
from pathlib import Path

CHECK_BLOCK = 1 << 22  # bytes read at a time when checking a corpus is UTF-8


class ExperimentError(Exception):
    """Bad input or a failed step, said in one sentence for the command line (exit code 2)."""


def check_corpus(path) -> int:
    """The corpus size in bytes, after checking it exists, is a readable regular file and is valid UTF-8."""
    path = Path(path)
    if not path.exists():
        raise ExperimentError(f"corpus {path} does not exist")
    if path.is_dir():
        raise ExperimentError(f"corpus {path} is a directory; give the path of a text file")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise ExperimentError(f"corpus {path} cannot be read: {e.strerror}") from None
    check_utf8(path)
    return path.stat().st_size


def check_utf8(path) -> None:
    """Raise ExperimentError naming the byte offset, line and bytes of the first invalid UTF-8 sequence."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = line = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(CHECK_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:
                # e.object is the decoder's carried-over bytes (an unfinished character) followed by this block
                at = offset - (len(e.object) - len(block)) + e.start
                data = e.object
                line_no = line + data.count(b"\n", 0, e.start) + 1
                bad = data[e.start : e.start + 4]
                raise ExperimentError(
                    f"corpus {path} is not UTF-8: byte offset {at:,} (line {line_no:,}) starts an invalid sequence "
                    f"{bad.hex(' ')} ({e.reason}); convert it first, e.g. "
                    f"`iconv -f LATIN1 -t UTF-8`, or clean it with errors='replace'"
                ) from None
            if not block:
                return
            line += block.count(b"\n")
            offset += len(block)


def check_output_dir(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise ExperimentError(f"{out} exists; pass --force to replace it (nothing was changed)")
    if out.exists() and not out.is_dir():
        raise ExperimentError(f"{out} exists and is not a directory")


@contextlib.contextmanager
def staged_dir(out: Path, force: bool):
    """Yield a fresh temporary directory next to `out`; on success it replaces `out` (kept until then), on any error
    or Ctrl-C it is deleted, so `out` is either the old directory or the complete new one."""
    check_output_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        old = out.with_name(f".{out.name}.old{os.getpid()}")
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def describe_os_error(e: OSError, what: str) -> str:
    if e.errno == errno.ENOSPC:
        return f"{what}: the disk is full; nothing was kept (free some space and run again)"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"{what}: permission denied ({e.filename}); nothing was kept"
    return f"{what}: {e}; nothing was kept"
