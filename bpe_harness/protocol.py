"""The wire between the harness and a worker: length-prefixed frames of a JSON header plus raw binary blobs.

Why not pickle: unpickling runs code chosen by whoever wrote the bytes, and the worker runs code nobody trusts. Why
not plain JSON: an o200k vocab or a few million ids as JSON text is slow and large. So a frame is

    u32 header length | u32 blob count | u64 length of each blob | header (UTF-8 JSON) | blobs

and values that are big or binary travel as blobs, referenced from the header as {"$b": k} (bytes), {"$s": k} (a
long str, UTF-8 with surrogates passed through), {"$ids": k} (uint32 little-endian token ids), {"$vocab": [k, k, k]}
(ids, token lengths, token bytes) and {"$merges": [k, k]} (lengths of a and b, their bytes). The sender marks what
a list or dict is with the wrappers `Ids`, `Vocab` and `Merges`; the receiver always gets plain list / dict /
bytes / str back, built by this module alone, so nothing the worker sends can be anything but data.

A reader refuses a frame larger than its cap (a worker flooding the channel fails its call, it does not exhaust the
harness's memory).
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import sys
import time
from array import array
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

WORKER_SYS_PATH = "CS336_WORKER_SYS_PATH"  # JSON list of folders the client puts on the worker's sys.path
WORKER_CHILD = "CS336_WORKER_CHILD"  # JSON {"search_path", "own_package"}: set by the worker for its children
WORKER_NPROC = "CS336_WORKER_NPROC"  # the sandbox's process limit for the worker's uid (for its EAGAIN message)
WORKER_CPUS = "CS336_WORKER_CPUS"  # the CPUs the worker may use, comma-separated

HEAD = struct.Struct("<II")
LENGTH = struct.Struct("<Q")
LONG_STR = 4096  # characters; longer strings travel as blobs
DEFAULT_CAP = 1 << 31  # bytes per frame


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame (or one over the cap)."""


class Ids(list):
    """A list of token ids to send as a packed uint32 array."""


class Vocab(dict):
    """A dict[int, bytes] to send packed."""


class Merges(list):
    """A list of (bytes, bytes) pairs to send packed."""


def _uint32(values: Iterable[int]) -> bytes:
    arr = array("I", values)  # OverflowError / TypeError for anything that is not an id in 0..2**32-1
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tobytes()


def _from_uint32(data: bytes) -> list[int]:
    if len(data) % 4:
        raise ProtocolError(f"an id array of {len(data)} bytes is not a whole number of uint32")
    arr = array("I")
    arr.frombytes(data)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tolist()


pack_ids = _uint32
unpack_ids = _from_uint32


def _split(lengths: list[int], data: bytes) -> list[bytes]:
    if sum(lengths) != len(data):
        raise ProtocolError("packed tokens: lengths do not add up to the data")
    out, pos = [], 0
    for n in lengths:
        out.append(data[pos : pos + n])
        pos += n
    return out


