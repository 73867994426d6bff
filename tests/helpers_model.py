"""Small models for the image, CLI, server and browser tests.

- ``tiny_model(path)``: an untrained 784-16-10 softmax net saved as a model file (schema tests).
- ``example_images()``: the images in ``examples/``, named after their digit (``WORDS``).
- ``mnist_net(folder)``: a 784-128-10 ReLU + softmax net trained for two epochs of mini-batch SGD
  on the real MNIST (about 97% test accuracy, a few seconds); cached per test session so several
  test files share one training run.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

import bpnn

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Example image names say which digit they show: examples/seven.jpg is a 7.
WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}


def example_images() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".jpg", ".png", ".gif"))


def read_idx(path: Path) -> np.ndarray:
    """A gzip IDX file of unsigned bytes as a numpy array (read independently of bpnn.data)."""
    raw = gzip.open(path).read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def tiny_model(path: Path, seed: int = 0) -> Path:
    net = bpnn.Network([784, 16, 10], activation="relu", loss="cross_entropy", init="he", seed=seed)
    bpnn.modelfile.save_model(path, net, {"note": "untrained test model"})
    return path


@functools.cache
def mnist_net(folder: Path, epochs: int = 2, seed: int = 0) -> bpnn.Network:
    X = read_idx(folder / "train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    y = read_idx(folder / "train-labels-idx1-ubyte.gz").astype(np.int64)
    rng = np.random.default_rng(seed)
    net = bpnn.Network(
        [784, 128, 10],
        activation="relu",
        loss="cross_entropy",
        init="he",
        dtype=np.float32,
        seed=rng,
    )
    opt = bpnn.SGD(lr=0.1, momentum=0.9)
    T = np.eye(10, dtype=np.float32)[y]
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 64):
            idx = order[start : start + 64]
            grads = net.gradient(X[idx], T[idx])
            opt.step(net.params(), grads)
    return net


def save_mnist_model(folder: Path, path: Path) -> Path:
    bpnn.modelfile.save_model(path, mnist_net(folder), {"note": "test model, 2 epochs"})
    return path
