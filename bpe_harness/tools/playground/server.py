"""The playground's server: one page and a small JSON API, on loopback only, stdlib http.server (no dependency).

    GET  /                    the page (static/index.html)
    GET  /static/<name>       a file of static/ (only files that are there; nothing else on disk is served)
    GET  /api/info            what is loaded: implementation, vocab, specials, encodings, limits, startup problems
    POST /api/tokenize        {"text": str, "encodings": [names]} -> one column of tokens per tokenizer

Columns: the implementation under test (`--impl`, run in a worker through bpe_harness.client.Client, never
imported here); "expected", tiktoken built from the same merges (bpe_harness.data.encodings.encoding_from_merges), which
is what a correct tokenizer outputs, by construction and without a reference solution; "reference", the course's
reference on the same data, only where one is registered (bpe_harness/extensions.py); and real encodings
(o200k_base, cl100k_base, gpt2 where available) for comparison. The implementation's ids are compared with the
expected ones, and the first divergence is described with the graded suite's own message
(bpe_harness.plugin.divergence.describe_ids_difference).

Anything the implementation does (raise, hang, crash, return garbage) becomes a message in its column: each call has
a timeout, a hung worker is stopped, and the next request starts a new one. The server itself keeps running.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import regex

from bpe_harness import extensions
from bpe_harness.client import Client, WorkerFailure
from bpe_harness.data.encodings import encoding_from_merges, get_encoding, unavailable_reason
from bpe_harness.plugin.divergence import describe_ids_difference, first_divergence
from bpe_harness.plugin.snapshots import TrainingSnapshot
from bpe_harness.rules import GPT2_PATTERN, split_on_specials
from bpe_harness.settings import ROOT
from bpe_harness.tools.encode_corpus import load_vocab_and_merges

STATIC = Path(__file__).resolve().parent / "static"
DEFAULT_SNAPSHOT = ROOT / "tests" / "snapshots" / "tinystories_sample.json"
REAL_ENCODINGS = ("o200k_base", "cl100k_base", "gpt2")
HOST = "127.0.0.1"
MAX_BODY = 1 << 20  # bytes of request body: a bigger paste gets a clear message, not a stuck page
MAX_SHOWN = 4000  # tokens rendered per column (counts and ratios cover the whole text)
LONE_SURROGATE = regex.compile(r"[\ud800-\udfff]")


class PlaygroundError(Exception):
    """Something the user gave cannot be used; the message says what and how to fix it."""


# --- vocab and merges ---------------------------------------------------------------------------------------------


@dataclass
class Vocabulary:
    vocab: dict[int, bytes]
    merges: list[tuple[bytes, bytes]]
    specials: list[str]
    source: str  # where it came from, shown in the page

    def ids_by_bytes(self) -> dict[bytes, int]:
        """bytes -> id as a correct tokenizer resolves it: lowest id of a duplicated token; a special token absent
        from the vocab appended with the next id (README, 'Special tokens')."""
        table: dict[bytes, int] = {}
        for i, token in sorted(self.vocab.items()):
            table.setdefault(token, i)
        next_id = max(self.vocab, default=-1) + 1
        for s in self.specials:
            if s.encode("utf-8") not in table:
                table[s.encode("utf-8")] = next_id
                next_id += 1
        return table


def default_vocabulary() -> Vocabulary:
    snapshot = TrainingSnapshot.parse(DEFAULT_SNAPSHOT.read_text(encoding="utf-8"))
    return Vocabulary(
        snapshot.vocab_by_convention(),
        snapshot.merges,
        list(snapshot.special_tokens),
        f"the kit's snapshot {DEFAULT_SNAPSHOT.relative_to(ROOT)} (vocab_size {snapshot.vocab_size})",
    )


def vocabulary_problem(vocab: dict[int, bytes], merges: Sequence[tuple[bytes, bytes]]) -> str | None:
    """Why (vocab, merges) cannot describe byte-level BPE, or None."""
    known = set(vocab.values())
    missing = [b for b in range(256) if bytes([b]) not in known]
    if missing:
        return f"the vocab lacks {len(missing)} of the 256 single bytes (e.g. {bytes([missing[0]])!r})"
    for i, (a, b) in enumerate(merges):
        for part, what in ((a, "left part"), (b, "right part"), (a + b, "result")):
            if part not in known:
                return f"merge #{i} {(a, b)!r}: its {what} {part!r} is not in the vocab"
    return None


def load_vocabulary(vocab_path, merges_path, specials: list[str]) -> Vocabulary:
    """The kit's vocab/merges JSON files (read by encode_corpus.load_vocab_and_merges); PlaygroundError if unusable."""
    for label, path in (("vocab", vocab_path), ("merges", merges_path)):
        if not Path(path).is_file():
            raise PlaygroundError(f"{label} file {path} does not exist")
    try:
        vocab, merges = load_vocab_and_merges(vocab_path, merges_path)
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as e:
        raise PlaygroundError(
            f'{vocab_path} / {merges_path} are not in the kit\'s format (vocab {{"id": "hex"}}, merges '
            f'[["hex", "hex"], ...]; see README \'Tokenizing a whole corpus\'): {type(e).__name__}: {e}'
        ) from None
    problem = vocabulary_problem(vocab, merges)
    if problem:
        raise PlaygroundError(f"{vocab_path} / {merges_path}: {problem}")
    return Vocabulary(vocab, merges, specials, f"{vocab_path} + {merges_path}")


