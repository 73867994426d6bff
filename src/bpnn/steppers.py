"""Steppers: the inner loop of training, one chunk of samples at a time.

A stepper owns the data (uint8 images, labels) and trains a network on the samples whose indices
it is given, in that order, in consecutive batches of ``batch_size`` (the last may be smaller).  It
returns the sum of the per-sample losses seen in the forward passes, so the trainer can show a
running loss and detect divergence without a second pass.

``NumpyStepper`` is the reference path: it calls ``Network.forward``/``backward`` and the optimiser,
exactly as a reader of ``bpnn.network`` would.  ``make_stepper`` picks the fastest stepper that
computes the same thing (``bpnn.fast``: compiled per-sample SGD, lean mini-batches) and falls back
to ``NumpyStepper`` when Numba is missing or the setup is outside the fast paths.

Targets: the ``squared`` loss trains towards ``on`` for the true class and ``off`` elsewhere (the
tutorial's 0.9 / 0.1); ``cross_entropy`` uses the class indices.
"""
from __future__ import annotations

import numpy as np

from . import fast
from .data.mnist import mnist_targets
from .network import Network
from .optim import Optimizer

__all__ = ["NumpyStepper", "make_stepper"]


class NumpyStepper:
    """Reference mini-batch (or per-sample, batch_size=1) training with plain NumPy.

    images: (n, n_inputs) uint8 (scaled by ``scale`` as batches are used); labels: (n,) ints.
    rng: drives dropout (and nothing else).
    """

    name = "numpy"

    def __init__(self, net: Network, optimizer: Optimizer, images: np.ndarray, labels: np.ndarray,
                 batch_size: int, rng: np.random.Generator, on: float = 0.9, off: float = 0.1,
                 scale: float = 1 / 255):
        self.net, self.optimizer = net, optimizer
        self.images, self.labels = images, labels
        self.batch_size, self.rng = int(batch_size), rng
        self.on, self.off, self.scale = on, off, scale
        self.dropout = any(layer.dropout > 0 for layer in net.layers)

    def targets(self, labels: np.ndarray) -> np.ndarray:
        net = self.net
        return mnist_targets(labels, net.loss, self.on, self.off, net.n_outputs, net.dtype)

    def __call__(self, idx: np.ndarray) -> float:
        net, params = self.net, self.net.params()
        total = 0.0
        for start in range(0, len(idx), self.batch_size):
            batch = idx[start:start + self.batch_size]
            X = self.images[batch].astype(net.dtype) * net.dtype.type(self.scale)
            T = self.targets(self.labels[batch])
            cache = net.forward(X, self.rng if self.dropout else None)
            total += float(net.loss_fn.value(cache.z, cache.outputs[-1], T).sum())
            grads = net.backward(cache, T)
            self.optimizer.step(params, [g for pair in grads for g in pair])
        return total


def make_stepper(net: Network, optimizer: Optimizer, images: np.ndarray, labels: np.ndarray,
                 batch_size: int, rng: np.random.Generator, on: float = 0.9, off: float = 0.1,
                 scale: float = 1 / 255, *, reference: bool = False):
    """The fastest stepper that computes what ``NumpyStepper`` computes for this setup.

    Results agree with the reference up to rounding (sums in another order).  ``reference=True``
    forces ``NumpyStepper``.  Every stepper has a ``name``.
    """
    if not reference:
        stepper = fast.fast_stepper(net, optimizer, images, labels, batch_size, rng, on, off, scale)
        if stepper is not None:
            return stepper
    return NumpyStepper(net, optimizer, images, labels, batch_size, rng, on, off, scale)
