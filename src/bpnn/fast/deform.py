"""The deformations of ``bpnn.deform``, compiled: the hashed noise and the bilinear reads as
Numba loops over the images in parallel (``prange``), the Gaussian as two BLAS products over a
chunk of images (``bpnn.deform.smooth``).

Computes what ``bpnn.deform.deform_reference`` computes, in the same float32 steps (the noise
bit for bit, the field as the same matrix products, the reads in the same order), in chunks of
``CHUNK`` images so that the field (16 bytes a pixel) stays small.  Imported only with Numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..deform import Deformation, affine_numbers, affine_parts, smooth
from ._cache import cache_folder

__all__ = ["deform_images"]

CACHE, CACHE_NOTE = cache_folder(__file__)
CHUNK = 2048
_MASK = np.uint64(0xFFFFFFFF)
_LOW = np.uint64(0xFFFF)
_GOLDEN = np.uint64(0x9E3779B9)
_M1, _M2 = np.uint64(0x7FEB352D), np.uint64(0x846CA68B)
_S15, _S16 = np.uint64(15), np.uint64(16)


@njit(cache=CACHE, inline="always")
def _mix(x):
    x = x & _MASK
    x ^= x >> _S16
    x = (x * _M1) & _MASK
    x ^= x >> _S15
    x = (x * _M2) & _MASK
    x ^= x >> _S16
    return x


@njit(cache=CACHE, parallel=True)
def _noise(index, seed, out):
    """out (k, 2, h*w) float32: ``bpnn.deform.noise`` of samples index (k,)."""
    k, _, size = out.shape
    step, one = np.float32(2.0**-15), np.float32(1.0)
    for i in prange(k):
        key = _mix(_mix(np.uint64(index[i]) * _GOLDEN + seed))
        for j in range(size):
            bits = _mix(key ^ ((np.uint64(j) * _GOLDEN) & _MASK))
            out[i, 0, j] = np.float32(np.int64(bits & _LOW)) * step - one
            out[i, 1, j] = np.float32(np.int64(bits >> _S16)) * step - one


@njit(cache=CACHE, inline="always")
def _read(img, y, x, h, w):
    if 0 <= y < h and 0 <= x < w:
        return np.float32(img[y * w + x])
    return np.float32(0.0)


@njit(cache=CACHE, parallel=True)
def _resample(images, h, w, field, disp, mats, shifts, out):
    """out[i] (h*w) uint8: images[i] (h*w) uint8 read bilinearly at c + M_i (p - c) +
    disp[i] (2, h, w) - shifts[i] (2,), as ``bpnn.deform.source_coords`` and ``resample``
    (field False: no disp, which is then not read)."""
    n = images.shape[0]
    cy, cx = np.float32((h - 1) / 2), np.float32((w - 1) / 2)
    one, half = np.float32(1.0), np.float32(0.5)
    for i in prange(n):
        img = images[i]
        m00, m01, m10, m11 = mats[i, 0, 0], mats[i, 0, 1], mats[i, 1, 0], mats[i, 1, 1]
        for y in range(h):
            py = np.float32(y) - cy
            for x in range(w):
                px = np.float32(x) - cx
                sy = cy + (m00 * py + m01 * px)
                sx = cx + (m10 * py + m11 * px)
                if field:
                    sy, sx = sy + disp[i, 0, y, x], sx + disp[i, 1, y, x]
                sy, sx = sy - shifts[i, 0], sx - shifts[i, 1]
                y0, x0 = np.floor(sy), np.floor(sx)
                fy, fx = sy - y0, sx - x0
                iy, ix = int(y0), int(x0)
                top = _read(img, iy, ix, h, w) * (one - fx) + _read(img, iy, ix + 1, h, w) * fx
                bot = _read(img, iy + 1, ix, h, w) * (one - fx)
                bot = bot + _read(img, iy + 1, ix + 1, h, w) * fx
                v = np.floor(top * (one - fy) + bot * fy + half)
                out[i, y * w + x] = np.uint8(min(max(v, 0.0), 255.0))


def deform_images(
    images: np.ndarray, shape: tuple[int, int], d: Deformation, seed: int, index=None
) -> np.ndarray:
    """images (n, h*w) uint8 deformed as ``bpnn.deform.deform_reference`` does; (n, h*w) uint8.
    index: the samples' indices in the training split (default 0..n-1)."""
    n, (h, w) = len(images), shape
    index = np.arange(n, dtype=np.int64) if index is None else np.asarray(index, np.int64)
    images = np.ascontiguousarray(images, np.uint8)
    out = np.empty((n, h * w), np.uint8)
    for lo in range(0, n, CHUNK):
        part = slice(lo, min(lo + CHUNK, n))
        idx = index[part]
        mats, shifts = affine_parts(affine_numbers(seed, idx, shape), d)
        if d.elastic:
            u = np.empty((len(idx), 2, h * w), np.float32)
            _noise(idx, np.uint64(seed & 0xFFFFFFFF), u)
            disp = np.float32(d.alpha) * smooth(u.reshape(-1, 2, h, w), d.sigma)
        else:
            disp = np.zeros((1, 2, 1, 1), np.float32)  # (not read)
        _resample(images[part], h, w, d.elastic, disp, mats, shifts, out[part])
    return out