# --- tokens -------------------------------------------------------------------------------------------------------


def token_rows(pieces: Sequence[tuple[int, bytes | None, bool]]) -> list[dict]:
    """[(id, bytes or None if unknown, is_special)] -> JSON rows with byte offsets (for alignment) and display text."""
    rows, offset = [], 0
    for token_id, data, special in pieces:
        known = data is not None
        data = data or b""
        try:
            text, partial = data.decode("utf-8"), False
        except UnicodeDecodeError:
            text, partial = data.decode("utf-8", "backslashreplace"), True
        rows.append(
            {
                "id": token_id,
                "hex": data.hex(" "),
                "text": text,
                "special": special,
                "partial": partial,
                "unknown": not known,
                "start": offset,
                "end": offset + len(data),
            }
        )
        offset += len(data)
    return rows


def column(
    key: str,
    title: str,
    kind: str,
    text_bytes: int,
    ids=None,
    rows=None,
    error=None,
    detail=None,
    note=None,
    seconds=None,
) -> dict:
    count = None if ids is None else len(ids)
    return {
        "key": key,
        "title": title,
        "kind": kind,
        "count": count,
        "ratio": (text_bytes / count) if count else None,
        "tokens": (rows or [])[:MAX_SHOWN],
        "truncated": bool(rows) and len(rows) > MAX_SHOWN,
        "error": error,
        "detail": detail,
        "note": note,
        "seconds": seconds,
    }


class ImplRunner:
    """One implementation behind its worker: one call at a time, a timeout per call, a new worker after a failure."""

    def __init__(self, impl: str, vocabulary: Vocabulary, timeout: float, build_timeout: float = 30.0):
        self.impl, self.vocabulary, self.timeout, self.build_timeout = impl, vocabulary, timeout, build_timeout
        self.client = Client(impl)
        self.lock = threading.Lock()
        self.tokenizer = None
        self.label = impl
        self.bytes_by_id = {i: t for t, i in vocabulary.ids_by_bytes().items()} | vocabulary.vocab

    def close(self) -> None:
        self.client.close()

    def encode(self, text: str) -> tuple[list[int] | None, str | None, str | None, float | None]:
        """(ids, error message, error detail, seconds)."""
        if not self.lock.acquire(timeout=self.timeout + self.build_timeout):
            return None, "busy: an earlier request to this implementation is still running", None, None
        stage = "get_tokenizer()"
        try:
            if self.tokenizer is None:
                v = self.vocabulary
                self.tokenizer = self.client.tokenizer(v.vocab, v.merges, list(v.specials), timeout=self.build_timeout)
                self.label = self.client.label
            stage = "encode()"
            ids = self.tokenizer.encode(text, timeout=self.timeout)
            return ids, None, None, self.client.last.wall_s
        except WorkerFailure as e:
            self.tokenizer = None  # its worker was stopped; the next request builds a new one
            head, _, tail = str(e).partition("\n")
            return None, head + " A new worker starts with the next request.", tail.strip() or None, None
        except Exception as e:  # whatever the implementation raised, shown in its column
            cause = e.__cause__
            return None, f"{stage} raised {type(e).__name__}: {e}", str(cause) if cause else None, None
        finally:
            self.lock.release()


# --- the playground -----------------------------------------------------------------------------------------------