class _Encoder:
    def __init__(self) -> None:
        self.blobs: list[bytes] = []

    def blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def value(self, v: Any) -> Any:
        if isinstance(v, Ids):
            return {"$ids": self.blob(_uint32(v))}
        if isinstance(v, Vocab):
            tokens = list(v.values())
            return {
                "$vocab": [
                    self.blob(_uint32(v.keys())),
                    self.blob(_uint32(map(len, tokens))),
                    self.blob(b"".join(tokens)),
                ]
            }
        if isinstance(v, Merges):
            lengths = [n for a, b in v for n in (len(a), len(b))]
            return {"$merges": [self.blob(_uint32(lengths)), self.blob(b"".join(p for pair in v for p in pair))]}
        if isinstance(v, (bytes, bytearray, memoryview)):
            return {"$b": self.blob(bytes(v))}
        if isinstance(v, str) and len(v) > LONG_STR:
            return {"$s": self.blob(v.encode("utf-8", "surrogatepass"))}
        if isinstance(v, dict):
            return {str(k): self.value(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        raise TypeError(f"cannot send a {type(v).__name__} to the other side")


def _decode(v: Any, blobs: list[bytes]) -> Any:
    if isinstance(v, list):
        return [_decode(x, blobs) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        ((key, ref),) = v.items()
        try:
            if key == "$b":
                return blobs[ref]
            if key == "$s":
                return blobs[ref].decode("utf-8", "surrogatepass")
            if key == "$ids":
                return _from_uint32(blobs[ref])
            if key == "$vocab":
                ids, lengths, data = (blobs[k] for k in ref)
                return dict(zip(_from_uint32(ids), _split(_from_uint32(lengths), data), strict=True))
            if key == "$merges":
                lengths, data = (blobs[k] for k in ref)
                parts = _split(_from_uint32(lengths), data)
                return [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        except (IndexError, TypeError, ValueError) as e:
            raise ProtocolError(f"malformed {key} value: {e}") from None
    return {k: _decode(x, blobs) for k, x in v.items()}


def encode_frame(message: dict) -> bytes:
    """The bytes of one frame carrying `message` (see the module docstring)."""
    encoder = _Encoder()
    header = json.dumps(encoder.value(message), separators=(",", ":")).encode("utf-8")
    lengths = b"".join(LENGTH.pack(len(b)) for b in encoder.blobs)
    return b"".join([HEAD.pack(len(header), len(encoder.blobs)), lengths, header, *encoder.blobs])


class Channel:
    """Frames over a connected Unix socket. Reads never go past the frame being read (so a file descriptor passed
    with SCM_RIGHTS after it is not swallowed), and a read that times out keeps what it got for the next try."""

    def __init__(self, sock: socket.socket, cap: int = DEFAULT_CAP):
        self.sock, self.cap = sock, cap
        self.buffer = bytearray()

    def send(self, message: dict) -> None:
        self.sock.sendall(encode_frame(message))

    def _fill(self, n: int, deadline: float | None) -> None:
        """Read until the buffer holds n bytes (TimeoutError at the deadline, EOFError if the other side closed)."""
        while len(self.buffer) < n:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                self.sock.settimeout(remaining)
            try:
                part = self.sock.recv(min(n - len(self.buffer), 1 << 22))
            except socket.timeout:
                raise TimeoutError from None
            if not part:
                raise EOFError("the channel closed in the middle of a frame" if self.buffer else "the channel closed")
            self.buffer += part

    def receive(self, deadline: float | None = None) -> dict:
        """The next message. TimeoutError at `deadline` (time.monotonic(); the partial frame is kept), EOFError when
        the channel is closed, ProtocolError when it is not a valid frame."""
        self._fill(HEAD.size, deadline)
        header_size, count = HEAD.unpack_from(self.buffer)
        if count > 1 << 20:
            raise ProtocolError(f"a frame announced {count:,} blobs")
        lengths_end = HEAD.size + LENGTH.size * count
        self._fill(lengths_end, deadline)
        sizes = [LENGTH.unpack_from(self.buffer, HEAD.size + LENGTH.size * i)[0] for i in range(count)]
        total = lengths_end + header_size + sum(sizes)
        if total > self.cap:
            raise ProtocolError(f"a {total / 1e6:,.1f} MB message arrived; the cap is {self.cap / 1e6:,.0f} MB")
        self._fill(total, deadline)
        frame = bytes(self.buffer[:total])
        del self.buffer[:total]
        try:
            header = json.loads(frame[lengths_end : lengths_end + header_size])
        except ValueError as e:
            raise ProtocolError(f"a frame header is not JSON: {e}") from None
        if not isinstance(header, dict):
            raise ProtocolError("a frame header is not a JSON object")
        blobs, at = [], lengths_end + header_size
        for n in sizes:
            blobs.append(frame[at : at + n])
            at += n
        message = _decode(header, blobs)
        if not isinstance(message, dict):  # a header that is one encoded value ({"$ids": 0}), not a message
            raise ProtocolError("a frame header is not a message")
        return message

    def send_fd(self, fd: int) -> None:
        socket.send_fds(self.sock, [b"F"], [fd])

    def receive_fd(self) -> int:
        self.sock.settimeout(None)
        _, fds, _, _ = socket.recv_fds(self.sock, 1, 1)
        if len(fds) != 1:
            raise ProtocolError("expected one file descriptor")
        return fds[0]

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# --- stream summaries: a long encode_iterable's ids stay in the worker; both sides digest them the same way ---------

BLOCK = 1 << 14  # ids per block digest


def block_digest(data: bytes) -> str:
    """Digest of one block of ids, as uint32 little-endian bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def block_digests(ids: Iterable[int]) -> list[str]:
    data = _uint32(ids)
    return [block_digest(data[i : i + 4 * BLOCK]) for i in range(0, len(data), 4 * BLOCK)]


class StreamDigest:
    """Count, sha256 and per-block digests of an id stream fed in batches, holding at most one block of ids (64 KB).

    With `expected` block digests, the ids of the first block that differs are kept (`first_bad`)."""

    def __init__(self, expected: list[str] | None = None, head: int = 16):
        self.total, self.count, self.head_size = hashlib.sha256(), 0, head
        self.head: list[int] = []
        self.blocks: list[str] = []
        self.expected = expected
        self.pending = array("I")
        self.first_bad: tuple[int, list[int]] | None = None

    def update(self, ids: list[int]) -> None:
        """Add a batch (TypeError/OverflowError if an item is not an id in 0..2**32-1)."""
        if len(self.head) < self.head_size:
            self.head += ids[: self.head_size - len(self.head)]
        self.count += len(ids)
        room = BLOCK - len(self.pending)
        self.pending.extend(ids[:room])
        rest = ids[room:]
        while len(self.pending) == BLOCK:
            self._close_block()
            self.pending.extend(rest[:BLOCK])
            rest = rest[BLOCK:]

    def _close_block(self) -> None:
        if sys.byteorder == "big":
            self.pending.byteswap()
        data = self.pending.tobytes()
        self.total.update(data)
        k = len(self.blocks)
        self.blocks.append(block_digest(data))
        wrong = self.expected is not None and (k >= len(self.expected) or self.expected[k] != self.blocks[-1])
        if wrong and self.first_bad is None:
            self.first_bad = (k, _from_uint32(data))
        self.pending = array("I")

    def finish(self) -> dict:
        if self.pending:
            self._close_block()
        if self.first_bad is None and self.expected is not None and len(self.blocks) < len(self.expected):
            self.first_bad = (len(self.blocks), [])  # the stream stopped before this block
        bad = None if self.first_bad is None else [self.first_bad[0], Ids(self.first_bad[1])]
        return {
            "count": self.count,
            "sha256": self.total.hexdigest(),
            "head": self.head,
            "blocks": self.blocks,
            "first_bad": bad,
        }


class ImplError(Exception):
    """The --impl value cannot be turned into an implementation. The message says what was tried."""


@dataclass(frozen=True)
class ImplSpec:
    """An implementation, as the worker needs it: a file or a module name, and the folders that go first on
    sys.path so the implementation's own packages (say, its own cs336_basics) win over anything else."""

    value: str  # the --impl value as given
    label: str
    path: str | None = None  # an adapters file, absolute
    module: str | None = None  # or a dotted module name
    search_path: list[str] = field(default_factory=list)
    kit_packages: list[str] = field(default_factory=list)  # the kit's own packages graded code may import (not graded)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ImplSpec:
        return cls(**data)

    @property
    def is_student(self) -> bool:
        return self.value == "student"
