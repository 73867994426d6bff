"""Where the whole-call loop of small networks beats the per-layer BLAS path, in one run.

    python benchmarks/small_nets.py [--rounds N] [--samples N] [--threads N] [--json FILE]

For each network shape, batch size and share of non-zero inputs (tables' defaults and around
them, MNIST's shapes: Adam, ReLU, float32, random inputs; "ple": a piecewise-linear encoding of
random features, 16 bins each, which the loop takes through its runs' differences), both
compiled mini-batch
steppers -- ``compiled-mini-batch`` (``bpnn.fast.batch``, its BLAS products: never from listed
inputs, which ``listed_layer0.py`` measures) and ``compiled-small-net``
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

from bpnn.binning import fit_edges, tables
from bpnn.device import limit_threads
from bpnn.fast import batch as mini_batch
from bpnn.fast import small
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.steppers import make_stepper

PLE_BINS = 16  # (the tables' default)
# (layer sizes, batch size, dropout of the hidden layers' inputs, share of non-zero inputs or
# "ple")
SHAPES = [
    ([9, 200, 1], 32, 0.3, 1.0),  # slid: the small-table regression default
    ([35, 200, 1], 32, 0.3, 0.3),  # males (one-hot levels)
    ([240, 100, 3], 32, 0.2, "ple"),  # penguins: ple inputs, classification default
    ([480, 100, 2], 32, 0.2, "ple"),  # breast cancer
    ([416, 100, 1], 32, 0.0, "ple"),  # diamonds' width (all numeric here: its one-hot levels
    # are a bin each, so diamonds itself visits a quarter of the share these do)
    ([416, 100, 1], 128, 0.0, "ple"),  # (in the large tables' batches of 128)
    ([240, 100, 3], 32, 0.2, 0.5),  # the same shapes with random inputs
    ([480, 100, 2], 32, 0.2, 0.5),
    ([416, 100, 1], 32, 0.0, 0.5),
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


def stepper(path: str, sizes, batch: int, dropout: float, X, T, bins: int):
    """A fresh network and Adam, stepped by ``path`` (SMALL_WORK set to choose it)."""
    small.SMALL_WORK = small.DEEP_WORK = 10**15 if path == "compiled-small-net" else -1
    drop = [0.0] + [dropout] * (len(sizes) - 2)
    net = Network(sizes, seed=0, activation="relu", init="he", dropout=drop, dtype=np.float32)
    opt, rng = make_optimizer("adam", 0.001), np.random.default_rng(1)
    chooses = mini_batch.listed_inputs
    mini_batch.listed_inputs = lambda X, sizes: None  # (BLAS: ``listed_layer0.py`` lists)
    try:
        step = make_stepper(net, opt, X, T, batch, rng, ple_bins=bins)
    finally:
        mini_batch.listed_inputs = chooses
    assert step.name == path, step.name
    return step


def inputs(gen, samples: int, width: int, density) -> np.ndarray:
    """Random inputs (samples, width) float32 with the share ``density`` non-zero, or ("ple") a
    piecewise-linear encoding of width / PLE_BINS normal features."""
    if density == "ple":
        raw = gen.standard_normal((samples, width // PLE_BINS))
        edges, _ = fit_edges(raw, PLE_BINS)
        return tables(edges, None, PLE_BINS, open_ends=True).ple(raw).astype(np.float32)
    X = gen.standard_normal((samples, width)).astype(np.float32)
    X[gen.random(X.shape) >= density] = 0
    return X


def measure(sizes, batch, dropout, density, rounds: int, samples: int) -> dict:
    gen = np.random.default_rng(0)
    X = inputs(gen, samples, sizes[0], density)
    bins = PLE_BINS if density == "ple" else 0
    T = gen.standard_normal((samples, sizes[-1])).astype(np.float32)
    order = gen.permutation(samples)
    paths = ("compiled-mini-batch", "compiled-small-net")
    steppers = {p: stepper(p, sizes, batch, dropout, X, T, bins) for p in paths}
    listed = steppers[paths[1]].nonzero  # (what the loop visits: ple's differences)
    share = len(listed.vals) / X.size if len(listed.ptr) else small.density(X)
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
        "visited": share,
        "work": small.work(sizes, batch, share),
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
        rows.append({**row, "threads": threads})
        share = f"ple ({row['visited']:.2f})" if density == "ple" else density
        print(
            f"| {'-'.join(map(str, sizes))} | {batch} | {dropout} | {share} | {row['work']:,} | "
            f"{row['blas_us']:.0f} | {row['small_us']:.0f} | "
            f"{row['small_us'] / row['blas_us']:.2f} |",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
