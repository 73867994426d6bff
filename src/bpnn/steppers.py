"""Steppers: the inner loop of training, one chunk of samples at a time.

A stepper owns the data -- inputs X and targets -- and trains a network on the samples whose
indices it is given, in that order, in consecutive batches of ``batch_size`` (the last may be
smaller).  It returns the sum of the per-sample losses seen in the forward passes, so the trainer
can show a running loss and detect divergence without a second pass.

Inputs X (n, n_inputs): uint8 pixels or floats; each batch becomes ``float(X) * scale`` in the
network's dtype.  Targets, in one of two modes:

- label mode, class indices (n,): the loss's ``targets`` says what is trained towards --
  ``squared``: one-hot rows of ``on`` / ``off`` (the tutorial's 0.9 / 0.1),
  ``binary_cross_entropy``: one-hot rows of 1 / 0, ``cross_entropy``: the indices themselves;
- rows mode, float rows (n, n_outputs): regression values, multi-label 0/1 vectors or
  probabilities, used as they are (in the network's dtype).

``NumpyStepper`` is the reference path: it calls ``Network.forward``/``backward`` and the optimiser,
exactly as a reader of ``bpnn.network`` would.  ``make_stepper`` picks the fastest stepper that
computes the same thing (``bpnn.fast``: compiled per-sample SGD, lean mini-batches) and falls back
to ``NumpyStepper`` when Numba is missing or the setup is outside the fast paths; every stepper's
``fallback`` says why it runs NumPy (None when it does not, or when the reference was asked for).
``device`` (``bpnn.device``) picks the JAX program on a GPU or on JAX's CPU backend instead
(``bpnn.accel.jax_stepper``); ``device="cpu"`` (the default) is exactly the paths above.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import fast
from .device import Device, DeviceError, resolve_device
from .errors import BpnnError
from .job import Job, Stepper
from .limits import MAX_TARGET_ROWS_BYTES
from .losses import check_labels, one_hot
from .network import Network, sample_weights
from .optim import Optimizer

__all__ = ["NumpyStepper", "checked_data", "make_stepper"]


class NumpyStepper(Stepper):
    """Reference mini-batch (or per-sample, batch_size=1) training with plain NumPy.

    job: what to train (``bpnn.job.Job``), its targets (n,) class indices or (n, n_outputs) rows
    as ``checked_data`` returns them; on/off: the squared loss's targets for class labels.  With
    sample weights a call returns sum_i w_i E_i.
    """

    name = "numpy"

    def __init__(self, job: Job, *, on: float = 0.9, off: float = 0.1):
        net = self.net = job.net
        self.optimizer = job.optimizer
        self.X, self.targets = checked_data(net, job.X, job.T)
        self.weights = None if job.weights is None else sample_weights(job.weights, len(self.X))
        self.batch_size, self.rng = int(job.batch_size), job.rng
        self.on, self.off, self.scale = on, off, job.scale
        self.dropout = job.dropout.active  # Network.forward draws the masks when given rng

    def batch_targets(self, batch: np.ndarray) -> np.ndarray:
        """What the samples ``batch`` are trained towards (rows, or indices for cross-entropy)."""
        T = self.targets[batch]
        if T.ndim == 2:
            return T
        net = self.net
        return net.loss_fn.targets(T, net.n_outputs, self.on, self.off, net.dtype)

    def __call__(self, idx: np.ndarray) -> float:
        net, params = self.net, self.net.params()
        total = 0.0
        for start in range(0, len(idx), self.batch_size):
            batch = idx[start : start + self.batch_size]
            X = self.X[batch].astype(net.dtype) * net.dtype.type(self.scale)
            T = self.batch_targets(batch)
            w = None if self.weights is None else self.weights[batch]
            cache = net.forward(X, self.rng if self.dropout else None)
            values = net.loss_fn.value(cache.z, cache.outputs[-1], T)
            total += float(values.sum() if w is None else np.dot(w, values))
            grads = net.backward(cache, T, w)
            self.optimizer.step(params, grads)
        return total


def checked_data(net: Network, X, targets) -> tuple[np.ndarray, np.ndarray]:
    """X as a numeric (n, n_inputs) array; targets as (n,) intp class indices or C-contiguous
    (n, n_outputs) rows of the network's dtype.  A ValueError says what is wrong."""
    X, targets = np.asarray(X), np.asarray(targets)
    if X.ndim != 2 or X.shape[1] != net.n_inputs or X.dtype.kind not in "uif":
        raise ValueError(
            f"inputs must be a numeric (n, {net.n_inputs}) array, got {X.shape} {X.dtype}"
        )
    if targets.ndim == 1 and targets.dtype.kind in "iu":
        targets = check_labels(targets, net.n_outputs)
    elif targets.ndim == 2 and targets.dtype.kind == "f" and targets.shape[1] == net.n_outputs:
        targets = np.ascontiguousarray(targets, dtype=net.dtype)
    else:
        raise ValueError(
            f"targets must be ({len(X)},) class labels or ({len(X)}, "
            f"{net.n_outputs}) float rows, got {targets.shape} {targets.dtype}"
        )
    if len(targets) != len(X):
        raise ValueError(f"{len(X)} inputs but {len(targets)} targets")
    return X, targets


