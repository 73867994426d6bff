"""Dropout planned once: which layers drop inputs while training, at which rate, and their masks.

Inverted dropout on each layer's *input*: a unit is kept with probability keep = 1 - rate and
then scaled by 1 / keep, so nothing changes at prediction time.  Every training path reads the
same ``DropoutPlan``: the reference (``Network.forward`` draws its masks with ``mask``), the
compiled mini-batches (the same draws from the same generator, so a seeded run makes the same
masks) and the JAX program (``keeps`` and ``scales``, its masks drawn on the device).

Not here: the rates' checks and defaults (``bpnn.network.Layer``, ``bpnn.settings``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DropoutPlan", "mask"]


def mask(rate: float, rng: np.random.Generator | None, shape: tuple, dtype) -> np.ndarray | None:
    """The scale of each input (shape): 0 (dropped) or 1 / keep, drawn from ``rng``; None when
    nothing is dropped (rate 0, or no generator: not training)."""
    if rng is None or rate <= 0:
        return None
    keep = 1.0 - rate
    return ((rng.random(shape) < keep) / keep).astype(dtype)


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
