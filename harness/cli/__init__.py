"""The `harness` command: store checks, one-off runs and the coach's tools, outside pytest.

The gate itself is `pytest suites/`; these commands help while writing fixtures and articles.
This package is the only one that parses arguments or prints: each subcommand calls the
library and renders what it returns. Only `HarnessError` is caught: it is printed as
`Error: ...` with exit status 1; usage errors exit 2 (argparse).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from harness import __version__
from harness.cli import coach, interop, kb, schemas, store
from harness.errors import HarnessError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Regression harness for ecommerce support agents. The gate"
        " is `pytest suites/`; these commands help while editing a store.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (store, kb, coach, interop, schemas):
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HarnessError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `harness run | head`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
