"""Export a trained vocab/merges to the formats fast tokenizers load: tiktoken, and Hugging Face `tokenizer.json`.

    uv run python -m bpe_harness.tools.experiments export runs/tinystories-10k          # writes into that directory:
        tokenizer.tiktoken   tiktoken's rank file (base64 token, space, id; one per line)
        tiktoken.json        {"name", "pattern", "special_tokens": {token: id}}: what tiktoken.Encoding also needs
        tokenizer.json       a Hugging Face byte-level BPE tokenizer

Loading them (the exports give the same ids as your own encoder; staff/tests/test_experiments.py checks it):

    from bpe_harness.tools.experiments.export import load_tiktoken
    enc = load_tiktoken("runs/tinystories-10k")                 # a tiktoken.Encoding
    enc.encode(text, allowed_special="all")

    from tokenizers import Tokenizer                             # uv sync --group bench
    tok = Tokenizer.from_file("runs/tinystories-10k/tokenizer.json")
    tok.encode(text, add_special_tokens=False).ids

Why the ids agree: tiktoken merges the adjacent pair whose concatenation has the lowest rank; using each token's id
as its rank makes it apply merges in creation order, which is what merge-list BPE does, provided ids follow merge
order (checked: `check_merge_order`). Hugging Face's BPE model applies the merges list itself. Both split text with
the same pre-tokenization pattern and treat the same strings as special tokens. A special token missing from the
vocab gets the next free id, as the reference tokenizer gives it.

Writing tokenizer.json needs only the standard library; the `tokenizers` package is needed to load it.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path

from bpe_harness.data.encodings import encoding_for_vocab
from bpe_harness.data.vocab_io import Merges, Vocab
from bpe_harness.files import write_atomically
from bpe_harness.rules import EOT, GPT2_PATTERN
from bpe_harness.settings import ROOT

TIKTOKEN_RANKS = "tokenizer.tiktoken"
TIKTOKEN_META = "tiktoken.json"
HF_JSON = "tokenizer.json"


class ExportError(ValueError):
    """The vocab/merges cannot be expressed exactly in the target format (the message says why)."""


def with_specials(vocab: Vocab, special_tokens) -> tuple[Vocab, dict[str, int]]:
    """The vocab with every special token in it (a missing one gets max id + 1, in order), and special -> id."""
    vocab = dict(vocab)
    by_bytes: dict[bytes, int] = {}
    for i, token in sorted(vocab.items()):
        by_bytes.setdefault(token, i)
    ids = {}
    for special in dict.fromkeys(special_tokens or []):
        encoded = special.encode("utf-8")
        if encoded not in by_bytes:
            new_id = max(vocab, default=-1) + 1
            vocab[new_id] = encoded
            by_bytes[encoded] = new_id
        ids[special] = by_bytes[encoded]
    return vocab, ids


def check_merge_order(vocab: Vocab, merges: Merges, special_ids: dict[str, int]) -> None:
    """Raise ExportError unless rank-by-id BPE (tiktoken) equals merge-list BPE for this vocab: all 256 single
    bytes present, each merge's result in the vocab with ids increasing in merge order, and no other multi-byte
    token (tiktoken would build it from any two pieces that concatenate to it)."""
    first_id: dict[bytes, int] = {}
    for i, token in sorted(vocab.items()):
        first_id.setdefault(token, i)
    missing = [b for b in range(256) if bytes([b]) not in first_id]
    if missing:
        raise ExportError(f"the vocab lacks single byte(s) {missing[:8]}: byte-level BPE needs all 256")
    previous, made = -1, set()
    for k, (a, b) in enumerate(merges):
        token = a + b
        if token not in first_id:
            raise ExportError(f"merge {k} ({a!r}, {b!r}) makes {token!r}, which is not in the vocab")
        if token in made:
            continue
        if first_id[token] <= previous:
            raise ExportError(
                f"merge {k} makes {token!r} with id {first_id[token]}, not above the previous merge's "
                f"id {previous}: tiktoken ranks by id, so ids must follow merge order"
            )
        previous = first_id[token]
        made.add(token)
    specials = {s.encode("utf-8") for s in special_ids}
    for i, token in sorted(vocab.items()):
        if len(token) > 1 and token not in made and token not in specials:
            raise ExportError(f"vocab id {i} ({token!r}) is neither a single byte, a merge's result nor a special")


def to_tiktoken(vocab: Vocab, merges: Merges, special_tokens=(), pattern: str | None = None, name: str = "bpe"):
    """A tiktoken.Encoding giving the same ids as merge-list BPE with this vocab/merges/specials/pattern."""
    vocab, special_ids = with_specials(vocab, special_tokens)
    check_merge_order(vocab, merges, special_ids)
    overlapping = [(a, b) for a in special_ids for b in special_ids if a != b and a in b]
    if overlapping:  # tiktoken's special-token regex is an unordered alternation: overlap would be ambiguous
        raise ExportError(
            f"special tokens {overlapping[0][0]!r} and {overlapping[0][1]!r} overlap; tiktoken cannot "
            "guarantee the longest one wins"
        )
    return encoding_for_vocab(name, vocab, pattern or GPT2_PATTERN, list(special_ids))


def write_tiktoken(vocab: Vocab, merges: Merges, special_tokens, pattern: str | None, out_dir, name="bpe") -> None:
    """tokenizer.tiktoken (tiktoken's own rank-file format) and tiktoken.json (name, pattern, specials)."""
    enc = to_tiktoken(vocab, merges, special_tokens, pattern, name)
    ranks = enc._mergeable_ranks
    lines = "".join(
        f"{base64.b64encode(t).decode('ascii')} {r}\n" for t, r in sorted(ranks.items(), key=lambda x: x[1])
    )
    out_dir = Path(out_dir)
    write_atomically(out_dir / TIKTOKEN_RANKS, lines)
    meta = {"name": name, "pattern": enc._pat_str, "special_tokens": dict(enc._special_tokens)}
    write_atomically(out_dir / TIKTOKEN_META, json.dumps(meta, indent=1, ensure_ascii=False) + "\n")


def load_tiktoken(directory):
    """The tiktoken.Encoding saved by `write_tiktoken` in `directory`."""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    directory = Path(directory)
    meta = json.loads((directory / TIKTOKEN_META).read_text(encoding="utf-8"))
    ranks = load_tiktoken_bpe(str(directory / TIKTOKEN_RANKS))
    return tiktoken.Encoding(
        meta["name"], pat_str=meta["pattern"], mergeable_ranks=ranks, special_tokens=meta["special_tokens"]
    )


@cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (Hugging Face ByteLevel writes vocab and merges with it)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {b: chr(b) for b in printable}, 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _hf_text(token: bytes) -> str:
    table = bytes_to_unicode()
    return "".join(table[b] for b in token)


def hf_tokenizer_dict(vocab: Vocab, merges: Merges, special_tokens=(), pattern: str | None = None) -> dict:
    """The tokenizer.json content: specials as added tokens, a Split on `pattern` then ByteLevel (no regex of its
    own), a BPE model with the merges in order and ignore_merges off (so merges alone decide, as in merge-list BPE)."""
    vocab, special_ids = with_specials(vocab, special_tokens)
    model_vocab: dict[str, int] = {}
    for i, token in sorted(vocab.items()):
        model_vocab.setdefault(_hf_text(token), i)
    for special, i in special_ids.items():  # HF keeps an added token's id only if the model vocab has its content
        model_vocab[special] = i
    hf_merges = [f"{_hf_text(a)} {_hf_text(b)}" for a, b in merges if _hf_text(a + b) in model_vocab]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": i,
                "content": s,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for s, i in special_ids.items()
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": pattern or GPT2_PATTERN},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": model_vocab,
            "merges": hf_merges,
        },
    }


