"""Where the whole-call loop of small networks beats the per-layer BLAS path, in one run.

    python benchmarks/small_nets.py [--rounds N] [--samples N] [--threads N] [--json FILE]

For each network shape, batch size and share of non-zero inputs (tables' defaults and around
them, MNIST's shapes: Adam, ReLU, float32, random inputs), both compiled mini-batch
steppers -- ``compiled-mini-batch`` (``bpnn.fast.batch``) and ``compiled-small-net``
(``bpnn.fast.small``) -- train on the same samples, alternately, ``--rounds`` times; the figure
is each one's fastest call, in microseconds a step, and their ratio.  Work: the multiply-adds of
a batch's forward pass, counting the first layer's non-zero inputs only
(``bpnn.fast.small.work``), which ``bpnn.fast.small.SMALL_WORK`` bounds.
Run it with one BLAS thread (``OPENBLAS_NUM_THREADS=1``), as the table suite does, and with
the machine otherwise idle; ``--threads N`` gives the BLAS path N threads (the loop has one:
what a run with ``--threads N`` would weigh).  Needs the ``fast`` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from bpnn.device import limit_threads
from bpnn.fast import small
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.steppers import make_stepper

# (layer sizes, batch size, dropout of the hidden layers' inputs, share of non-zero inputs)
SHAPES = [
    ([9, 200, 1], 32, 0.3, 1.0),  # slid: the small-table regression default
    ([35, 200, 1], 32, 0.3, 0.3),  # males (one-hot levels)
    ([240, 100, 3], 32, 0.2, 0.5),  # penguins: ple inputs, classification default
    ([480, 100, 2], 32, 0.2, 0.5),  # breast cancer
    ([416, 100, 1], 32, 0.0, 0.5),  # diamonds: a large table's regression default
    ([120, 100, 1], 32, 0.0, 0.67),
    ([300, 300, 1], 32, 0.0, 0.67),
    ([300, 300, 1], 128, 0.0, 0.67),
    ([784, 100, 10], 32, 0.0, 0.67),
    ([784, 100, 10], 32, 0.0, 0.19),  # MNIST's share of non-zero pixels
    ([784, 300, 10], 128, 0.0, 0.19),
    ([784, 300, 10], 128, 0.0, 0.67),
    ([12, 16, 8, 3], 16, 0.1, 1.0),
    ([20, 32, 32, 2], 32, 0.0, 1.0),
    ([30, 64, 64, 1], 32, 0.2, 0.5),
    ([40, 64, 64, 1], 32, 0.0, 1.0),
    ([50, 100, 100, 1], 32, 0.0, 1.0),
    ([100, 256, 256, 1], 32, 0.0, 0.67),
]


def stepper(path: str, sizes, batch: int, dropout: float, X, T):
    """A fresh network and Adam, stepped by ``path`` (SMALL_WORK set to choose it)."""
    small.SMALL_WORK = small.DEEP_WORK = 10**15 if path == "compiled-small-net" else -1
    drop = [0.0] + [dropout] * (len(sizes) - 2)
    net = Network(sizes, seed=0, activation="relu", init="he", dropout=drop, dtype=np.float32)
    step = make_stepper(net, make_optimizer("adam", 0.001), X, T, batch, np.random.default_rng(1))
    assert step.name == path, step.name
    return step


def measure(sizes, batch, dropout, density, rounds: int, samples: int) -> dict:
    gen = np.random.default_rng(0)
    X = gen.standard_normal((samples, sizes[0])).astype(np.float32)
    X[gen.random(X.shape) >= density] = 0
    T = gen.standard_normal((samples, sizes[-1])).astype(np.float32)
    order = gen.permutation(samples)
    paths = ("compiled-mini-batch", "compiled-small-net")
    steppers = {p: stepper(p, sizes, batch, dropout, X, T) for p in paths}
    best = dict.fromkeys(paths, float("inf"))
    steps = -(-samples // batch)
    for p in paths:
        steppers[p](order[: batch * 2])  # compile or load the kernels
    for r in range(rounds):
        for p in paths if r % 2 == 0 else paths[::-1]:
            start = time.perf_counter()
            steppers[p](order)
            best[p] = min(best[p], (time.perf_counter() - start) / steps * 1e6)
    return {
        "sizes": sizes,
        "batch": batch,
        "dropout": dropout,
        "density": density,
        "work": small.work(sizes, batch, density),
        "blas_us": best[paths[0]],
        "small_us": best[paths[1]],
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="small_nets", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--samples", type=int, default=4096)
    p.add_argument("--threads", type=int, help="BLAS and Numba threads (default: as they are)")
    p.add_argument("--json", help="write the figures here too")
    args = p.parse_args(argv)
    with limit_threads(args.threads) as threads:
        table(args, threads)


def table(args, threads: int) -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}, "
        f"load {os.getloadavg()[0]:.2f}; threads {threads}; SMALL_WORK {small.SMALL_WORK:,}, "
        f"DEEP_WORK {small.DEEP_WORK:,}"
    )
    print("| sizes | batch | dropout | non-zero | work | BLAS path us | small-net us | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for sizes, batch, dropout, density in SHAPES:
        row = measure(sizes, batch, dropout, density, args.rounds, args.samples)
        rows.append(row)
        print(
            f"| {'-'.join(map(str, sizes))} | {batch} | {dropout} | {density} | {row['work']:,} | "
            f"{row['blas_us']:.0f} | {row['small_us']:.0f} | "
            f"{row['small_us'] / row['blas_us']:.2f} |",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
