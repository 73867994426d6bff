"""What both fast steppers share: checked indices, the constants array, layer and loss codes,
the update coefficients."""

from __future__ import annotations

import numpy as np

from ..activations import Activation
from ..network import Network
from ..optim import UpdateRule
from ._kernels import (
    C_HALF,
    C_ONE,
    C_SCALE,
    C_ZERO,
    IDENTITY,
    N_CONSTS,
    U_B1,
    U_B2,
    U_C1,
    U_C2,
    U_EPS,
    U_LR,
    U_MU,
    U_STEP,
    U_WD,
    U_ZERO,
)


def checked_indices(idx, n_samples: int) -> np.ndarray:
    """Sample indices as (k,) intp within 0..n_samples-1 (compiled code would read anywhere)."""
    idx = np.asarray(idx)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"indices must be a 1-D integer array, got shape {idx.shape} {idx.dtype}")
    idx = idx.astype(np.intp, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= n_samples):
        raise ValueError(f"indices must lie in 0..{n_samples - 1}, got {idx.min()}..{idx.max()}")
    return np.ascontiguousarray(idx)


def constants(dtype, scale: float) -> np.ndarray:
    """The kernels' constants array in the network's dtype (learning rate and n set per call)."""
    c = np.zeros(N_CONSTS, dtype)
    c[C_SCALE] = scale
    c[C_HALF], c[C_ONE], c[C_ZERO] = 0.5, 1.0, 0.0
    return c


def layer_codes(net: Network) -> tuple[np.ndarray, np.ndarray, int]:
    """Each layer's activation code and kernel parameter (n_layers,), and the loss code.

    An output activation without a code (softmax) is applied by its loss's branch
    (``Loss.fused_output``): it gets the identity's code, never read.
    """
    acts = [layer.activation for layer in net.layers]
    codes = np.array([IDENTITY if a.code is None else a.code for a in acts], dtype=np.int64)
    alphas = np.array([kernel_param(a) for a in acts], dtype=net.dtype)
    loss = net.loss_fn.code
    if loss is None:  # ruled out by unsupported_reason
        raise ValueError(f"loss {net.loss_name!r} has no fast path")
    return codes, alphas, loss


def kernel_param(act: Activation) -> float:
    """The one setting the kernels pass to an activation's branch (LeakyReLU's alpha), or 0."""
    values = list(act.params().values())
    if len(values) > 1:
        raise ValueError(f"the kernels take one setting per activation, {act!r} has more")
    return float(values[0]) if values else 0.0


def update_coefficients(rule: UpdateRule, out: np.ndarray) -> np.ndarray:
    """``out`` (N_COEFFS,) of the network's dtype filled from ``rule`` for the update kernels.

    Each scalar is rounded once to the dtype, as the NumPy path's float32 arithmetic rounds it;
    1 - beta1 and 1 - beta2 are formed in float64 first, as ``Adam.step`` forms them.
    """
    out[U_LR], out[U_MU], out[U_WD] = rule.lr, rule.momentum, rule.weight_decay
    out[U_STEP], out[U_B1], out[U_B2] = rule.step, rule.beta1, rule.beta2
    out[U_C1], out[U_C2], out[U_EPS], out[U_ZERO] = 1 - rule.beta1, 1 - rule.beta2, rule.eps, 0
    return out
