"""Deformations of training images (``--augment elastic,affine,shift``): what they are, and the
NumPy reference that the compiled path (``bpnn.fast.deform``) and the JAX program
(``bpnn.accel.jax_deform``) compute too.

Each output pixel p = (row, col) of an (h, w) image is read, by bilinear interpolation (0
outside the image), at

    src(p) = c + M (p - c) + alpha * (G_sigma * U)(p) - s

c: the image's centre; M = R(theta) Sh(phi) diag(sy, sx), the affine part (rotation by theta,
then a shear of the columns by tan(phi) per row, with the rows and columns scaled by sy, sx);
U: a displacement field of (h, w, 2) numbers uniform in [-1, 1), smoothed by a Gaussian of width
sigma (separable, zero outside the image, normalised to sum 1) and scaled by alpha, as Simard,
Steinkraus & Platt (2003) describe; s: an integer shift (rows, columns).  Each sample draws
theta in [-rotate, rotate] degrees, sy and sx in [1 - scale, 1 + scale], phi in [-shear, shear]
degrees, s in -pixels..pixels.  Results are rounded to uint8 pixels (the training paths scale
uint8 inputs per batch, so a deformed epoch costs no more memory than the data).

Random numbers: not a generator's stream but a counter-based hash (``uniform``) of the epoch's
seed, the sample's index in the training split and the number's place in that sample, so that
any subset of samples, in any order, on the CPU or in a JAX program, gets the same numbers
(each epoch's seed is drawn from the run's generator and kept in its checkpoint).
Sample i's numbers: counters [0, h*w) the field (two 16-bit halves of each hash: rows and
columns parts), then 2*h*w + 0..5: theta, sy, sx, phi, and the shift's rows and columns.

Not here: parsing ``--augment`` (``bpnn.augment``), the compiled and JAX versions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Deformation",
    "field",
    "gaussian_kernel",
    "noise",
    "resample",
    "smooth",
    "smoothing_matrix",
    "source_coords",
    "uniform",
]

MASK = 0xFFFFFFFF
GOLDEN = 0x9E3779B9  # spreads the counter and the sample index over the 32 bits
N_AFFINE = 6  # theta, sy, sx, phi, shift rows, shift columns


@dataclass(frozen=True)
class Deformation:
    """What ``--augment`` asks of each training image (all zero: the image as it is).

    alpha, sigma: the elastic field's scale (pixels) and smoothing width (pixels; alpha 0: no
    field); rotate, shear: largest angles (degrees); scale: largest relative change per axis;
    pixels: largest integer shift.
    """

    alpha: float = 0.0
    sigma: float = 4.0
    rotate: float = 0.0
    scale: float = 0.0
    shear: float = 0.0
    pixels: int = 0

    @property
    def elastic(self) -> bool:
        return self.alpha > 0

    @property
    def affine(self) -> bool:
        return bool(self.rotate or self.scale or self.shear)


def _mix(x):
    """lowbias32 (C. Wellons' integer hash) on uint32 values held in uint64 (any shape)."""
    x = x & MASK
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    x ^= x >> 16
    return x


def uniform(seed: int, index: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """Numbers uniform in [-1, 1) (float32, multiples of 2**-23), one per (sample index,
    counter) pair (broadcast), a hash of the epoch's ``seed`` (a uint32)."""
    index = np.asarray(index, np.uint64)
    counter = np.asarray(counter, np.uint64)
    key = _mix(_mix(index * GOLDEN + np.uint64(seed & MASK)))
    bits = _mix(key ^ ((counter * GOLDEN) & MASK))
    return ((bits >> 8).astype(np.float32) * np.float32(2.0**-23) - np.float32(1.0)).astype(
        np.float32
    )


def gaussian_kernel(sigma: float, size: int) -> np.ndarray:
    """The normalised Gaussian taps (2r+1,) float32, r = ceil(3 sigma), at most size - 1."""
    r = min(math.ceil(3 * sigma), size - 1)
    k = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-0.5 * (k / sigma) ** 2)
    return (g / g.sum()).astype(np.float32)


def smoothing_matrix(sigma: float, size: int) -> np.ndarray:
    """(size, size) float32 K with K[a, b] the tap of b - a: K @ v is v smoothed, zero outside."""
    taps = gaussian_kernel(sigma, size)
    r = len(taps) // 2
    a, b = np.indices((size, size))
    return np.where(np.abs(b - a) <= r, taps[np.clip(b - a + r, 0, 2 * r)], 0).astype(np.float32)


def noise(seed: int, index: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The unsmoothed field (k, 2, h, w) float32, uniform in [-1, 1) in steps of 2**-15: pixel
    j's hash gives its rows part (low 16 bits) and its columns part (high 16 bits)."""
    h, w = shape
    index = np.asarray(index, np.uint64)
    key = _mix(_mix(index[:, None] * GOLDEN + np.uint64(seed & MASK)))
    bits = _mix(key ^ ((np.arange(h * w, dtype=np.uint64)[None, :] * GOLDEN) & MASK))
    halves = np.stack([bits & 0xFFFF, bits >> 16], axis=1).astype(np.float32)
    return (halves * np.float32(2.0**-15) - np.float32(1.0)).reshape(-1, 2, h, w)


def smooth(u: np.ndarray, sigma: float) -> np.ndarray:
    """u (k, 2, h, w) float32 smoothed by the Gaussian (Kh @ u @ Kw^T), as two matrix
    products over the whole stack (BLAS)."""
    k, _, h, w = u.shape
    kh, kw = smoothing_matrix(sigma, h), smoothing_matrix(sigma, w)
    cols = (u.reshape(-1, w) @ kw.T).reshape(k, 2, h, w)
    rows = np.ascontiguousarray(cols.transpose(0, 1, 3, 2)).reshape(-1, h) @ kh.T
    return np.ascontiguousarray(rows.reshape(k, 2, w, h).transpose(0, 1, 3, 2))


def field(seed: int, index: np.ndarray, shape: tuple[int, int], d: Deformation) -> np.ndarray:
    """The elastic displacements (k, 2, h, w) float32 (rows, columns) of samples ``index``
    (k,): alpha * Gaussian-smoothed uniform noise (zeros when alpha is 0)."""
    h, w = shape
    if not d.elastic:
        return np.zeros((len(index), 2, h, w), np.float32)
    return np.float32(d.alpha) * smooth(noise(seed, index, shape), d.sigma)


def affine_numbers(seed: int, index: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The (k, 6) uniform numbers of samples ``index`` for theta, sy, sx, phi and the shift."""
    at = 2 * shape[0] * shape[1]
    return uniform(seed, np.asarray(index)[:, None], at + np.arange(N_AFFINE)[None, :])


def affine_parts(u: np.ndarray, d: Deformation) -> tuple[np.ndarray, np.ndarray]:
    """(k, 2, 2) float32 matrices M and (k, 2) float32 integer shifts from (k, 6) numbers."""
    u64 = u.astype(np.float64)
    theta = np.deg2rad(d.rotate * u64[:, 0])
    sy, sx = 1 + d.scale * u64[:, 1], 1 + d.scale * u64[:, 2]
    t = np.tan(np.deg2rad(d.shear * u64[:, 3]))
    cos, sin = np.cos(theta), np.sin(theta)
    # R @ [[1, 0], [t, 1]] @ diag(sy, sx)
    m = np.empty((len(u), 2, 2))
    m[:, 0, 0] = (cos - sin * t) * sy
    m[:, 0, 1] = -sin * sx
    m[:, 1, 0] = (sin + cos * t) * sy
    m[:, 1, 1] = cos * sx
    p = d.pixels  # u's 24 bits m (u = m 2**-23 - 1) in 2p + 1 equal parts, in integers
    m24 = np.rint((u64[:, 4:6] + 1) * 2.0**23).astype(np.int64)
    steps = (m24 * (2 * p + 1)) >> 24
    return m.astype(np.float32), (steps - p).astype(np.float32)


def source_coords(
    seed: int, index: np.ndarray, shape: tuple[int, int], d: Deformation, disp=None
) -> np.ndarray:
    """Where each output pixel reads: (k, 2, h, w) float32 (rows, columns); disp: the field,
    if already made."""
    h, w = shape
    m, s = affine_parts(affine_numbers(seed, index, shape), d)
    cy, cx = np.float32((h - 1) / 2), np.float32((w - 1) / 2)
    py = np.arange(h, dtype=np.float32)[:, None] - cy
    px = np.arange(w, dtype=np.float32)[None, :] - cx
    disp = field(seed, index, shape, d) if disp is None else disp
    m4 = m[:, :, :, None, None]
    y = cy + (m4[:, 0, 0] * py + m4[:, 0, 1] * px) + disp[:, 0] - s[:, 0, None, None]
    x = cx + (m4[:, 1, 0] * py + m4[:, 1, 1] * px) + disp[:, 1] - s[:, 1, None, None]
    return np.stack([y, x], axis=1).astype(np.float32)


def resample(images: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Bilinear reads of images (k, h, w) at coords (k, 2, h, w), 0 outside; uint8 (k, h, w),
    rounded half up and clipped to 0..255."""
    k, h, w = images.shape
    y, x = coords[:, 0], coords[:, 1]
    y0, x0 = np.floor(y), np.floor(x)
    fy, fx = (y - y0).astype(np.float32), (x - x0).astype(np.float32)
    y0i, x0i = y0.astype(np.int64), x0.astype(np.int64)
    rows = np.arange(k)[:, None, None]

    def at(yy, xx):
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        v = images[rows, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)].astype(np.float32)
        return np.where(inside, v, np.float32(0))

    top = at(y0i, x0i) * (1 - fx) + at(y0i, x0i + 1) * fx
    bottom = at(y0i + 1, x0i) * (1 - fx) + at(y0i + 1, x0i + 1) * fx
    v = top * (1 - fy) + bottom * fy
    return np.clip(np.floor(v + np.float32(0.5)), 0, 255).astype(np.uint8)


def deform_reference(
    images: np.ndarray, shape: tuple[int, int], d: Deformation, seed: int, index=None
) -> np.ndarray:
    """The NumPy reference: images (k, h*w) uint8 deformed, (k, h*w) uint8; index: the
    samples' indices in the training split (default 0..k-1)."""
    k = len(images)
    index = np.arange(k) if index is None else np.asarray(index)
    coords = source_coords(seed, index, shape, d)
    return resample(images.reshape(k, *shape), coords).reshape(k, -1)
