"""Seeded splits of ``range(n)``: the one draw the trainer, the CLI and library users share;
``Split``: one part of the data (features, targets, sample weights) as the trainer takes it.

Not here: what is split (``bpnn.data.sources``) or how the trainer uses it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import BpnnError
from ..network import sample_weights

__all__ = ["Split", "held_count", "split_indices"]


@dataclass
class Split:
    """Raw features X (n, d) (uint8 or float), the user's targets y (n,) or (n, k) and
    optional sample weights w (n,): training then minimises each batch's weighted mean loss,
    and evaluation weighs each sample's error."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.X) != len(self.y):
            raise BpnnError(f"{len(self.X)} samples but {len(self.y)} targets")
        if self.w is not None:
            self.w = sample_weights(self.w, len(self.y))

    def take(self, idx: np.ndarray) -> Split:
        """The samples ``idx`` (with their weights)."""
        return Split(self.X[idx], self.y[idx], None if self.w is None else self.w[idx])

    def total_weight(self) -> float:
        return float(len(self.y) if self.w is None else self.w.sum())

    def __len__(self) -> int:
        return len(self.y)


def held_count(n: int, size: int | float) -> int:
    """How many of ``n`` samples ``size`` holds out: a count (int >= 0) as is, or a fraction
    ``0 <= f < 1`` of ``n`` rounded down.

    The fraction is taken as the decimal it prints as (``Fraction(repr(f))``), so binary rounding
    never loses a sample: 0.29 of 100 is 29, not 28.  ValueError for anything else.
    """
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise ValueError(f"the held-out size must be a count or a fraction, got {size!r}")
    if isinstance(size, numbers.Integral):
        if size < 0:
            raise ValueError(f"the held-out count must be 0 or more, got {size}")
        return int(size)
    if not 0 <= size < 1:
        raise ValueError(f"the held-out fraction must be in [0, 1), got {size}")
    return math.floor(Fraction(repr(float(size))) * n)


def split_indices(
    n: int, size: int | float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(keep_idx, held_idx): ``held_count(n, size)`` random indices of ``range(n)`` held out.

    Both sorted and disjoint; together they are ``range(n)``.  One ``rng.permutation(n)`` is drawn
    (the first ``held`` positions are held out), so a seed gives the same split everywhere.
    ValueError when nothing would be left to keep.
    """
    held = held_count(n, size)
    if held >= n:
        raise ValueError(
            f"holding out {held} of {n} samples leaves nothing to keep "
            f"(hold out at most {max(n - 1, 0)})"
        )
    order = rng.permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])
