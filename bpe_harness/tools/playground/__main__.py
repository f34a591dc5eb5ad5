"""Start the tokenizer playground on 127.0.0.1 and print its URL.

    uv run python -m bpe_harness.tools.playground                                  # your tokenizer, the kit's vocab
    uv run python -m bpe_harness.tools.playground --vocab vocab.json --merges merges.json
    uv run python -m bpe_harness.tools.playground --train data.txt --vocab-size 1000  # trains your code first
    uv run python -m bpe_harness.tools.playground --impl path/to/adapters.py --port 8336

A problem with what you gave (a missing or malformed vocab file, a training run that fails) is printed here and shown
as a banner in the page, which then uses the kit's snapshot vocab so that it still works.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from bpe_harness import extensions
from bpe_harness.client import Client
from bpe_harness.plugin.divergence import assert_merges_equal
from bpe_harness.rules import EOT
from bpe_harness.tools.playground.server import (
    Playground,
    PlaygroundError,
    Vocabulary,
    default_vocabulary,
    load_vocabulary,
    make_server,
    vocabulary_problem,
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bpe_harness.tools.playground", description=__doc__.split("\n")[0])
    p.add_argument(
        "--impl",
        default="student",
        help="student (tests/adapters.py, default), reference, a path to an adapters .py file, or a dotted module",
    )
    p.add_argument("--vocab", help='vocab JSON {"id": "hex"} (with --merges)')
    p.add_argument("--merges", help='merges JSON [["hex", "hex"], ...] (with --vocab)')
    p.add_argument("--train", metavar="CORPUS", help="train the implementation on CORPUS first (with --vocab-size)")
    p.add_argument("--vocab-size", type=int, help="vocab size for --train")
    p.add_argument(
        "--special-token",
        action="append",
        dest="specials",
        metavar="TOKEN",
        help="a special token (repeatable; default <|endoftext|>)",
    )
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds an encode() call may take (default 5)")
    p.add_argument("--train-timeout", type=float, default=600.0, help="seconds --train may take (default 600)")
    p.add_argument("--no-reference", action="store_true", help="no reference column (where one is registered)")
    args = p.parse_args(argv)
    if (args.vocab is None) != (args.merges is None):
        p.error("--vocab and --merges go together")
    if args.train and args.vocab:
        p.error("give either --vocab/--merges or --train, not both")
    if bool(args.train) != (args.vocab_size is not None):
        p.error("--train CORPUS and --vocab-size N go together")
    if args.specials is None:
        args.specials = [EOT]
    return args


def train(impl: str, corpus: str, vocab_size: int, specials: list[str], timeout: float) -> Vocabulary:
    """Train `impl` in a worker, printing the elapsed time while it runs; PlaygroundError if it fails."""
    if not Path(corpus).is_file():
        raise PlaygroundError(f"--train: corpus {corpus} does not exist")
    done = threading.Event()
    start = time.monotonic()

    def ticker():
        while not done.wait(2.0):
            print(f"  training {impl} ... {time.monotonic() - start:.0f} s", flush=True)

    print(f"training {impl} on {corpus} to vocab_size {vocab_size} (at most {timeout:.0f} s)", flush=True)
    threading.Thread(target=ticker, daemon=True).start()
    try:
        with Client(impl) as client:
            vocab, merges = client.train(corpus, vocab_size, specials, timeout=timeout)
    except Exception as e:  # whatever training did, reported in the terminal and the page
        raise PlaygroundError(
            f"training {impl} on {corpus} failed: {type(e).__name__}: {str(e).splitlines()[0]}"
        ) from e
    finally:
        done.set()
    print(
        f"  trained {impl} in {time.monotonic() - start:.1f} s: {len(vocab)} tokens, {len(merges)} merges", flush=True
    )
    problem = vocabulary_problem(vocab, merges)
    if problem:
        raise PlaygroundError(f"training {impl} on {corpus} gave an unusable vocab: {problem}")
    return Vocabulary(vocab, merges, specials, f"{impl} trained on {corpus} (vocab_size {vocab_size})")


def build(args) -> Playground:
    problems, notes, reference_vocabulary = [], [], None
    vocabulary = None
    try:
        if args.vocab:
            vocabulary = load_vocabulary(args.vocab, args.merges, args.specials)
        elif args.train:
            vocabulary = train(args.impl, args.train, args.vocab_size, args.specials, args.train_timeout)
            wanted = args.impl != "reference" and not args.no_reference
            if wanted and extensions.implementation("reference") is not None:
                reference_vocabulary = train(
                    "reference", args.train, args.vocab_size, args.specials, args.train_timeout
                )
                try:
                    assert_merges_equal(vocabulary.merges, reference_vocabulary.merges, Path(args.train), args.specials)
                    notes.append("your merges equal the reference's")
                except AssertionError as e:
                    notes.append(f"your training differs from the reference's: {e}")
    except PlaygroundError as e:
        problems.append(f"{e}. Showing the kit's default vocab instead.")
        print(f"problem: {e}", file=sys.stderr, flush=True)
    if vocabulary is None:
        vocabulary = default_vocabulary()
    return Playground(
        args.impl,
        vocabulary,
        timeout=args.timeout,
        reference=not args.no_reference,
        reference_vocabulary=reference_vocabulary,
        problems=problems,
        notes=notes,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    playground = build(args)
    try:
        server = make_server(playground, args.port)
    except OSError as e:
        playground.close()
        print(f"cannot listen on 127.0.0.1:{args.port}: {e}", file=sys.stderr)
        return 1
    print(f"implementation: {args.impl}; vocab: {playground.vocabulary.source}")
    print(f"Tokenizer playground: http://127.0.0.1:{server.server_port}/  (Ctrl-C to stop)", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops the workers too (via finally)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        playground.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
