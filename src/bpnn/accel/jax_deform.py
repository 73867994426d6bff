"""The deformations of ``bpnn.deform`` inside the JAX program, per batch, on the device: the
same hashed numbers (uint32 arithmetic), the same field (two matrix products with the Gaussian's
matrices) and the same bilinear reads, within float32 rounding (the affine angles are computed
in float32 here, in float64 on the host), rounded to whole pixel values as the CPU path's uint8.

Traced inside ``jax.jit`` (``bpnn.accel.jax_stepper``); the deformation and image shape are
static, the epoch's seed and the batch's sample indices are traced.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..deform import GOLDEN, N_AFFINE, Deformation, smoothing_matrix

__all__ = ["deform_batch", "source_coords"]

HIGHEST = "highest"


def _mix(x):
    """lowbias32 on uint32 (wrapping, as the host's masked uint64)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _keys(seed, idx):
    return _mix(_mix(idx.astype(jnp.uint32) * jnp.uint32(GOLDEN) + seed.astype(jnp.uint32)))


def _hash(keys, counter):
    return _mix(keys[:, None] ^ (counter.astype(jnp.uint32)[None, :] * jnp.uint32(GOLDEN)))


def _field(keys, shape: tuple[int, int], d: Deformation):
    """(bs, 2, h, w) float32: alpha * Kh @ noise @ Kw^T."""
    h, w = shape
    bits = _hash(keys, jnp.arange(h * w, dtype=jnp.uint32))
    step = jnp.float32(2.0**-15)
    dy = (bits & jnp.uint32(0xFFFF)).astype(jnp.float32) * step - 1
    dx = (bits >> 16).astype(jnp.float32) * step - 1
    u = jnp.stack([dy, dx], axis=1).reshape(-1, 2, h, w)
    kh = jnp.asarray(smoothing_matrix(d.sigma, h))
    kw = jnp.asarray(smoothing_matrix(d.sigma, w))
    u = jnp.einsum("kcyx,wx->kcyw", u, kw, precision=HIGHEST)
    u = jnp.einsum("kcyx,hy->kchx", u, kh, precision=HIGHEST)
    return jnp.float32(d.alpha) * u


def _affine(keys, shape: tuple[int, int], d: Deformation):
    """(bs, 2, 2) matrices and (bs, 2) shifts, float32, as ``bpnn.deform.affine_parts``."""
    h, w = shape
    bits = _hash(keys, 2 * h * w + jnp.arange(N_AFFINE, dtype=jnp.uint32))
    m24 = (bits >> 8).astype(jnp.int32)
    u = m24.astype(jnp.float32) * jnp.float32(2.0**-23) - 1
    theta = jnp.deg2rad(d.rotate * u[:, 0])
    sy, sx = 1 + d.scale * u[:, 1], 1 + d.scale * u[:, 2]
    t = jnp.tan(jnp.deg2rad(d.shear * u[:, 3]))
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    m = jnp.stack(
        [
            jnp.stack([(cos - sin * t) * sy, -sin * sx], axis=1),
            jnp.stack([(sin + cos * t) * sy, cos * sx], axis=1),
        ],
        axis=1,
    )
    p = d.pixels
    shifts = ((m24[:, 4:6] * (2 * p + 1)) >> 24) - p
    return m.astype(jnp.float32), shifts.astype(jnp.float32)


def source_coords(seed, idx, shape: tuple[int, int], d: Deformation):
    """Where each output pixel reads: (bs, 2, h, w) float32, as ``bpnn.deform.source_coords``."""
    h, w = shape
    keys = _keys(jnp.asarray(seed), jnp.asarray(idx))
    m, s = _affine(keys, shape, d)
    cy, cx = np.float32((h - 1) / 2), np.float32((w - 1) / 2)
    py = jnp.arange(h, dtype=jnp.float32)[:, None] - cy
    px = jnp.arange(w, dtype=jnp.float32)[None, :] - cx
    m4 = m[:, :, :, None, None]
    y = cy + (m4[:, 0, 0] * py + m4[:, 0, 1] * px)
    x = cx + (m4[:, 1, 0] * py + m4[:, 1, 1] * px)
    if d.elastic:  # (in the host's order: the field, then the shift)
        disp = _field(keys, shape, d)
        y, x = y + disp[:, 0], x + disp[:, 1]
    return jnp.stack([y - s[:, 0, None, None], x - s[:, 1, None, None]], axis=1)


def deform_batch(rows, seed, idx, shape: tuple[int, int], d: Deformation):
    """rows (bs, h*w) pixel values (any dtype) of samples idx (bs,) deformed with the epoch's
    seed: (bs, h*w) float32 whole values in 0..255 (bilinear, 0 outside, rounded half up)."""
    h, w = shape
    c = source_coords(seed, idx, shape, d)
    y, x = c[:, 0].reshape(len(idx), -1), c[:, 1].reshape(len(idx), -1)
    y0, x0 = jnp.floor(y), jnp.floor(x)
    fy, fx = y - y0, x - x0
    iy, ix = y0.astype(jnp.int32), x0.astype(jnp.int32)
    img = rows.astype(jnp.float32)

    def at(yy, xx):
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        flat = jnp.clip(yy, 0, h - 1) * w + jnp.clip(xx, 0, w - 1)
        return jnp.where(inside, jnp.take_along_axis(img, flat, axis=1), 0.0)

    top = at(iy, ix) * (1 - fx) + at(iy, ix + 1) * fx
    bottom = at(iy + 1, ix) * (1 - fx) + at(iy + 1, ix + 1) * fx
    return jnp.clip(jnp.floor(top * (1 - fy) + bottom * fy + 0.5), 0, 255)
