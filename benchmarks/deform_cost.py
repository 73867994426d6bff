"""Seconds spent deforming an epoch of MNIST against seconds spent training on it, on the CPU.

    python benchmarks/deform_cost.py [--data DIR] [--augment TEXT] [--nets 300 1500,1000]
                                     [--rounds N] [--limit N] [--json FILE]

For each hidden-layer list (default: 784-300-10, the tutorial's size, and 784-1500-1000-10,
the records preset's), one epoch of the 60,000 training images deformed as ``bpnn train
--augment`` does (``bpnn.augment.deform_epoch``: compiled with Numba, in parallel), and one
epoch of training on them as the trainer does (``make_stepper``: ReLU, softmax cross-entropy,
momentum 0.9, batch 128; the records net with the preset's dropout).  Each figure is the
fastest of ``--rounds`` (after a warm-up that compiles the kernels), wall-clock seconds, with the
CPU seconds (all threads) it took beside it: on a shared machine the wall-clock seconds grow
with the other jobs, the ratio of the CPU seconds much less.  The machine's CPU count, Numba's
threads and the load average are printed with them.  ``--limit N`` deforms and trains on the
first N images (both costs grow in proportion to N).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bpnn.augment import deform_epoch, deformation
from bpnn.data import load_idx_folder
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.presets import preset
from bpnn.steppers import make_stepper

SHARED = REPO.parent / "shared" / "data" / "mnist"


CPU: dict[str, float] = {}  # what each figure cost in CPU seconds (all threads), by name


def best_of(rounds: int, fn, name: str) -> float:
    """The fastest of ``rounds`` calls of fn, wall-clock seconds (its CPU seconds in CPU)."""
    times, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[name] = cpu[int(np.argmin(times))]
    return min(times)


def training_epoch(hidden: list[int], X, y, dropout) -> float:
    """Seconds of one training epoch of 784-hidden-10 (the fastest of two, after a warm-up)."""
    net = Network(
        [784, *hidden, 10],
        activation="relu",
        loss="cross_entropy",
        init="he",
        seed=0,
        dropout=dropout,
    )
    opt = make_optimizer("momentum", 0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    step = make_stepper(net, opt, X, y, 128, rng, scale=1 / 255)
    step(np.arange(1024))  # compiles or loads the kernels
    return best_of(2, lambda: step(rng.permutation(len(X))), "train")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="deform_cost", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("BPNN_DATA") or str(SHARED))
    p.add_argument("--augment", default=None, help="deformations (default: the records preset's)")
    p.add_argument("--nets", nargs="+", default=["300", "1500,1000"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, default=None, help="training images (default: all)")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)

    records = preset("records")
    text = args.augment or records["augment"]
    d = deformation(text)
    if d is None:
        p.error("--augment must name deformations (elastic, affine, shift)")
    images, labels, shape = load_idx_folder(args.data)
    X = np.ascontiguousarray(images[: args.limit])
    y = labels[: args.limit].astype(np.int64)
    deform_epoch(X[:256], shape, d, 0)  # compiles or loads the kernels
    seeds = iter(range(1, 100))
    deform_s = best_of(args.rounds, lambda: deform_epoch(X, shape, d, next(seeds)), "deform")

    try:
        import numba

        threads = numba.get_num_threads()
    except ImportError:
        threads = None
    print(
        f"{len(X)} images, augment {text}; {os.cpu_count()} CPUs, numba threads {threads}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"deforming an epoch: {deform_s:.2f} s ({CPU['deform']:.2f} CPU s)")
    rows = []
    for net in args.nets:
        hidden = [int(n) for n in net.split(",")]
        dropout = records["dropout"] if hidden == records["hidden"] else 0.0
        train_s = training_epoch(hidden, X, y, dropout)
        name = f"784-{'-'.join(map(str, hidden))}-10"
        rows.append({"net": name, "train_s": train_s, "train_cpu_s": CPU["train"]})
        print(
            f"{name}: training an epoch {train_s:.2f} s ({CPU['train']:.2f} CPU s); deforming "
            f"costs {deform_s / train_s:.0%} of it ({CPU['deform'] / CPU['train']:.0%} in CPU s)"
        )
    if args.json:
        result = {
            "augment": text,
            "images": len(X),
            "deform_s": deform_s,
            "deform_cpu_s": CPU["deform"],
            "nets": rows,
            "load_average": os.getloadavg()[0],
        }
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
