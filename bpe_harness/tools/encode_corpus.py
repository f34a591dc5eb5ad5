"""Tokenize a corpus file into a numpy .npy of token ids, in parallel, with bounded memory.

    uv run python -m bpe_harness.tools.encode_corpus CORPUS OUT.npy --vocab VOCAB.json --merges MERGES.json \\
        [--special-token '<|endoftext|>'] [--impl student|reference|PATH.py] [--workers N] [--force]

VOCAB.json is {id: hex of the token's bytes}, MERGES.json is [[hex, hex], ...] (what the reference's
`save_vocab_and_merges` writes). The tokenizer comes from `get_tokenizer(vocab, merges, special_tokens)` of the
implementation named by --impl (default: yours, tests/adapters.py).

How: the file is cut into chunks of about --chunk-mb MB, each starting at a special token. Special tokens are hard
boundaries, so encoding the chunks one by one and concatenating gives exactly `encode(whole text)`. Your code runs
only in worker processes (bpe_harness.client, as in the tests), one per --workers, each reading its own byte
ranges; the ids come back as packed uint32 and are written to OUT in file order as they arrive, so neither the text
nor the ids are ever held whole. The ids are uint16 when every id fits (vocab <= 65536 entries),
else uint32. Without special tokens (or with none in the file) there is nothing to cut at: the file is streamed
through `encode_iterable` in one process instead.

Text is read exactly as stored (no newline translation): `open(CORPUS, encoding="utf-8", newline="")`.
Load the result with `numpy.load(OUT, mmap_mode="r")`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import queue
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from bpe_harness.client import Client, RemoteError, RemoteTokenizer, WorkerFailure
from bpe_harness.data.vocab_io import VocabFormatError, load_vocab_and_merges  # the one reader (re-exported too)
from bpe_harness.files import write_atomically
from bpe_harness.implementation import ImplError
from bpe_harness.tools.progress import ProgressLine, Sampler

DEFAULT_CHUNK_BYTES = 4 << 20
DEFAULT_TIMEOUT = 3600.0  # seconds per call: a chunk, or the whole file when it is streamed
TOKENIZER_TIMEOUT = 600.0
_HEADER_BYTES = 128  # an .npy version 1.0 header for a 1-d array is 128 bytes for any length below 10**60


# --- tokenizer ------------------------------------------------------------------------------------------------


def open_tokenizer(client: Client, vocab_path, merges_path, special_tokens: list[str]) -> RemoteTokenizer:
    """The implementation's tokenizer, built in `client`'s worker from the vocab and merges files."""
    vocab, merges = load_vocab_and_merges(vocab_path, merges_path)
    return client.tokenizer(vocab, merges, list(special_tokens) or None, timeout=TOKENIZER_TIMEOUT)


def id_dtype(vocab_path, special_tokens: list[str]) -> np.dtype:
    """uint16 if every id (specials appended to the vocab included) fits, else uint32."""
    with open(vocab_path, encoding="utf-8") as f:
        largest = max((int(i) for i in json.load(f)), default=-1) + len(special_tokens)
    return np.dtype(np.uint16) if largest < 1 << 16 else np.dtype(np.uint32)


# --- chunking -------------------------------------------------------------------------------------------------


def special_token_chunks(
    path, special_tokens: list[str], chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> list[tuple[int, int]]:
    """(start, end) byte ranges covering the file; every start but the first is where a special token begins.

    A cut is made only where no other special-token occurrence straddles it (with overlapping specials such as
    "<|a|>" and "<|a|><|a|>", a cut inside the longer one would change which one matches). Reads a few blocks per
    cut (bounded memory). One range for the whole file when there is no special token to cut at.
    """
    size = os.path.getsize(path)
    needles = sorted({s.encode("utf-8") for s in special_tokens if s}, key=len, reverse=True)
    if not needles or size <= chunk_bytes:
        return [(0, size)]
    longest = len(needles[0])
    block_size = max(1 << 20, 4 * longest)
    cuts = [0]
    with open(path, "rb") as f:

        def straddled(at: int) -> bool:
            f.seek(max(at - longest + 1, 0))
            window = f.read(2 * longest)
            base = max(at - longest + 1, 0)
            for n in needles:
                i = window.find(n)
                while 0 <= i:
                    if base + i < at < base + i + len(n):
                        return True
                    i = window.find(n, i + 1)
            return False

        search_from = chunk_bytes
        while search_from < size:
            found, offset = None, search_from
            while found is None and offset < size:
                f.seek(offset)
                block = f.read(block_size)
                hits = sorted(offset + i for i in (block.find(n) for n in needles) if i >= 0)
                for at in hits:
                    if not straddled(at):
                        found = at
                        break
                if found is None:  # next block overlaps this one so a token across the edge is still seen
                    offset = (hits[-1] + 1) if hits else offset + max(len(block) - longest + 1, 1)
            if found is None:
                break
            if found > cuts[-1]:
                cuts.append(found)
            search_from = found + chunk_bytes
    return list(zip(cuts, cuts[1:] + [size], strict=False))


# --- workers --------------------------------------------------------------------------------------------------


def _encoded_in_order(ranges, corpus, tokenizers: list[RemoteTokenizer], dtype: np.dtype, timeout: float):
    """(byte range, ids) for each range, in file order. Each tokenizer lives in a worker process of its own; one
    thread per worker hands it ranges, with a bounded number of ranges in flight."""
    free: queue.Queue = queue.Queue()
    for tok in tokenizers:
        free.put(tok)

    def encode(byte_range):
        tok = free.get()
        try:
            return _to_array(np.frombuffer(tok.encode_range(corpus, *byte_range, timeout=timeout), "<u4"), dtype)
        finally:
            free.put(tok)

    with ThreadPoolExecutor(len(tokenizers)) as pool:
        pending: collections.deque = collections.deque()
        for r in ranges:
            pending.append((r, pool.submit(encode, r)))
            if len(pending) >= 2 * len(tokenizers):
                done_range, future = pending.popleft()
                yield done_range, future.result()
        while pending:
            done_range, future = pending.popleft()
            yield done_range, future.result()


def _to_array(ids: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """uint32 ids (from the worker) as `dtype`; ValueError if one does not fit."""
    if ids.size and ids.max() > np.iinfo(dtype).max:
        raise ValueError(f"token id {int(ids.max())} does not fit {dtype}")
    return ids.astype(dtype)


# --- output ---------------------------------------------------------------------------------------------------


def _npy_header(count: int, dtype: np.dtype) -> bytes:
    import io

    buf = io.BytesIO()
    npy_format.write_array_header_1_0(
        buf, {"descr": npy_format.dtype_to_descr(dtype), "fortran_order": False, "shape": (count,)}
    )
    return buf.getvalue()


def encode_file(
    corpus,
    out,
    vocab_path,
    merges_path,
    special_tokens: list[str] = (),
    impl: str = "student",
    workers: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    force: bool = False,
    progress: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict:
    """Encode `corpus` into the .npy file `out`. Returns {"ids", "bytes", "seconds", "dtype", "workers", "chunks"}."""
    corpus, out = os.fspath(corpus), Path(out)
    special_tokens = list(dict.fromkeys(special_tokens))
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; pass --force to overwrite it")
    workers = max(1, workers or os.cpu_count() or 1)
    dtype = id_dtype(vocab_path, special_tokens)
    size = os.path.getsize(corpus)
    ranges = special_token_chunks(corpus, special_tokens, chunk_bytes)
    started = time.monotonic()
    done = count = 0
    line = ProgressLine("encode", size, done=lambda: done, enabled=progress, names=("main", "workers"))
    sampler = Sampler(os.getpid(), line, count=lambda: count) if progress else contextlib.nullcontext()

    def write_npy(tmp: Path) -> None:
        nonlocal workers, count, done
        with sampler, open(tmp, "wb") as f:
            f.write(b"\0" * _HEADER_BYTES)  # placeholder; the real header needs the final count
            if len(ranges) == 1 and size > chunk_bytes:
                # nothing to cut at: stream the file through encode_iterable in one worker, bounded memory
                workers = 1

                def write(packed: bytes) -> None:
                    nonlocal count, done
                    arr = _to_array(np.frombuffer(packed, "<u4"), dtype)
                    f.write(arr.tobytes())
                    count += arr.size
                    done = min(size, done + 4 * arr.size)  # about 4 bytes of text per id: a progress estimate

                with Client(impl) as client:
                    tok = open_tokenizer(client, vocab_path, merges_path, special_tokens)
                    tok.encode_iterable_file(corpus, on_ids=write, timeout=timeout)
            else:
                workers = 1 if len(ranges) == 1 else workers
                with contextlib.ExitStack() as stack:
                    clients = [stack.enter_context(Client(impl)) for _ in range(workers)]
                    tokenizers = [open_tokenizer(c, vocab_path, merges_path, special_tokens) for c in clients]
                    for (start, end), arr in _encoded_in_order(ranges, corpus, tokenizers, dtype, timeout):
                        f.write(arr.tobytes())
                        count += arr.size
                        done += end - start
            header = _npy_header(count, dtype)
            if len(header) != _HEADER_BYTES:  # cannot happen for realistic counts; checked rather than assumed
                raise RuntimeError(f"unexpected .npy header size {len(header)}")
            f.seek(0)
            f.write(header)

    try:
        write_atomically(out, write_npy)
    except BaseException:
        line.finish()
        raise
    done = size
    line.finish()
    seconds = time.monotonic() - started
    return {
        "ids": count,
        "bytes": size,
        "seconds": seconds,
        "dtype": dtype.name,
        "workers": workers,
        "chunks": len(ranges),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bpe_harness.tools.encode_corpus", description=__doc__.splitlines()[0]
    )
    parser.add_argument("corpus", help="UTF-8 text file")
    parser.add_argument("out", help="output .npy file (uint16 ids when they fit, else uint32)")
    parser.add_argument("--vocab", required=True, help="vocab JSON: {id: hex}")
    parser.add_argument("--merges", required=True, help="merges JSON: [[hex, hex], ...]")
    parser.add_argument(
        "--special-token",
        action="append",
        default=[],
        dest="special_tokens",
        help="a special token (repeatable), e.g. '<|endoftext|>'; chunks are cut at them",
    )
    parser.add_argument("--impl", default="student", help="student (default), reference, PATH.py or a module")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    parser.add_argument("--chunk-mb", type=float, default=DEFAULT_CHUNK_BYTES / 2**20, help="chunk size in MiB")
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be >= 1")
    if os.path.exists(args.out) and not args.force:
        print(f"error: {args.out} exists; pass --force to overwrite it (nothing was written)", file=sys.stderr)
        return 1
    for what, path in (("corpus", args.corpus), ("--vocab", args.vocab), ("--merges", args.merges)):
        if not os.path.isfile(path):
            print(
                f"error: {what} {path} {'is not a file' if os.path.exists(path) else 'does not exist'}", file=sys.stderr
            )
            return 2
    try:
        stats = encode_file(
            args.corpus,
            args.out,
            args.vocab,
            args.merges,
            args.special_tokens,
            args.impl,
            args.workers,
            int(args.chunk_mb * 2**20),
            args.force,
            progress=not args.quiet,
        )
    except (ImplError, VocabFormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (WorkerFailure, RemoteError) as e:
        print(f"error: {e}\nnothing was written", file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:  # the streaming path (no special token to cut at)
        print(
            f"error: {args.corpus} is not UTF-8 near character/byte {e.start:,} of a line ({e.reason}); "
            "nothing was written",
            file=sys.stderr,
        )
        return 2
    except ValueError as e:
        print(f"error: {e}; nothing was written", file=sys.stderr)
        return 2
    except OSError as e:
        from bpe_harness.tools.experiments.inputs import describe_os_error

        print(f"error: {describe_os_error(e, f'writing {args.out}')}", file=sys.stderr)
        return 2
    mb_s = stats["bytes"] / stats["seconds"] / 1e6 if stats["seconds"] else float("inf")
    print(json.dumps({**stats, "out": str(args.out), "mb_per_s": round(mb_s, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
