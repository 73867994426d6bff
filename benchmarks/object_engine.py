"""Per-sample speed of the object engine (bpnn.neurons) against the tutorial's object code.

Both train a 784-300-10 sigmoid network with squared error (the tutorial's MNIST setup: pixels
scaled to [0, 1], targets 0.9/0.1, rate 0.3) on the same few real MNIST samples, from the same
initial weights, one sample at a time.  The script times each, prints seconds per sample and the
ratio, and asserts that both end with the same weights (they compute the same thing; only the
sigmoid's rounding differs).

    python benchmarks/object_engine.py [--samples 3] [--data DIR] [--json]

MNIST is read from --data, else BPNN_DATA, else ../shared/data/mnist (the gzip IDX files).
Timings on a shared machine are noisy; the ratio, measured side by side, is what to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import tutorial_objects as tutorial  # the reference copy beside this script
from bpnn import Network, neurons, one_hot
from bpnn.data import load_mnist

ROOT = Path(__file__).resolve().parents[1]
SIZES = [784, 300, 10]
RATE = 0.3


def mnist_samples(folder: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n training images as rows (n, 784) in [0, 1] and their 0.9/0.1 target rows
    (n, 10)."""
    images, labels = load_mnist(folder, "train")
    return images[:n] / 255.0, one_hot(labels[:n], 10, on=0.9, off=0.1)


def tutorial_network(params: list[np.ndarray]) -> tutorial.Network:
    """The tutorial's Network with the weights W (n_out, n_in) and b (n_out,) copied in."""
    net = tutorial.Network(SIZES)
    for conn in net.connections.connections:
        down, up = conn.downstream_node, conn.upstream_node
        W, b = params[2 * (down.layer_index - 1)], params[2 * down.layer_index - 1]
        conn.weight = float(
            b[down.node_index]
            if isinstance(up, tutorial.ConstNode)
            else W[down.node_index, up.node_index]
        )
    return net


def tutorial_params(net: tutorial.Network) -> list[np.ndarray]:
    """Read the tutorial network's weights back into the vectorised layout."""
    params = [
        np.zeros(shape)
        for n_in, n_out in zip(SIZES[:-1], SIZES[1:])
        for shape in ((n_out, n_in), (n_out,))
    ]
    for conn in net.connections.connections:
        down, up = conn.downstream_node, conn.upstream_node
        if isinstance(up, tutorial.ConstNode):
            params[2 * down.layer_index - 1][down.node_index] = conn.weight
        else:
            params[2 * (down.layer_index - 1)][down.node_index, up.node_index] = conn.weight
    return params


def time_training(train_one, X: np.ndarray, T: np.ndarray) -> float:
    """Seconds per sample of ``train_one(x, t)`` over the rows."""
    start = time.perf_counter()
    for x, t in zip(X, T):
        train_one(x, t)
    return (time.perf_counter() - start) / len(X)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=3, help="samples to train on (default 3)")
    parser.add_argument("--data", type=Path, default=None, help="MNIST folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    folder = args.data or Path(os.environ.get("BPNN_DATA") or ROOT.parent / "shared/data/mnist")
    X, T = mnist_samples(folder, args.samples)

    start = Network(SIZES, activation="sigmoid", loss="squared", dtype=np.float64, seed=0).params()
    t0 = time.perf_counter()
    onet = neurons.ObjectNetwork(SIZES, seed=1)
    onet.set_params(start)
    build_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    tnet = tutorial_network(start)
    build_tutorial = time.perf_counter() - t0

    # The tutorial's own calling convention: Python lists, (label, sample, rate).
    ours = time_training(lambda x, t: onet.train_one_sample(x, t, RATE), X, T)
    theirs = time_training(lambda x, t: tnet.train_one_sample(t.tolist(), x.tolist(), RATE), X, T)

    diff = max(float(np.abs(a - b).max()) for a, b in zip(onet.params(), tutorial_params(tnet)))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(onet.params(), start))
    assert moved > 1e-6, "training did not change the weights"
    assert diff < 1e-12, f"the engines disagree: max weight difference {diff:.3g}"

    result = {
        "net": SIZES,
        "samples": args.samples,
        "tutorial_s_per_sample": theirs,
        "neurons_s_per_sample": ours,
        "speedup": theirs / ours,
        "max_weight_difference": diff,
        "build_s": {"tutorial": build_tutorial, "neurons": build_ours},
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"784-300-10, {args.samples} MNIST samples, one at a time (float64)")
        print(f"  tutorial object code : {theirs:8.4f} s per sample")
        print(f"  bpnn.neurons         : {ours:8.4f} s per sample")
        print(f"  speed-up             : {theirs / ours:8.1f}x")
        print(f"  max weight difference after training: {diff:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
