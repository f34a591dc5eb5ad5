"""Command line of the experiment tools: `uv run python -m bpe_harness.tools.experiments train|compare|export ...`."""

from __future__ import annotations

import argparse
import sys

from bpe_harness.tools.experiments import compare, export, train
from bpe_harness.tools.experiments.inputs import ExperimentError

COMMANDS = {"train": train, "compare": compare, "export": export}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bpe_harness.tools.experiments",
        description="Train, compare and export tokenizers (see README, Experiments).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        doc = module.__doc__ or ""
        p = sub.add_parser(
            name, help=doc.splitlines()[0], description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.add_arguments(p)
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command].main(args)
    except ExperimentError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped (Ctrl-C)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
