"""What both fast steppers share: checked labels and indices, the constants array, layer codes."""
from __future__ import annotations

import numpy as np

from ..losses import check_labels
from ..network import Network
from ._kernels import ACT, C_HALF, C_OFF, C_ON, C_ONE, C_SCALE, C_ZERO, N_CONSTS


def checked_labels(labels: np.ndarray, n_images: int, n_outputs: int) -> np.ndarray:
    """Labels as (n,) intp; compiled code does not check bounds, so check them here once."""
    labels = check_labels(labels, n_outputs)
    if labels.shape != (n_images,):
        raise ValueError(f"labels must be ({n_images},) integers, got {labels.shape}")
    return labels


def checked_indices(idx, n_images: int) -> np.ndarray:
    """Sample indices as (k,) intp within 0..n_images-1 (compiled code would read anywhere)."""
    idx = np.asarray(idx)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"indices must be a 1-D integer array, got shape {idx.shape} {idx.dtype}")
    idx = idx.astype(np.intp, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= n_images):
        raise ValueError(f"indices must lie in 0..{n_images - 1}, got {idx.min()}..{idx.max()}")
    return np.ascontiguousarray(idx)


def constants(dtype, scale: float, on: float, off: float) -> np.ndarray:
    """The kernels' constants array in the network's dtype (learning rate and n set per call)."""
    c = np.zeros(N_CONSTS, dtype)
    c[C_SCALE], c[C_ON], c[C_OFF] = scale, on, off
    c[C_HALF], c[C_ONE], c[C_ZERO] = 0.5, 1.0, 0.0
    return c


def layer_codes(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """Each layer's activation code (softmax: unused, cross-entropy handles it) and leaky slope."""
    codes = np.array([ACT.get(layer.activation.name, ACT["identity"]) for layer in net.layers],
                     dtype=np.int64)
    alphas = np.array([getattr(layer.activation, "alpha", 0.0) for layer in net.layers],
                      dtype=net.dtype)
    return codes, alphas