@dataclass
class Playground:
    """What the server shows: the implementation, the expected encoding, optionally the reference, real encodings."""

    impl: str
    vocabulary: Vocabulary
    timeout: float = 5.0
    reference: bool = True  # a reference column, when one is registered and --impl is not it
    reference_vocabulary: Vocabulary | None = None  # the reference's own training (--train); else the same vocab
    problems: list[str] = field(default_factory=list)  # startup problems, shown as a banner in the page
    notes: list[str] = field(default_factory=list)  # e.g. how the impl's training compares with the reference's

    def __post_init__(self):
        v = self.vocabulary
        self.ids_by_bytes = v.ids_by_bytes()
        self.expected = encoding_from_merges("playground-expected", v.merges, GPT2_PATTERN, [])
        self.runner = ImplRunner(self.impl, v, self.timeout)
        self.bytes_by_id = self.runner.bytes_by_id
        self.reference_runner = None
        if self.reference and self.impl != "reference" and extensions.implementation("reference") is not None:
            self.reference_runner = ImplRunner("reference", self.reference_vocabulary or v, self.timeout)

    def close(self) -> None:
        self.runner.close()
        if self.reference_runner:
            self.reference_runner.close()

    def info(self) -> dict:
        v = self.vocabulary
        return {
            "impl": self.impl,
            "vocab_source": v.source,
            "vocab_size": len(self.ids_by_bytes),
            "merges": len(v.merges),
            "specials": v.specials,
            "problems": self.problems,
            "notes": self.notes,
            "reference": self.reference_runner is not None,
            "max_body": MAX_BODY,
            "max_shown": MAX_SHOWN,
            "timeout": self.timeout,
            "encodings": [{"name": n, "unavailable": unavailable_reason(n)} for n in REAL_ENCODINGS],
        }

    # --- columns ---

    def expected_ids(self, text: str) -> list[int]:
        ids = []
        for segment, special in split_on_specials(text, self.vocabulary.specials):
            if special:
                ids.append(self.ids_by_bytes[segment.encode("utf-8")])
            else:
                ids.extend(
                    self.ids_by_bytes[self.expected.decode_single_token_bytes(t)]
                    for t in self.expected.encode_ordinary(segment)
                )
        return ids

    def rows_for_ids(self, ids: list[int], bytes_by_id: dict[int, bytes]) -> list[dict]:
        specials = {s.encode("utf-8") for s in self.vocabulary.specials}
        return token_rows([(i, bytes_by_id.get(i), bytes_by_id.get(i) in specials) for i in ids])

    def real_column(self, name: str, text: str, text_bytes: int) -> dict:
        reason = unavailable_reason(name)
        if reason:
            return column(name, name, "real", text_bytes, error=f"{name} is not available here", detail=reason)
        enc = get_encoding(name)
        allowed = set(self.vocabulary.specials) & enc.special_tokens_set
        start = time.perf_counter()
        ids = enc.encode(text, allowed_special=allowed, disallowed_special=())
        seconds = time.perf_counter() - start
        rows = token_rows([(i, enc.decode_single_token_bytes(i), i in enc._special_tokens.values()) for i in ids])
        return column(
            name,
            name,
            "real",
            text_bytes,
            ids,
            rows,
            seconds=seconds,
            note="its own vocabulary: ids are not comparable, counts are",
        )

    def tokenize(self, text: str, encodings: Sequence[str] = ()) -> dict:
        notices = []
        if LONE_SURROGATE.search(text):
            n = len(LONE_SURROGATE.findall(text))
            text = LONE_SURROGATE.sub("\ufffd", text)
            notices.append(f"{n} lone surrogate(s) (half of a character, not valid Unicode) replaced by U+FFFD")
        text_bytes = len(text.encode("utf-8"))

        start = time.perf_counter()
        expected = self.expected_ids(text)
        expected_rows = self.rows_for_ids(expected, self.bytes_by_id)
        expected_col = column(
            "expected",
            "expected (tiktoken, same merges)",
            "expected",
            text_bytes,
            expected,
            expected_rows,
            seconds=time.perf_counter() - start,
            note="what a correct tokenizer outputs with this vocab and these merges",
        )

        ids, error, detail, seconds = self.runner.encode(text)
        divergence = None
        if ids is not None:
            bad = [i for i in ids if not isinstance(i, int) or i not in self.bytes_by_id]
            impl_rows = self.rows_for_ids(ids, self.bytes_by_id)
            impl_col = column(
                "impl",
                f"yours: {self.runner.label}",
                "impl",
                text_bytes,
                ids,
                impl_rows,
                seconds=seconds,
                note=f"ids not in the vocab: {bad[:5]}" if bad else None,
            )
            message = describe_ids_difference(ids, expected, text, self.bytes_by_id, "encode()")
            if message:
                divergence = {"message": message, "position": first_divergence(ids, expected)}
                _mark(impl_rows, expected_rows, divergence["position"])
        else:
            impl_col = column("impl", f"yours: {self.runner.label}", "impl", text_bytes, error=error, detail=detail)

        columns = [impl_col, expected_col]
        if self.reference_runner:
            ref_ids, error, detail, seconds = self.reference_runner.encode(text)
            title = "reference" + (" (trained on the same corpus)" if self.reference_vocabulary else "")
            columns.append(
                column(
                    "reference",
                    title,
                    "reference",
                    text_bytes,
                    ref_ids,
                    None if ref_ids is None else self.rows_for_ids(ref_ids, self.reference_runner.bytes_by_id),
                    error=error,
                    detail=detail,
                    seconds=seconds,
                )
            )
        for name in encodings:
            if name in REAL_ENCODINGS:
                columns.append(self.real_column(name, text, text_bytes))
        return {"text_bytes": text_bytes, "columns": columns, "divergence": divergence, "notices": notices}


