"""What a stepper trains: ``Job``, the network and its optimiser with the data and its batches.

Every stepper (``bpnn.steppers.NumpyStepper``, the compiled ones in ``bpnn.fast``, the JAX one in
``bpnn.accel``) takes one, so the data's contract is written once, here, and so is what each
reads of the training: the optimiser's ``UpdateRule`` (``bpnn.optim``) and the ``dropout`` plan
(``bpnn.dropout``).  Not here: checking the data (``bpnn.steppers.checked_data``), choosing the
stepper (``bpnn.steppers.make_stepper``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dropout import DropoutPlan
from .network import Network
from .optim import Optimizer

__all__ = ["Job", "Stepper"]


@dataclass(frozen=True)
class Job:
    """net, optimizer: what is trained (the stepper changes their arrays in place).

    X: (n, n_inputs) uint8 or float inputs; each batch is used as ``float(X) * scale`` in the
    network's dtype.  T: the targets, (n,) class indices or (n, n_outputs) rows of the network's
    dtype (the compiled and JAX steppers take rows only).  batch_size: samples per step (the last
    batch of a call may be smaller).  rng: drives dropout and nothing else.  weights: (n,) sample
    weights, each batch training on its weighted mean loss sum_i w_i E_i / sum_i w_i, or None.
    parallel_samples: 1, or P > 1 for per-sample SGD on P threads sharing the weights without
    locks (Hogwild: not reproducible; only ``bpnn.fast.sample`` runs it, the others refuse it).
    ple_bins: B > 1 when X is a piecewise-linear encoding (``bpnn.binning``), each feature B
    consecutive bins (ones, a fraction, zeros), which the compiled small-network loop trains
    through their differences (``bpnn.fast._kernels.SmallRows``); 0: any inputs.
    """

    net: Network
    optimizer: Optimizer
    X: np.ndarray
    T: np.ndarray
    batch_size: int
    rng: np.random.Generator
    scale: float = 1.0
    weights: np.ndarray | None = None
    parallel_samples: int = 1
    ple_bins: int = 0

    @property
    def dropout(self) -> DropoutPlan:
        """Which layers drop inputs and how (the network's, read when a stepper is made)."""
        return DropoutPlan.of(self.net)


class Stepper:
    """What every stepper has besides ``__call__(idx) -> float`` (the sum of the losses of the
    samples ``idx`` (k,), trained on in consecutive batches).

    name: which path runs; fallback: None, or why the NumPy path runs although a faster one was
    wanted.  ``sync()`` makes the network and the optimiser hold the current values: a no-op where
    they always do; a device stepper copies them back from the device (after every call unless
    ``sync_every_call`` is False, as the trainer sets it to sync once an epoch).
    """

    name = "stepper"
    fallback: str | None = None
    sync_every_call = True

    def __call__(self, idx: np.ndarray) -> float:
        raise NotImplementedError

    def sync(self) -> None:
        """Nothing to do: this stepper trains the network's own arrays."""
