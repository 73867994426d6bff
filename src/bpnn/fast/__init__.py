"""Fast steppers: the same training arithmetic as ``bpnn.steppers.NumpyStepper``, much faster.

- ``SampleStepper``: per-sample SGD (batch size 1, plain SGD, no dropout: the tutorial's
  algorithm) as one compiled Numba loop over the samples.  It keeps the first layer's weights
  input-major and visits only the non-zero inputs, in the forward product and in the update.
- ``BatchStepper``: mini-batches with preallocated buffers, BLAS products restricted to the
  inputs that are non-zero somewhere in the batch (or, where few inputs are non-zero, layer 0
  from their lists on Numba's threads), and compiled element-wise steps (bias and
  activation, the loss and its delta, the optimiser's update) -- SGD, momentum, Nesterov, Adam,
  weight decay and dropout (drawing from the generator exactly as the reference does).
- ``SmallBatchStepper``: the same mini-batches for a small network (``small.is_small``), a
  whole call in one compiled loop, where calling BLAS per layer costs more than the arithmetic.

All three take inputs X (n, n_inputs) as uint8 pixels or floats (float32/float64, each batch is
``float(X) * scale``) and targets as rows T (n, n_outputs) of the network's dtype (class labels
are turned into rows by ``bpnn.steppers``); losses: squared error with any element-wise output
activation, softmax cross-entropy, sigmoid binary cross-entropy.

All need Numba; ``unsupported_reason`` says why a setup is outside them (then ``NumpyStepper``
runs): a loss, activation or optimiser class the kernels have no branch for, or a setting of the
optimiser's ``UpdateRule`` they do not read, is such a reason, never a silent default.
Results equal the reference path up to rounding: sums run in another order (and skip exact
zeros), every element-wise step rounds as NumPy does.

Between calls the network and the optimiser hold the current values; a stepper copies what it
keeps transposed in at the start of each call and back at the end.

Not here: the reference path, checking the data, the choice between paths (``bpnn.steppers``).
"""

from __future__ import annotations

import numpy as np

from ..job import Job
from ..network import Network
from ..optim import SGD, Optimizer

__all__ = ["fast_stepper", "jit_available", "per_sample_reason", "unsupported_reason"]

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

    X: the (n, n_inputs) inputs.  The kernels list the classes they have branches for and the
    fields of the update rule they read (``bpnn.fast._kernels``); Numba and the inputs' layout
    can rule the fast paths out too.
    """
    if not jit_available():
        return "numba is not installed"
    if X.dtype not in _INPUT_DTYPES or X.ndim != 2 or not X.flags.c_contiguous:
        return f"inputs must be a C-contiguous 2-D uint8, float32 or float64 array, got {X.dtype}"
    from ._common import missing_branch
    from ._kernels import OPTIMIZERS, RULE_FIELDS

    reason = missing_branch(net)
    if reason is not None:
        return reason
    for i, layer in enumerate(net.layers):
        if not (layer.W.flags.c_contiguous and layer.b.flags.c_contiguous):
            return f"layer {i} parameters are not C-contiguous"
    if type(optimizer) not in OPTIMIZERS:
        return f"optimizer {type(optimizer).__name__} has no fast path"
    ignored = optimizer.rule().ignored(RULE_FIELDS)
    if ignored:
        return f"optimizer setting {', '.join(ignored)} has no fast path"
    return None


def per_sample_reason(job: Job) -> str | None:
    """Why the job is not the tutorial's setup (batch size 1, plain SGD, no dropout, no sample
    weights), which the per-sample stepper runs, or None when it is."""
    rule = job.optimizer.rule()
    if job.batch_size != 1:
        return f"batch size {job.batch_size}"
    if job.weights is not None:
        return "sample weights"
    if not rule.plain:  # SGD with something more, or another optimiser
        extra = rule.ignored(("kind", "lr")) if isinstance(job.optimizer, SGD) else []
        return f"optimizer {job.optimizer.name}" + (f" with {', '.join(extra)}" if extra else "")
    if job.dropout.active:
        return "dropout"
    return None


def fast_stepper(job: Job):
    """The fastest compiled stepper for a job (``bpnn.job.Job``) that ``unsupported_reason``
    accepts; its targets T: (n, n_outputs) C-contiguous rows of the network's dtype."""
    if per_sample_reason(job) is None:
        from .sample import SampleStepper

        return SampleStepper(job)
    from .small import SmallBatchStepper, density, is_small, runs

    if is_small(job.net.sizes, min(job.batch_size, len(job.X)), density(job.X, chained=runs(job))):
        return SmallBatchStepper(job)
    from .batch import BatchStepper

    return BatchStepper(job)