def target_rows(net: Network, targets: np.ndarray, on: float, off: float) -> np.ndarray:
    """Checked targets as (n, n_outputs) rows of the network's dtype: what the fast paths take.

    Label mode gives the loss's own targets; cross-entropy's indices become one-hot rows, which
    the fast paths' cross-entropy turns into exactly the same value and delta.
    """
    if targets.ndim == 2:
        return targets
    T = net.loss_fn.targets(targets, net.n_outputs, on, off, net.dtype)
    return T if T.ndim == 2 else one_hot(T, net.n_outputs, dtype=net.dtype)


def make_stepper(
    net: Network,
    optimizer: Optimizer,
    X: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
    on: float = 0.9,
    off: float = 0.1,
    reference: bool = False,
    weights: np.ndarray | None = None,
    device: str | Device | None = None,
    parallel_samples: int = 1,
    ple_bins: int = 0,
) -> Stepper:
    """The fastest stepper that computes what ``NumpyStepper`` computes for this setup.

    X: (n, n_inputs) uint8 or float; targets: (n,) class indices or (n, n_outputs) float rows
    (see the module docstring); scale: multiplies every input; on/off: the squared loss's
    label targets; weights: (n,) sample weights or None.  Results agree with the reference up
    to rounding (sums in another order).
    ``reference=True`` forces ``NumpyStepper``.  Every stepper has a ``name`` and a
    ``fallback``: None, or why the NumPy path runs although the fast one was wanted.
    device: None or "cpu" (NumPy and Numba), "cuda", "jax-cpu", "auto", or a resolved
    ``Device``; a JAX stepper keeps the weights on the device and writes them back into the
    network at ``sync()`` (after every call unless told otherwise).
    parallel_samples: P > 1 trains per-sample SGD on P threads without locks (Hogwild, not
    reproducible); a setup that is not the compiled per-sample path is refused (BpnnError).
    ple_bins: B > 1 when X is a piecewise-linear encoding of B bins a feature (``Job``).
    """
    X, targets = checked_data(net, X, targets)
    if weights is not None:
        weights = sample_weights(weights, len(X))
    job = Job(
        net, optimizer, X, targets, batch_size, rng, scale, weights, int(parallel_samples),
        int(ple_bins),
    )  # fmt: skip

    def rows() -> Job:  # the job with target rows: what the compiled and device paths take
        return replace(job, T=target_rows(net, targets, on, off))

    if device is not None and not isinstance(device, Device):
        device = resolve_device(device, net.dtype.name)
    if job.parallel_samples > 1:
        _check_hogwild(job, reference, device)
    too_big = _rows_too_big(net, targets)
    if device is not None and device.uses_jax:
        if reference:
            raise ValueError("the reference path runs on the CPU: give reference or a device")
        if too_big:
            raise DeviceError(f"--device {device.name}: {too_big}")
        return _jax_stepper(rows(), device)
    reason = None
    if not reference:
        reason = too_big or fast.unsupported_reason(net, optimizer, X)
        if reason is None:
            return fast.fast_stepper(rows())
    stepper = NumpyStepper(job, on=on, off=off)
    stepper.fallback = reason
    return stepper


def _rows_too_big(net: Network, targets: np.ndarray) -> str | None:
    """Why class indices (n,) cannot become dense (n, n_outputs) rows, or None."""
    if targets.ndim != 1:
        return None
    size = len(targets) * net.n_outputs * net.dtype.itemsize
    if size <= MAX_TARGET_ROWS_BYTES:
        return None
    return (
        f"{len(targets):,} samples of {net.n_outputs:,} classes would take {size / 2**30:.1f} "
        f"GiB as target rows (over MAX_TARGET_ROWS_BYTES); the NumPy path keeps class indices"
    )


def _check_hogwild(job: Job, reference: bool, device: Device | None) -> None:
    """One BpnnError line when Hogwild (``parallel_samples`` > 1) cannot run this job."""
    why: str | None
    if reference:
        why = "the reference path"
    elif device is not None and device.uses_jax:
        why = f"device {device.name}"
    else:
        why = fast.unsupported_reason(job.net, job.optimizer, job.X) or fast.per_sample_reason(job)
    if why:
        raise BpnnError(
            f"--parallel-samples {job.parallel_samples} runs only the compiled per-sample path "
            f"on the CPU (batch size 1, optimizer sgd, no weight decay, clipping, dropout or "
            f"sample weights): {why}"
        )


def _jax_stepper(job: Job, device: Device):
    """The JAX program's stepper on ``device``, or one DeviceError line saying why it cannot."""
    from .accel.jax_stepper import JaxStepper, unsupported_reason

    reason = unsupported_reason(job.net, job.optimizer)
    if reason is not None:
        raise DeviceError(f"--device {device.name}: {reason}")
    return JaxStepper(job, device.jax_device())
