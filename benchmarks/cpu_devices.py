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
import time

import numpy as np

from bpnn.data import find_mnist, load_mnist
from bpnn.device import default_threads, limit_threads
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.steppers import make_stepper

CHUNK = 4096


def epoch_seconds(images, labels, hidden, device, epochs, dropout=0.0) -> float:
    net = Network(
        [784, *hidden, 10],
        activation="relu",
        loss="cross_entropy",
        init="he",
        dtype=np.float32,
        seed=0,
        dropout=dropout,
    )
    rng = np.random.default_rng(0)
    step = make_stepper(
        net, make_optimizer("momentum", 0.1), images, labels, 128, rng, scale=1 / 255, device=device
    )
    if hasattr(step, "sync"):
        step.sync_every_call = False
    n, chunk = len(images), 128 * (CHUNK // 128)
    order = rng.permutation(n)
    step(order[:chunk])  # compiles (or loads) the programs: the full chunk's shape ...
    step(order[: n % chunk or chunk])  # ... and the epoch's last, shorter one
    best = float("inf")
    for _ in range(epochs):
        order = rng.permutation(n)
        start = time.perf_counter()
        for s in range(0, n, chunk):
            step(order[s : s + chunk])
        if hasattr(step, "sync"):
            step.sync()
        best = min(best, time.perf_counter() - start)
    return best


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