def to_hf_tokenizer_json(vocab: Vocab, merges: Merges, special_tokens, pattern: str | None, path) -> None:
    """Write a Hugging Face tokenizer.json (loadable with tokenizers.Tokenizer.from_file) to `path`."""
    data = hf_tokenizer_dict(vocab, merges, special_tokens, pattern)
    write_atomically(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def saved_special_tokens(directory) -> list[str]:
    """The special tokens a `train` run used (from its report.json), else ["<|endoftext|>"]."""
    report = Path(directory) / "report.json"
    if report.exists():
        return list(json.loads(report.read_text(encoding="utf-8")).get("special_tokens", []))
    return [EOT]


FIXTURE_TEXTS = ROOT / "tests" / "fixtures" / "samples"


def check_exports(out, vocab: Vocab, merges: Merges, specials, pattern, impl: str, texts: list[Path]) -> list[str]:
    """Encode each text with --impl's own encoder (in its worker) and with both exports; one line per export
    saying whether the ids are identical, or where they first differ."""
    from bpe_harness.client import Client
    from bpe_harness.plugin.divergence import first_divergence

    encoding = load_tiktoken(out)
    exports = {"tiktoken": lambda text: encoding.encode(text, allowed_special="all")}
    try:
        from tokenizers import Tokenizer

        hf = Tokenizer.from_file(str(Path(out) / HF_JSON))
        exports["tokenizer.json"] = lambda text: hf.encode(text, add_special_tokens=False).ids
    except ImportError:
        pass
    problems: dict[str, str] = {}
    with Client(impl) as client:
        try:
            tok = client.tokenizer(vocab, merges, list(specials), pattern=pattern, timeout=120)
            expected = {path: tok.encode(path.read_text(encoding="utf-8"), timeout=120) for path in texts}
        except Exception as e:
            return [f"not checked: --impl {impl} could not encode ({type(e).__name__}: {str(e).splitlines()[0]})"]
    for name, encode in exports.items():
        for path, ids in expected.items():
            got = encode(path.read_text(encoding="utf-8"))
            at = first_divergence(got, ids)
            if at is not None and name not in problems:
                problems[name] = (
                    f"{name}: ids differ from --impl {impl} on {path.name} at position {at} "
                    f"(export {got[at : at + 3]}, yours {ids[at : at + 3]})"
                )
    lines = [problems.get(name, f"{name}: identical ids to --impl {impl} on {len(texts)} texts") for name in exports]
    if "tokenizer.json" not in exports:
        lines.append("tokenizer.json: not checked (the tokenizers package is not installed: uv sync --group bench)")
    return lines


def add_arguments(parser) -> None:
    parser.add_argument("directory", help="a directory with vocab.json and merges.json (what `train` writes)")
    parser.add_argument("--out", default=None, help="where to write the exports (default: the same directory)")
    parser.add_argument(
        "--special-token",
        action="append",
        dest="special_tokens",
        default=None,
        help="a special token (repeatable; default: those in report.json, else <|endoftext|>)",
    )
    parser.add_argument("--pattern", default=None, help="pre-tokenization regex (default: the GPT-2 pattern)")
    parser.add_argument("--name", default=None, help="the tiktoken encoding's name (default: the directory name)")
    parser.add_argument("--force", action="store_true", help="replace existing export files")
    parser.add_argument(
        "--impl",
        default="student",
        help="whose encoder the exports are checked against (default: yours, in its worker)",
    )
    parser.add_argument(
        "--check",
        action="append",
        default=None,
        dest="check_texts",
        metavar="TEXT_FILE",
        help="text files to check the ids on (repeatable; default: tests/fixtures/samples/*.txt)",
    )
    parser.add_argument("--no-check", action="store_true", help="do not compare ids with --impl's encoder")


def main(args) -> int:
    from bpe_harness.data.vocab_io import VocabFormatError, load_vocab_and_merges
    from bpe_harness.tools.experiments.inputs import ExperimentError, describe_os_error

    directory = Path(args.directory)
    out = Path(args.out) if args.out else directory
    for name in ("vocab.json", "merges.json"):
        if not (directory / name).exists():
            raise ExperimentError(f"{directory / name} does not exist; `train` writes it")
    targets = [out / TIKTOKEN_RANKS, out / TIKTOKEN_META, out / HF_JSON]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.force:
        raise ExperimentError(f"{', '.join(existing)} exist(s); pass --force to replace (nothing was changed)")
    specials = args.special_tokens if args.special_tokens is not None else saved_special_tokens(directory)
    try:
        vocab, merges = load_vocab_and_merges(directory / "vocab.json", directory / "merges.json")
        out.mkdir(parents=True, exist_ok=True)
        write_tiktoken(vocab, merges, specials, args.pattern, out, args.name or directory.resolve().name)
        to_hf_tokenizer_json(vocab, merges, specials, args.pattern, out / HF_JSON)
    except (ExportError, VocabFormatError) as e:
        raise ExperimentError(str(e)) from None
    except OSError as e:
        raise ExperimentError(describe_os_error(e, f"writing into {out}")) from None
    print(
        f"wrote {targets[0]}, {targets[1]} (tiktoken) and {targets[2]} (Hugging Face tokenizers)\n"
        f"load them:\n"
        f"  from bpe_harness.tools.experiments.export import load_tiktoken; enc = load_tiktoken({str(out)!r})\n"
        f"  from tokenizers import Tokenizer; tok = Tokenizer.from_file({str(targets[2])!r})"
    )
    if args.no_check:
        return 0
    texts = [Path(t) for t in args.check_texts] if args.check_texts else sorted(FIXTURE_TEXTS.glob("*.txt"))
    missing = [str(t) for t in texts if not t.is_file()]
    if missing:
        raise ExperimentError(f"--check: {', '.join(missing)} not found (the exports were written)")
    lines = check_exports(out, vocab, merges, specials, args.pattern, args.impl, texts)
    print("check:\n  " + "\n  ".join(lines))
    return 1 if any("differ" in line for line in lines) else 0
