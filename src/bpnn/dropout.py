"""Dropout planned once: which layers drop inputs while training, at which rate, and their masks.

Inverted dropout on each layer's *input*: a unit is kept with probability keep = 1 - rate and
then scaled by 1 / keep, so nothing changes at prediction time.  Every training path reads the
same ``DropoutPlan``: the reference (``Network.forward`` draws its masks with ``mask``), the
compiled mini-batches (the same draws from the same generator, so a seeded run makes the same
masks) and the JAX program (``keeps`` and ``scales``, its masks drawn on the device).

A mask's uniforms (``uniforms``) have 32 bits each, two from each 64-bit draw of the
generator's bit stream: half the draws of 53-bit floats, and the draws were half of a small
network's epoch (a 9-200-1 net in batches of 32).  A rate is then kept to within 2^-32.

Not here: the rates' checks and defaults (``bpnn.network.Layer``, ``bpnn.settings``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

__all__ = ["DropoutPlan", "check_generator", "draws", "halves", "mask", "thresholds", "uniforms"]

LOW_HALF = np.uint64(0xFFFFFFFF)
HALF_BITS = np.uint64(32)
UNIT = 2.0**-32  # a 32-bit integer times this: a uniform in [0, 1)


def mask(rate: float, rng: np.random.Generator | None, shape: tuple, dtype) -> np.ndarray | None:
    """The scale of each input (shape): 0 (dropped) or 1 / keep, drawn from ``rng``; None when
    nothing is dropped (rate 0, or no generator: not training)."""
    if rng is None or rate <= 0:
        return None
    keep = 1.0 - rate
    check_generator(rng)
    u = uniforms(rng, int(np.prod(shape))).reshape(shape)
    return ((u < keep) / keep).astype(dtype)


def check_generator(rng) -> None:
    """ValueError unless ``rng`` is a NumPy Generator whose bit generator draws 64 bits at a time
    (PCG64, bpnn's own, PCG64DXSM, Philox, SFC64): MT19937's raw draws hold 32 bits, and the
    masks take two uniforms from each draw."""
    bitgen = getattr(rng, "bit_generator", None)
    if bitgen is None or isinstance(bitgen, np.random.MT19937):
        raise ValueError(
            "dropout draws its masks from a numpy.random.Generator with a 64-bit bit generator "
            f"(PCG64, PCG64DXSM, Philox or SFC64), not {type(bitgen or rng).__name__}"
        )


def draws(n: int) -> int:
    """The 64-bit draws ``uniforms`` takes for n uniforms (a mask's: each mask starts a draw)."""
    return (n + 1) // 2


def uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """n uniforms (n,) float64 in [0, 1), 32 bits each: ``halves`` of ``draws(n)`` raw 64-bit
    draws from ``rng``'s bit generator, times 2^-32."""
    return halves(rng.bit_generator.random_raw(draws(n)))[:n] * UNIT


def halves(raw: np.ndarray) -> np.ndarray:
    """The 32-bit halves (2k,) uint32 of raw draws (k,) uint64, each draw's low half first (the
    compiled paths read a mask's uniforms from these: ``bpnn.fast.small``)."""
    if sys.byteorder == "little":
        return raw.view(np.uint32)  # (no copy: the halves lie in this order)
    out = np.empty((raw.size, 2), np.uint32)
    out[:, 0], out[:, 1] = raw & LOW_HALF, raw >> HALF_BITS
    return out.reshape(-1)


def thresholds(keeps) -> np.ndarray:
    """Per keep probability, the 32-bit integer bound (int64) below which ``halves`` keep a
    unit: h * 2^-32 < keep exactly when h < ceil(keep * 2^32) (scaling by 2^32 is exact)."""
    return np.ceil(np.asarray(keeps, dtype=np.float64) / UNIT).astype(np.int64)


@dataclass(frozen=True)
class DropoutPlan:
    """rates: each layer's input dropout rate (n_layers,), 0 where it drops nothing."""

    rates: tuple[float, ...]

    @classmethod
    def of(cls, net) -> DropoutPlan:
        """The plan of a network (``bpnn.network.Network``): its layers' ``dropout``."""
        return cls(tuple(float(layer.dropout) for layer in net.layers))

    @property
    def active(self) -> bool:
        """Whether any layer drops inputs (training then needs a random generator)."""
        return any(rate > 0 for rate in self.rates)

    @property
    def keeps(self) -> tuple[float, ...]:
        """Each layer's probability of keeping an input (1.0: no dropout)."""
        return tuple(1.0 - rate for rate in self.rates)

    def scales(self, dtype) -> tuple[float, ...]:
        """Each layer's kept-unit scale 1 / keep, computed in float64 and rounded to ``dtype``
        as ``mask`` rounds it; 0.0 where the layer drops nothing."""
        dt = np.dtype(dtype).type
        return tuple(
            float(dt(1.0 / k)) if rate > 0 else 0.0 for rate, k in zip(self.rates, self.keeps)
        )

    def mask(self, i: int, rng: np.random.Generator | None, shape: tuple, dtype):
        """Layer i's input mask (``mask``), or None."""
        return mask(self.rates[i], rng, shape, dtype)
