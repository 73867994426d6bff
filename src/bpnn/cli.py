"""The ``bpnn`` command line: one sub-command per module in ``bpnn.commands``.

Each command module provides ``add_parser(subparsers)`` (which sets ``func``) and its ``run(args)``
returning an exit status.  Errors a user can cause (``BpnnError``, ``ValueError`` from checking
options, ``OSError`` from files) end with one line on stderr and exit status 2; ``--traceback``
shows the full trace instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import BpnnError

# Sub-commands in the order ``bpnn --help`` lists them.
COMMANDS = ["train", "evaluate", "info", "predict", "serve", "report", "export", "gradcheck", "bench",
            "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bpnn", description="Fully connected neural networks trained by backpropagation; "
        "MNIST digit recognition.")
    parser.add_argument("--version", action="version", version=f"bpnn {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full Python traceback on errors (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"bpnn.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("bpnn: interrupted", file=sys.stderr)
        return 130
    except (BpnnError, ValueError, OSError) as exc:
        if args.traceback:
            raise
        print(f"bpnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
