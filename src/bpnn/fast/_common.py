"""What both fast steppers share: checked indices, the constants array, layer and loss codes."""

from __future__ import annotations

import numpy as np

from ..network import Network
from ._kernels import ACT, C_HALF, C_ONE, C_SCALE, C_ZERO, LOSS_CODES, N_CONSTS


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
    """Each layer's activation code and leaky slope (n_layers,), and the loss code.

    A softmax output gets the identity's code: the cross-entropy kernel applies the softmax.
    """
    codes = np.array(
        [ACT.get(layer.activation.name, ACT["identity"]) for layer in net.layers], dtype=np.int64
    )
    alphas = np.array(
        [getattr(layer.activation, "alpha", 0.0) for layer in net.layers], dtype=net.dtype
    )
    return codes, alphas, LOSS_CODES[net.loss_name]
