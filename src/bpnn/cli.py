"""The ``bpnn`` command line: one sub-command per module in ``bpnn.commands``.

Each command module provides ``add_parser(subparsers)`` (which sets ``func``) and its ``run(args)``
returning an exit status.  Errors a user can cause (``BpnnError``, ``ValueError`` from checking
options, ``OSError`` from files) end with one line on stderr and exit status 2; ``--traceback``
shows the full trace instead.  Output into a pipe that closes early (``bpnn evaluate | head``)
ends the command quietly, with exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import BpnnError

# Sub-commands in the order ``bpnn --help`` lists them.
COMMANDS = [
    "train",
    "sweep",
    "evaluate",
    "info",
    "predict",
    "serve",
    "report",
    "export",
    "gradcheck",
    "bench",
    "demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bpnn",
        description="Fully connected neural networks trained by backpropagation; "
        "MNIST digit recognition.",
        allow_abbrev=False,  # a shortened or mistyped option is an error, never a guess
    )
    parser.add_argument("--version", action="version", version=f"bpnn {__version__}")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="show the full Python traceback on errors (for bug reports)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"bpnn.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return status
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        print("bpnn: interrupted", file=sys.stderr)
        return 130
    except (BpnnError, ValueError, OSError) as exc:
        if args.traceback:
            raise
        print(f"bpnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that Python's final flush of what is still
    buffered for the closed pipe does not fail again (the idiom of Python's signal docs)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
