"""Data augmentation for digit images: every epoch sees each image moved by a few pixels.

Shifting a 28x28 digit by up to two pixels leaves its class unchanged and teaches a fully
connected network (which knows nothing of neighbouring pixels) that position does not matter --
the cheapest way to a lower test error.  Pixels moved in from outside the field are 0
(background), as in MNIST.

Not here: rotations, elastic distortions, anything for non-square or non-image inputs.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["random_shifts", "shift_images"]


def random_shifts(n: int, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) integer shifts (rows, columns), each uniform in -max_shift..max_shift."""
    return rng.integers(-max_shift, max_shift + 1, size=(n, 2)).astype(np.int8)


def shift_images(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each flattened square image moved by its (rows, columns) shift; a new array.

    images: (n, side * side); shifts: (n, 2) ints, positive = down / right.
    """
    n, size = images.shape
    side = math.isqrt(size)
    if side * side != size or shifts.shape != (n, 2):
        raise ValueError(
            f"need square images (n, side*side) and (n, 2) shifts, got {images.shape} "
            f"and {shifts.shape}"
        )
    src = images.reshape(n, side, side)
    out = np.zeros_like(src)
    pairs, which = np.unique(shifts, axis=0, return_inverse=True)
    for k, (dy, dx) in enumerate(pairs):  # one vectorised copy per distinct shift (25 for +-2)
        rows = np.flatnonzero(which.ravel() == k)
        out[rows, max(dy, 0) : side + min(dy, 0), max(dx, 0) : side + min(dx, 0)] = src[
            rows, max(-dy, 0) : side + min(-dy, 0), max(-dx, 0) : side + min(-dx, 0)
        ]
    return out.reshape(n, size)
