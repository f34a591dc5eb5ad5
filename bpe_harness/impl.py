"""Which implementation is under test, and the one door every test goes through to reach it.

`--impl` names a module exposing `run_train_bpe` and `get_tokenizer` (the CS336 adapter contract). Everything a
test gets back passes through `Implementation` / `CheckedTokenizer`, which hand each call a fresh copy of its inputs
(many real solutions add special tokens to the vocab dict they are given) and check result types, so a wrong type
fails with a sentence instead of a strange diff.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "tests" / "adapters.py"
REFERENCE = "staff.reference.adapters"  # a package (relative imports), so loaded by module name
REQUIRED = ("run_train_bpe", "get_tokenizer")
USAGE = (
    "--impl accepts: 'student' (tests/adapters.py, the default), 'reference' (staff/reference/adapters.py), "
    "a path to a .py file, or a dotted module name; the module must define run_train_bpe and get_tokenizer."
)


class ImplError(Exception):
    """The --impl value cannot be turned into an implementation. The message says what was tried."""


def _project_root(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            return folder
    return None


def _load_file(path: Path) -> ModuleType:
    # An outside solution imports its own packages (e.g. its own cs336_basics): its project root goes first on
    # sys.path so those win over this repository's stubs.
    for folder in (path.parent, _project_root(path.parent)):
        if folder is not None and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    name = "cs336_impl_under_test"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_adapters(value: str) -> tuple[str, ModuleType]:
    """(label, module) for an --impl value; ImplError with a clear message if it cannot be used."""
    if value == "student":
        path, label = STUDENT, "student (tests/adapters.py)"
    elif value == "reference":
        if not (ROOT / "staff" / "reference").is_dir():
            raise ImplError("--impl reference: the reference solution is staff-only and not part of this handout")
        path, label = None, f"reference ({REFERENCE})"
        value = REFERENCE
    elif value.endswith(".py") or "/" in value or "\\" in value:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = (Path.cwd() / path) if (Path.cwd() / path).exists() else (ROOT / path)
        label = str(value)
    else:
        path, label = None, value
    try:
        if path is not None:
            if not path.is_file():
                raise ImplError(f"--impl {value!r}: no such file {path}. {USAGE}")
            module = _load_file(path.resolve())
        else:
            module = importlib.import_module(value)
    except ImplError:
        raise
    except ModuleNotFoundError as e:
        if path is None and e.name and value.startswith(e.name):
            raise ImplError(f"--impl {value!r}: no module named {e.name!r}. {USAGE}") from None
        raise ImplError(f"--impl {value!r}: importing it failed: {type(e).__name__}: {e}") from e
    except Exception as e:
        raise ImplError(f"--impl {value!r}: importing it failed: {type(e).__name__}: {e}") from e
    missing = [f for f in REQUIRED if not callable(getattr(module, f, None))]
    if missing:
        raise ImplError(f"--impl {value!r} ({getattr(module, '__file__', module)}) lacks {', '.join(missing)}. {USAGE}")
    return label, module


# --- type checks ----------------------------------------------------------------------------------------------


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) or type(x).__module__ == "numpy" and hasattr(x, "__index__")


def _preview(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def check_ids(ids, where: str) -> list[int]:
    __tracebackhide__ = True
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise AssertionError(f"{where} returned {type(ids).__name__} {_preview(ids)}; expected a list of int token ids")
    out = list(ids)
    for i, x in enumerate(out):
        if not _is_int(x):
            raise AssertionError(
                f"{where} returned a {type(x).__name__} at position {i} ({_preview(x)}); token ids must be ints"
            )
    return [int(x) for x in out]


def check_training_result(result) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    __tracebackhide__ = True
    where = "run_train_bpe()"
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise AssertionError(f"{where} returned {type(result).__name__}; expected a (vocab, merges) pair")
    vocab, merges = result
    if not isinstance(vocab, dict):
        raise AssertionError(f"{where}: vocab is a {type(vocab).__name__}; expected dict[int, bytes]")
    for k, v in vocab.items():
        if not _is_int(k) or not isinstance(v, bytes):
            raise AssertionError(
                f"{where}: vocab entry {_preview(k)}: {_preview(v)} is ({type(k).__name__}, {type(v).__name__}); "
                "expected (int id, bytes token)"
            )
    checked = []
    for i, m in enumerate(merges):
        if not (isinstance(m, tuple | list) and len(m) == 2 and all(isinstance(p, bytes) for p in m)):
            raise AssertionError(f"{where}: merges[{i}] is {_preview(m)}; expected a (bytes, bytes) pair")
        checked.append((m[0], m[1]))
    return {int(k): v for k, v in vocab.items()}, checked


# --- the door -----------------------------------------------------------------------------------------------------


class CheckedTokenizer:
    """The implementation's tokenizer, with type-checked results."""

    def __init__(self, raw):
        self.raw = raw

    def encode(self, text: str) -> list[int]:
        __tracebackhide__ = True
        return check_ids(self.raw.encode(text), "encode()")

    def decode(self, ids: list[int]) -> str:
        __tracebackhide__ = True
        text = self.raw.decode(list(ids))
        if not isinstance(text, str):
            raise AssertionError(f"decode() returned {type(text).__name__} {_preview(text)}; expected str")
        return text

    def iter_ids(self, chunks: Iterable[str]) -> Iterator[int]:
        """encode_iterable's output as it comes, each item type-checked."""
        __tracebackhide__ = True
        result = self.raw.encode_iterable(chunks)
        if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
            raise AssertionError(f"encode_iterable() returned {type(result).__name__}; expected an iterable of ids")
        for i, x in enumerate(result):
            if not _is_int(x):
                raise AssertionError(f"encode_iterable() yielded a {type(x).__name__} at position {i}: {_preview(x)}")
            yield int(x)

    def encode_iterable(self, chunks: Iterable[str]) -> list[int]:
        __tracebackhide__ = True
        return list(self.iter_ids(chunks))


