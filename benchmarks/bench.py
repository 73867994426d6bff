"""The speed comparison as a script (``make bench``): bpnn next to PyTorch, scikit-learn and the
tutorial's code (``benchmarks/harness.py`` says what is measured).

    python benchmarks/bench.py [--data DIR] [--epochs N] [--quick] [--json] [--out FILE]
                               [--no-torch] [--no-memory] [--device cpu|cuda|jax-cpu]

Without ``--data`` and ``BPNN_DATA`` it looks for MNIST in ``../shared/data/mnist`` beside the
repository first.  ``bpnn bench`` times bpnn's own paths alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # this checkout's bpnn, installed or not

import harness
from bpnn.commands.bench import add_arguments, check_epochs, write_report
from bpnn.device import resolve_device
from bpnn.errors import BpnnError


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    add_arguments(p)
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory training runs")
    args = p.parse_args(argv)
    shared = REPO.parent / "shared" / "data" / "mnist"
    if args.data is None and not os.environ.get("BPNN_DATA") and shared.is_dir():
        args.data = str(shared)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    check_epochs(args.epochs)
    try:
        if args.device not in (None, "cpu"):  # refused before minutes of CPU workloads
            resolve_device(args.device)
        report = run(args)
    except BpnnError as exc:  # --device cuda without a GPU, MNIST missing: one line
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    write_report(report, args.out)
    print(json.dumps(report) if args.json else harness.format_table(report))
    return 0


def run(args: argparse.Namespace) -> dict:
    return harness.benchmark(
        args.data,
        epochs=args.epochs,
        quick=args.quick,
        torch=not args.no_torch,
        memory=not args.no_memory,
        log=(lambda line: print(line, file=sys.stderr)),
        device=args.device,
    )


if __name__ == "__main__":
    sys.exit(main())