def _mark(impl_rows: list[dict], expected_rows: list[dict], first: int) -> None:
    """Flag tokens whose (byte span, id) the other side lacks, and the first divergent position on both sides."""
    impl_spans = {(r["start"], r["end"], r["id"]) for r in impl_rows}
    expected_spans = {(r["start"], r["end"], r["id"]) for r in expected_rows}
    for rows, other in ((impl_rows, expected_spans), (expected_rows, impl_spans)):
        for r in rows:
            r["diverges"] = (r["start"], r["end"], r["id"]) not in other
        if first < len(rows):
            rows[first]["first"] = True


# --- HTTP ---------------------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server_version = "bpe-playground"
    playground: Playground  # set on the subclass made by make_server

    def log_message(self, format, *args):  # quiet: the terminal shows the URL and errors only
        pass

    def _host_ok(self) -> bool:
        """Refuse requests addressed to another host name (DNS rebinding): only 127.0.0.1 / localhost."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost", "[::1]")

    def _send(self, status: int, body: bytes, content_type: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value, close: bool = False) -> None:
        self._send(status, json.dumps(value).encode("utf-8"), "application/json; charset=utf-8", close)

    def do_GET(self):
        if not self._host_ok():
            return self._json(HTTPStatus.FORBIDDEN, {"error": "the playground answers to 127.0.0.1 / localhost only"})
        path = self.path.split("?", 1)[0]
        if path == "/api/info":
            return self._json(HTTPStatus.OK, self.playground.info())
        name = "index.html" if path == "/" else path.removeprefix("/static/") if path.startswith("/static/") else None
        file = static_file(name) if name else None
        if file is None:
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"not found: {path[:100]}"})
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        self._send(HTTPStatus.OK, file.read_bytes(), ctype)

    def do_POST(self):
        if not self._host_ok():
            return self._json(HTTPStatus.FORBIDDEN, {"error": "the playground answers to 127.0.0.1 / localhost only"})
        if self.path != "/api/tokenize":
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"not found: {self.path[:100]}"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "a Content-Length header is required"}, True)
        if length > MAX_BODY:
            return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": too_big(length)}, True)
        try:
            request = json.loads(self.rfile.read(length).decode("utf-8"))
            text, encodings = request["text"], request.get("encodings", [])
            if not isinstance(text, str) or not isinstance(encodings, list):
                raise TypeError("text must be a string and encodings a list")
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            return self._json(
                HTTPStatus.BAD_REQUEST,
                {
                    "error": f'bad request: expected JSON {{"text": "...", '
                    f'"encodings": [...]}} ({type(e).__name__}: {e})'
                },
            )
        try:
            return self._json(HTTPStatus.OK, self.playground.tokenize(text, [str(e) for e in encodings]))
        except Exception as e:  # a bug of ours: say so in the page, keep serving
            return self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"playground error: {type(e).__name__}: {e}"})


def too_big(length: int) -> str:
    return (
        f"the text is too big for the playground: {length / 1e6:.1f} MB sent, at most {MAX_BODY / 1e6:.1f} MB "
        "(about a million characters of plain English). Paste a shorter piece; to tokenize a whole corpus use "
        "`python -m bpe_harness.tools.encode_corpus`."
    )


def static_file(name: str) -> Path | None:
    """The file of static/ called `name`, or None: only names listed in static/ itself (no '..', no folders)."""
    if not name or "/" in name or "\\" in name:
        return None
    allowed = {p.name: p for p in STATIC.iterdir() if p.is_file()}
    return allowed.get(name)


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(playground: Playground, port: int = 0) -> LoopbackServer:
    """A server bound to 127.0.0.1 (never another interface); port 0 picks a free one (see server.server_port)."""
    handler = type("PlaygroundHandler", (Handler,), {"playground": playground})
    return LoopbackServer((HOST, port), handler)
