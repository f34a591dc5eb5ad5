"""Builds every generated fixture corpus under tests/fixtures/corpora from seeds (no third-party text), and the stream
tests' vocab (tests/fixtures/stream_vocab.json: the reference's training on corpora/stream_vocab.txt).

    uv run python -m staff.build_fixtures           # (re)write them, listing each file that changed
    uv run python -m staff.build_fixtures --check   # exit 1 if any committed fixture differs from what this builds

Tie corpora are crafted so that the required tie-break (greatest (bytes, bytes) tuple) gives different merges than
the tie-breaks students commonly write instead; staff/tests/test_fixtures.py proves that.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from bpe_harness.data.corpus import generate_text
from bpe_harness.plugin.snapshots import TrainingSnapshot
from bpe_harness.rules import EOT
from bpe_harness.settings import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "corpora"
MULTI_SPECIALS = ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|pad|>"]


def tinystories_sample() -> str:
    return generate_text(seed=1, n_chars=256_000, style="tinystories")


def webtext_sample() -> str:
    return generate_text(seed=2, n_chars=192_000, style="webtext")


def documents() -> str:
    """Mixed documents for tokenizer parity tests, separated by <|endoftext|>."""
    return generate_text(seed=3, n_chars=48_000, style="tinystories") + generate_text(
        seed=4, n_chars=48_000, style="webtext"
    )


def held_out() -> str:
    """Text never trained on, to compare an implementation's own tokenizer with tiktoken's."""
    return generate_text(seed=5, n_chars=32_000, style="tinystories", separator="\n")


def multi_special() -> str:
    """Several special tokens: adjacent, repeated, first thing in the file and last thing in it, between two letters
    ('the<|pad|>n') and inside a whitespace run ('.  <|user|>  '): removing them instead of splitting at them joins
    the text on both sides, and the merges differ."""
    rng = random.Random(6)
    docs = generate_text(seed=6, n_chars=64_000, style="tinystories", separator="\x00").split("\x00")
    asides = [" (3 > 2)", " <b>", " a<b", " x >= y", " ->", " endoftext"]  # '<', '>' and 'endoftext' as plain text
    parts = ["<|user|>"]
    for doc in (d for d in docs if d):
        between_letters = rng.random() < 0.5
        glued = doc.replace(" the ", " the<|pad|>n ", 1) if between_letters else doc.replace(". ", ".  <|user|>  ", 1)
        parts.append(glued + asides[int(rng.random() * len(asides))])
        separators = ["<|assistant|>", "<|user|>", "<|endoftext|><|pad|>", "<|pad|><|pad|><|user|>"]
        parts.append(separators[int(rng.random() * len(separators))])
    parts.append("<|endoftext|>")
    return "".join(parts)


def blank_lines() -> str:
    """Paragraph breaks as runs of blank lines and space-only lines: per-line pre-tokenization miscounts these. Some
    runs hold <|endoftext|> ('\\n  <|endoftext|>  \\n'): removing it instead of splitting there joins the two runs."""
    rng = random.Random(7)
    text = generate_text(seed=7, n_chars=64_000, style="tinystories", mixed=False)
    breaks = ["\n", "\n\n", "\n\n\n", "\n\n\n\n", " \n", "\n  \n", "\n\n \n\n", f"\n  {EOT}  \n"]
    return "".join(c if c != "\n" else breaks[int(rng.random() * len(breaks))] for c in text)


# The stream tests' vocab (tests/fixtures/stream_vocab.json) is trained on this corpus: every kind of whitespace run,
# contractions, digit groups and the pieces next to special tokens occur often enough to become merges, so a stream
# cut at any of them changes the ids (staff/tests/test_stream_vocab.py proves it, boundary by boundary).
STREAM_SEPARATORS = [" ", "  ", "   ", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\t", "\t\t"]
STREAM_SEPARATORS += ["\u3000", "\u3000\u3000", " \n", "   \n"]  # the ideographic space; spaces ending a line
STREAM_PIECES = "we'll I'd they've it's don't DON'T we're I'm you'll she'd can't".split()
STREAM_PIECES += ["1234567", "2024", "3.14", "42", "12,345", "98765", ",,,", "!!!", "??", "...", "(x)"]
STREAM_VOCAB_SIZE = 1000


def stream_vocab_corpus() -> str:
    """Story words with tricky pieces between them: a separator (a whitespace run of some kind) before a space and a
    word, before a tricky piece, or at the end of a document right before <|endoftext|>, where it is a piece alone."""
    rng = random.Random(9)
    words = generate_text(seed=9, n_chars=48_000, style="tinystories", mixed=False, separator="\n").split()
    parts = []
    for word in words:
        parts.append(word)
        roll = rng.random()
        if roll < 0.25:
            parts.append(rng.choice(STREAM_SEPARATORS) + " ")
        elif roll < 0.4:
            parts.append(rng.choice(STREAM_SEPARATORS) + rng.choice(STREAM_PIECES) + " ")
        elif roll < 0.47:
            parts.append(rng.choice(STREAM_SEPARATORS) + EOT + rng.choice(STREAM_SEPARATORS))
        else:
            parts.append(" ")
    return "".join(parts)


def ties_bytes_not_unicode() -> str:
    """(b' ', b'a') and (b'a', b'b') tie. As bytes, b'a' > b' ', so ('a','b') wins; GPT-2's printable remapping
    turns the space into 'Ġ' (U+0120), which would sort above 'a' and pick the wrong pair."""
    return " ab\n" * 20 + EOT + " ab\n" * 5


def ties_tuple_not_concat() -> str:
    """After (a, b), the pairs (ab, a) and (a, c) tie at 10. Tuples: b'ab' > b'a', so (ab, a) wins; comparing the
    concatenations instead, b'ac' > b'aba' would pick (a, c)."""
    lines = ["ab"] * 100 + ["aba"] * 10 + ["ac"] * 10
    random.Random(8).shuffle(lines)
    return "\n".join(lines) + "\n"


def ties_greatest_not_first() -> str:
    """Five pairs tie at 5. Greatest first: (x,y) (x,a) (q,z) (m,n) (b,z); first-seen order, smallest-first and
    second-element-first orders all differ."""
    return ("qz\nxy\nmn\nxa\nbz\n" * 5) + EOT


BUILDERS = {
    "tinystories_sample.txt": tinystories_sample,
    "webtext_sample.txt": webtext_sample,
    "documents.txt": documents,
    "held_out.txt": held_out,
    "multi_special.txt": multi_special,
    "blank_lines.txt": blank_lines,
    "stream_vocab.txt": stream_vocab_corpus,
    "ties_bytes_not_unicode.txt": ties_bytes_not_unicode,
    "ties_tuple_not_concat.txt": ties_tuple_not_concat,
    "ties_greatest_not_first.txt": ties_greatest_not_first,
}


STREAM_VOCAB = "../stream_vocab.json"  # beside corpora/: a vocab, not a corpus


def stream_vocab(corpus: bytes) -> bytes:
    """The reference's training on the stream corpus (vocab_size 1000, <|endoftext|>), in the snapshot format."""
    from staff.reference.train import train_bpe

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream_vocab.txt"
        path.write_bytes(corpus)
        vocab, merges = train_bpe(path, STREAM_VOCAB_SIZE, [EOT], num_workers=1)
    snapshot = TrainingSnapshot.from_training("corpora/stream_vocab.txt", STREAM_VOCAB_SIZE, [EOT], vocab, merges)
    return snapshot.render().encode("utf-8")


def build_all() -> dict[str, bytes]:
    """{path relative to tests/fixtures/corpora: bytes} of every generated fixture."""
    built = {name: build().encode("utf-8") for name, build in BUILDERS.items()}
    built[STREAM_VOCAB] = stream_vocab(built["stream_vocab.txt"])
    return built


def differences(directory: Path) -> list[str]:
    """Names of fixtures whose bytes on disk differ from what the builders produce (missing ones included)."""
    built = build_all()
    return [n for n, data in built.items() if not (directory / n).exists() or (directory / n).read_bytes() != data]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on any difference")
    parser.add_argument(
        "--out", type=Path, default=FIXTURES, help="directory to write (default: tests/fixtures/corpora)"
    )
    args = parser.parse_args(argv)
    if args.check:
        changed = differences(args.out)
        for name in changed:
            print(f"differs from its builder: {args.out / name}")
        print("fixtures match their builders" if not changed else f"{len(changed)} fixture(s) differ")
        return 1 if changed else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in build_all().items():
        path = (args.out / name).resolve()
        if path.exists() and path.read_bytes() == data:
            continue
        print(f"{'rewrote' if path.exists() else 'wrote'} {path} ({len(data):,} bytes)")
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
