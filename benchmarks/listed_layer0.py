"""Layer 0 from the inputs' lists against BLAS on the compiled mini-batch path, in one run.

    python benchmarks/listed_layer0.py [--data DIR] [--rounds N] [--samples N] [--json FILE]

784-300-10 (ReLU, softmax cross-entropy, float32) in batches of 128, as ``bpnn train`` runs it:
on MNIST's pixels with plain SGD, momentum and Adam, and on random pixels with a given share
non-zero (plain SGD; their non-zero columns fall anywhere, so a batch's union of them is nearly
all 784, where MNIST's is about 530).  Each workload's two mini-batch steppers -- inputs listed
(``bpnn.fast.batch.listed_inputs``, chosen or forced) and BLAS (lists refused) -- train copies
of one network on the same samples, alternately, the order swapped every round, in calls of 32
batches as the trainer makes them, half a second apart (BLAS's threads spin a while after its
last call, holding a core the other stepper would use); each figure is the fastest round's
seconds per 10,000 samples, with the ratio listed / BLAS.  Threads as the trainer leaves them
(all cores; BLAS on one thread inside the listed stepper's calls); the machine is printed with
the table.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from bpnn.fast import batch
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.steppers import make_stepper

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
CALL = 32 * 128  # samples a call (the trainer's calls: 32 batches)
WORKLOADS = [("mnist", "sgd"), ("mnist", "momentum"), ("mnist", "adam")] + [
    (density, "sgd") for density in (0.1, 0.2, 0.3, 0.4, 0.5)
]


@contextlib.contextmanager
def lists(mode: str):
    """``listed_inputs`` as it chooses ("chosen"), listing any inputs ("forced"), or none."""
    chooses = batch.listed_inputs
    if mode == "forced":  # (also where the list outgrows the inputs, which the choice refuses)
        batch.listed_inputs = lambda X, sizes: batch.nonzero_rows(X, bounded=False)
    elif mode == "none":
        batch.listed_inputs = lambda X, sizes: None
    try:
        yield
    finally:
        batch.listed_inputs = chooses


def pixels(data: str, source, samples: int, gen) -> tuple[np.ndarray, np.ndarray]:
    """(samples, 784) uint8 pixels and labels: MNIST's training images, or random pixels with
    the share ``source`` non-zero."""
    if source == "mnist":
        with gzip.open(Path(data) / "train-images-idx3-ubyte.gz") as f:
            X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:samples].copy()
        with gzip.open(Path(data) / "train-labels-idx1-ubyte.gz") as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)[:samples].copy()
        return X, y
    X = gen.integers(1, 256, (samples, 784), dtype=np.uint8)
    X[gen.random(X.shape) >= source] = 0
    return X, gen.integers(0, 10, samples).astype(np.uint8)


def measure(X, y, opt: str, rounds: int) -> dict:
    net = Network([784, 300, 10], activation="relu", loss="cross_entropy", init="he", seed=0)
    steppers = {}
    for mode in ("listed", "BLAS"):
        with lists("forced" if mode == "listed" else "none"):
            optimizer = make_optimizer(opt, 0.001 if opt == "adam" else 0.1)
            rng = np.random.default_rng(1)
            steppers[mode] = make_stepper(net.copy(), optimizer, X, y, 128, rng, scale=1 / 255)
        assert (steppers[mode].listed is not None) == (mode == "listed")
    order = np.random.default_rng(2).permutation(len(X))
    best = dict.fromkeys(steppers, float("inf"))
    for step in steppers.values():
        step(order[:CALL])  # compile or load the kernels
    for r in range(rounds):
        for mode in list(steppers)[:: 1 if r % 2 == 0 else -1]:
            time.sleep(0.5)  # (BLAS's threads spin a while after its last call)
            start = time.perf_counter()
            for s in range(0, len(order), CALL):
                steppers[mode](order[s : s + CALL])
            best[mode] = min(best[mode], (time.perf_counter() - start) / len(order) * 10_000)
    with lists("chosen"):
        chosen = batch.listed_inputs(X, net.sizes) is not None
    return {"listed_s": best["listed"], "blas_s": best["BLAS"], "chosen": chosen}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="listed_layer0", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("BPNN_DATA") or str(SHARED))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--samples", type=int, default=30_000)
    p.add_argument("--json", help="write the figures here too")
    args = p.parse_args(argv)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}, "
        f"load {os.getloadavg()[0]:.2f}; LISTED_DENSITY {batch.LISTED_DENSITY}"
    )
    print("| inputs | non-zero | optimiser | listed s | BLAS s | listed / BLAS | lists chosen |")
    print("|---|---|---|---|---|---|---|")
    gen, rows = np.random.default_rng(0), []
    for source, opt in WORKLOADS:
        X, y = pixels(args.data, source, args.samples, gen)
        row = {"inputs": str(source), "optimizer": opt, **measure(X, y, opt, args.rounds)}
        row["density"] = float(np.count_nonzero(X) / X.size)
        rows.append(row)
        print(
            f"| {'MNIST' if source == 'mnist' else 'random'} | {row['density']:.2f} | {opt} | "
            f"{row['listed_s']:.3f} | {row['blas_s']:.3f} | "
            f"{row['listed_s'] / row['blas_s']:.2f} | {'yes' if row['chosen'] else 'no'} |",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
