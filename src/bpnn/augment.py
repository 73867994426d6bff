"""Data augmentation for images: what ``--augment`` says, and the integer shifts.

``--augment N`` (an int, 0..4): every epoch sees each square image moved by up to N pixels.
Shifting a 28x28 digit by up to two pixels leaves its class unchanged and teaches a fully
connected network (which knows nothing of neighbouring pixels) that position does not matter --
the cheapest way to a lower test error.  Pixels moved in from outside the field are 0
(background), as in MNIST.

``--augment elastic,affine,shift`` (a text): the deformations of ``bpnn.deform``, for images of
any (h, w).  Comma-separated items, each a name, optionally ``name:key=value``; a ``key=value``
item sets a key of the name before it:

- ``elastic`` (alpha=34, sigma=4): Simard's elastic distortion, alpha pixels of smoothed noise;
- ``affine`` (rotate=10, scale=0.1, shear=10): rotation by up to +-rotate degrees, each axis
  scaled by 1 +- scale, columns sheared by up to +-shear degrees;
- ``shift`` (pixels=2): an integer shift by up to +-pixels.

``shift`` alone (``shift:pixels=N``) is ``--augment N``, the same run bit for bit.
E.g. ``elastic:alpha=34,sigma=4,affine:rotate=15,shift:pixels=1``.

Not here: the deformations' arithmetic (``bpnn.deform``, ``bpnn.fast.deform``, the JAX program).
"""

from __future__ import annotations

import math

import numpy as np

from .deform import Deformation

__all__ = [
    "DEFAULTS",
    "MAX_SHIFT",
    "deform_epoch",
    "deformation",
    "parse_augment",
    "random_shifts",
    "shift_images",
    "valid_augment",
]

MAX_SHIFT = 4
# each deformation's keys, their defaults, and the largest value each may take
DEFAULTS: dict[str, dict[str, float]] = {
    "elastic": {"alpha": 34.0, "sigma": 4.0},
    "affine": {"rotate": 10.0, "scale": 0.1, "shear": 10.0},
    "shift": {"pixels": 2},
}
_LIMITS = {"alpha": 200.0, "sigma": 50.0, "rotate": 180.0, "scale": 0.9, "shear": 60.0}


def _items(text: str) -> dict[str, dict[str, float]]:
    """``elastic:alpha=30,sigma=5,affine`` -> {"elastic": {alpha, sigma}, "affine": {...}};
    a ValueError (one line) for anything else."""
    chosen: dict[str, dict[str, float]] = {}
    last = ""
    for item in (t.strip() for t in text.split(",")):
        name, _, rest = item.partition(":")
        if name in DEFAULTS:
            if name in chosen:
                raise ValueError(f"augment names {name} twice")
            last, chosen[name] = name, dict(DEFAULTS[name])
            pairs = [p for p in rest.split(":") if p]
        elif "=" in item and last:
            pairs = [item]
        else:
            raise ValueError(
                f"augment items are {', '.join(DEFAULTS)} (name:key=value) or a number of "
                f"pixels, got {item!r}"
            )
        for pair in pairs:
            key, _, value = pair.partition("=")
            if key not in chosen[last]:
                keys = ", ".join(DEFAULTS[last])
                raise ValueError(f"augment {last} takes {keys}, got {key!r}")
            chosen[last][key] = _value(key, value)
    return chosen


def _value(key: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"augment {key} must be a number, got {text!r}") from None
    if key == "pixels":
        if not v.is_integer() or not 0 <= v <= MAX_SHIFT:
            raise ValueError(f"augment pixels must be a whole number in 0..{MAX_SHIFT}, got {text}")
        return int(v)
    high = _LIMITS[key]
    if not (math.isfinite(v) and 0 <= v <= high) or (key == "sigma" and v == 0):
        left = "(" if key == "sigma" else "["
        raise ValueError(f"augment {key} must be a number in {left}0, {high:g}], got {text}")
    return v


def parse_augment(text: str) -> int | str:
    """The command line's ``--augment``: a number of pixels (an int, today's shifts), or the
    deformations in full (every key written out); ``shift`` alone is its number of pixels."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    chosen = _items(text)
    if set(chosen) == {"shift"}:
        return int(chosen["shift"]["pixels"])
    return ",".join(
        name + ":" + ":".join(f"{k}={v:g}" for k, v in keys.items())
        for name, keys in chosen.items()
    )


def valid_augment(value) -> bool:
    """Whether ``value`` is an ``augment`` setting: an int 0..4, or deformations' text."""
    if isinstance(value, str):
        try:
            _items(value)
        except ValueError:
            return False
        return True
    return bool(
        not isinstance(value, bool)
        and isinstance(value, int | np.integer)
        and 0 <= value <= MAX_SHIFT
    )


def deformation(value: int | str) -> Deformation | None:
    """The deformations an ``augment`` text asks for; None for a number (the integer shifts)."""
    if not isinstance(value, str):
        return None
    chosen = _items(value)
    # (a name not given: none of it, Deformation's zeros)
    keys = {k: v for part in chosen.values() for k, v in part.items()}
    return Deformation(
        alpha=keys.get("alpha", 0.0),
        sigma=keys.get("sigma", 4.0),
        rotate=keys.get("rotate", 0.0),
        scale=keys.get("scale", 0.0),
        shear=keys.get("shear", 0.0),
        pixels=int(keys.get("pixels", 0)),
    )


def deform_epoch(
    images: np.ndarray, shape: tuple[int, int], d: Deformation, seed: int
) -> np.ndarray:
    """Every training image (n, h*w) uint8 deformed with the epoch's ``seed``: compiled and in
    parallel with Numba, else the NumPy reference (in chunks: its field is 8 bytes a pixel)."""
    try:
        from .fast.deform import deform_images
    except ImportError:
        from .deform import deform_reference

        out = np.empty_like(images)
        for lo in range(0, len(images), 1024):
            idx = np.arange(lo, min(lo + 1024, len(images)))
            out[idx] = deform_reference(images[idx], shape, d, seed, idx)
        return out
    return deform_images(images, shape, d, seed)


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
