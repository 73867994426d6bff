"""Fast steppers: the same training arithmetic as ``bpnn.steppers.NumpyStepper``, much faster.

- ``SampleStepper``: per-sample SGD (batch size 1, plain SGD, no dropout: the tutorial's
  algorithm) as one compiled Numba loop over the samples.  It keeps the first layer's weights
  input-major and visits only the non-zero inputs, in the forward product and in the update.
- ``BatchStepper``: mini-batches with preallocated buffers, BLAS products restricted to the
  inputs that are non-zero somewhere in the batch, and compiled element-wise steps (bias and
  activation, the loss and its delta, the optimiser's update) -- SGD, momentum, Nesterov, Adam,
  weight decay and dropout (drawing from the generator exactly as the reference does).

Both take inputs X (n, n_inputs) as uint8 pixels or floats (float32/float64, each batch is
``float(X) * scale``) and targets as rows T (n, n_outputs) of the network's dtype (class labels
are turned into rows by ``bpnn.steppers``); losses: squared error with any element-wise output
activation, softmax cross-entropy, sigmoid binary cross-entropy.

Both need Numba; ``unsupported_reason`` says why a setup is outside them (then ``NumpyStepper``
runs).  Results equal the reference path up to rounding: sums run in another order (and skip
exact zeros), every element-wise step rounds as NumPy does.

Between calls the network and the optimiser hold the current values; a stepper copies what it
keeps transposed in at the start of each call and back at the end.

Not here: the reference path, checking the data, the choice between paths (``bpnn.steppers``).
"""

from __future__ import annotations

import numpy as np

from ..job import Job
from ..network import Network
from ..optim import SGD, Adam, Optimizer

__all__ = ["fast_stepper", "jit_available", "unsupported_reason"]

_INPUT_DTYPES = (np.uint8, np.float32, np.float64)


def jit_available() -> bool:
    """True when Numba can be imported (checked on every call, so tests can hide it)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def unsupported_reason(net: Network, optimizer: Optimizer, X: np.ndarray) -> str | None:
    """Why no fast path applies to this setup (a short sentence), or None when one does.

    X: the (n, n_inputs) inputs.  The activations and losses say themselves whether the kernels
    have a branch for them (their ``code``); Numba, the inputs' layout and the optimiser's type
    can rule the fast paths out too.
    """
    if not jit_available():
        return "numba is not installed"
    if X.dtype not in _INPUT_DTYPES or X.ndim != 2 or not X.flags.c_contiguous:
        return f"inputs must be a C-contiguous 2-D uint8, float32 or float64 array, got {X.dtype}"
    if net.loss_fn.code is None:
        return f"loss {net.loss_name!r} has no fast path"
    for i, layer in enumerate(net.layers):
        act, last = layer.activation, i == len(net.layers) - 1
        # an output activation without a branch is fine when the loss's branch applies it
        if act.code is None and not (last and net.loss_fn.fused_output):
            return f"layer {i} activation {act.name!r} with loss {net.loss_name!r} has no fast path"
        if not (layer.W.flags.c_contiguous and layer.b.flags.c_contiguous):
            return f"layer {i} parameters are not C-contiguous"
    if type(optimizer) not in (SGD, Adam):
        return f"optimizer {type(optimizer).__name__} has no fast path"
    return None


def _per_sample(net: Network, optimizer: Optimizer, batch_size: int, weighted: bool) -> bool:
    """The tutorial's setup: batch size 1, plain SGD, no dropout, no sample weights."""
    rule = optimizer.rule()
    return (
        batch_size == 1
        and not weighted
        and rule.kind == SGD.code
        and rule.momentum == 0
        and rule.weight_decay == 0
        and all(layer.dropout == 0 for layer in net.layers)
    )


def fast_stepper(job: Job):
    """The fastest compiled stepper for a job (``bpnn.job.Job``) that ``unsupported_reason``
    accepts; its targets T: (n, n_outputs) C-contiguous rows of the network's dtype."""
    if _per_sample(job.net, job.optimizer, job.batch_size, job.weights is not None):
        from .sample import SampleStepper

        return SampleStepper(job)
    from .batch import BatchStepper

    return BatchStepper(job)
