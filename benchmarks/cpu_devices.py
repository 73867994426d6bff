"""Seconds per MNIST epoch on this CPU: the compiled Numba mini-batch path with 1..N threads, and
the JAX program (the GPU's, every chunk of steps one XLA program) on JAX's CPU backend.

    python benchmarks/cpu_devices.py --data /path/to/mnist [--epochs 3] [--hidden 300]

784-300-10 (or --hidden), ReLU, softmax cross-entropy, momentum 0.9, batch 128, float32; the
trainer's chunks (32 batches a call); best of --epochs full epochs after a warm-up call.
Prints one JSON object.  Compare numbers of one run only: shared machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# this checkout's bpnn, installed or not (also for the child processes it starts)
SRC = str(Path(__file__).resolve().parents[1] / "src")
sys.path.insert(0, SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))

from bpnn.data import find_mnist, load_mnist
from bpnn.device import default_threads, limit_threads
from device_timing import bpnn_epoch


def epoch_seconds(images, labels, hidden, device, epochs, dropout=0.0) -> float:
    return bpnn_epoch(images, labels, hidden, dropout, device, epochs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="folder with the MNIST files")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--hidden", default="300", help="hidden sizes, e.g. 1200,1200")
    p.add_argument("--dropout", default="0", help="dropout per layer, e.g. 0.2,0.4,0.4")
    args = p.parse_args(argv)
    images, labels = load_mnist(find_mnist(args.data), "train")
    hidden = [int(h) for h in args.hidden.split(",")]
    drop = [float(d) for d in args.dropout.split(",")]
    dropout = drop[0] if len(drop) == 1 else drop
    results = {"hidden": hidden, "dropout": dropout, "cores": default_threads()}
    for threads in sorted({1, default_threads()}):
        with limit_threads(threads):
            results[f"numba, {threads} threads"] = epoch_seconds(
                images, labels, hidden, "cpu", args.epochs, dropout
            )
    try:
        results["jax-cpu"] = epoch_seconds(images, labels, hidden, "jax-cpu", args.epochs, dropout)
    except Exception as exc:  # JAX missing or broken: the Numba figures still count
        results["jax-cpu"] = f"failed: {exc}"
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
