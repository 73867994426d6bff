"""Fast steppers: the same training arithmetic as ``bpnn.steppers.NumpyStepper``, much faster.

- ``SampleStepper``: per-sample SGD (batch size 1, plain SGD, no dropout: the tutorial's
  algorithm) as one compiled Numba loop over the samples.  It keeps the first layer's weights
  input-major and visits only the non-zero pixels, in the forward product and in the update.
- ``BatchStepper``: mini-batches with preallocated buffers, BLAS products restricted to the
  pixels that are non-zero somewhere in the batch, and compiled element-wise steps (bias and
  activation, softmax cross-entropy, the optimiser's update) -- SGD, momentum, Nesterov, Adam,
  weight decay and dropout (drawing from the generator exactly as the reference does).

Both need Numba; ``fast_stepper`` returns None when Numba is missing or the setup is outside what
they cover (then ``NumpyStepper`` runs).  Results equal the reference path up to rounding: sums
run in another order (and skip exact zeros), every element-wise step rounds as NumPy does.

Between calls the network and the optimiser hold the current values; a stepper copies what it
keeps transposed in at the start of each call and back at the end.

Not here: the reference path and the choice between paths (``bpnn.steppers.make_stepper``).
"""
from __future__ import annotations

import numpy as np

from ..network import Network
from ..optim import SGD, Adam, Optimizer

__all__ = ["jit_available", "fast_stepper", "unsupported_reason"]

_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")


def jit_available() -> bool:
    """True when Numba can be imported (checked on every call, so tests can hide it)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def unsupported_reason(net: Network, optimizer: Optimizer, images: np.ndarray,
                       batch_size: int) -> str | None:
    """Why no fast path applies to this setup, or None when one does."""
    if not jit_available():
        return "numba is not installed"
    if images.dtype != np.uint8 or images.ndim != 2 or not images.flags.c_contiguous:
        return f"images must be a C-contiguous (n, n_inputs) uint8 array, got {images.dtype}"
    for i, layer in enumerate(net.layers):
        name, last = layer.activation.name, i == len(net.layers) - 1
        ok = name in _ACTIVATIONS or (last and name == "softmax" and net.loss == "cross_entropy")
        if not ok:
            return f"layer {i} activation {name!r} with loss {net.loss!r} has no fast path"
        if not (layer.W.flags.c_contiguous and layer.b.flags.c_contiguous):
            return f"layer {i} parameters are not C-contiguous"
    if type(optimizer) not in (SGD, Adam):
        return f"optimizer {type(optimizer).__name__} has no fast path"
    return None


def _per_sample(net: Network, optimizer: Optimizer, batch_size: int) -> bool:
    """The tutorial's setup: batch size 1, plain SGD, no dropout."""
    return (batch_size == 1 and type(optimizer) is SGD and optimizer.momentum == 0
            and optimizer.weight_decay == 0 and all(layer.dropout == 0 for layer in net.layers))


def fast_stepper(net: Network, optimizer: Optimizer, images: np.ndarray, labels: np.ndarray,
                 batch_size: int, rng: np.random.Generator, on: float = 0.9, off: float = 0.1,
                 scale: float = 1 / 255):
    """The fastest compiled stepper for this setup, or None when none applies."""
    images = np.asarray(images)
    if unsupported_reason(net, optimizer, images, batch_size) is not None:
        return None
    if _per_sample(net, optimizer, batch_size):
        from .sample import SampleStepper
        return SampleStepper(net, optimizer, images, labels, on, off, scale)
    from .batch import BatchStepper
    return BatchStepper(net, optimizer, images, labels, batch_size, rng, on, off, scale)