@dataclass
class Implementation:
    label: str
    module: ModuleType
    value: str = "student"  # the raw --impl value, so a worker process can load the same implementation
    _workers: object = field(default=None, repr=False, compare=False)

    def isolated(self, fresh: bool = False):
        """The implementation in a separate worker process, every call measured (time, memory) from this process.

        Returns a `bpe_harness.worker.Isolated` handle. fresh=True: a worker of its own, stopped when the handle is
        closed; otherwise the session's shared worker (replaced if it hangs or crashes).
        """
        from bpe_harness.worker import Isolated, WorkerPool

        if self._workers is None:
            self._workers = WorkerPool(self.worker_value())
        return Isolated(self._workers, fresh)

    def worker_value(self) -> str:
        """--impl value for a worker started in the repository root: a file path is made absolute."""
        file = getattr(self.module, "__file__", None)
        if self.value not in ("student", "reference") and file and (
            self.value.endswith(".py") or "/" in self.value or "\\" in self.value
        ):
            return str(Path(file).resolve())
        return self.value

    def close_workers(self) -> None:
        """Stop every worker process this session started."""
        if self._workers is not None:
            self._workers.close()

    def train(self, input_path, vocab_size: int, special_tokens: list[str], **kwargs):
        __tracebackhide__ = True
        result = self.module.run_train_bpe(Path(input_path), vocab_size, list(special_tokens), **kwargs)
        return check_training_result(result)

    def tokenizer(self, vocab, merges, special_tokens=None, pattern=None) -> CheckedTokenizer:
        __tracebackhide__ = True
        fresh_vocab, fresh_merges = dict(vocab), list(merges)
        specials = None if special_tokens is None else list(special_tokens)
        if pattern is None:
            return CheckedTokenizer(self.module.get_tokenizer(fresh_vocab, fresh_merges, specials))
        if "pattern" not in inspect.signature(self.module.get_tokenizer).parameters and not any(
            p.kind is p.VAR_KEYWORD for p in inspect.signature(self.module.get_tokenizer).parameters.values()
        ):
            raise AssertionError(
                "get_tokenizer() takes no `pattern` argument, but this test needs a different pre-tokenization regex "
                "(tiktoken's o200k_base/cl100k_base each have their own). Add `pattern=None` to get_tokenizer in "
                "tests/adapters.py and pass it on to your Tokenizer."
            )
        return CheckedTokenizer(self.module.get_tokenizer(fresh_vocab, fresh_merges, specials, pattern=pattern))
