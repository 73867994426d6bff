"""What the typing rule and the fill values need of a column of numbers, in one pass:
``NumberStats`` (missing count, whether it holds only 0 and 1, its median).

``column_stats(values)`` for one column (n,); ``matrix_stats(parts)`` for every column of a
table's column-major parts (n_i, k) at once (a block of rows at a time; each column copied
contiguously, once, for its median).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NumberStats", "column_stats", "matrix_stats", "median"]

_VALUES = 1 << 20  # values of a block of rows (8 MB of float64), whatever the width


@dataclass(frozen=True)
class NumberStats:
    """A numeric column's facts: values present, missing, both 0 and 1 and nothing else."""

    present: int
    missing: int
    zero_one: bool
    median: float


def median(x: np.ndarray) -> float:
    """The median of x (n,), reordering x in place (np.median would copy it); 0 when empty."""
    n = len(x)
    if n == 0:
        return 0.0
    half = n // 2
    x.partition(half)  # one selection; the lower middle is then the largest of x[:half]
    return float(x[half]) if n % 2 else float((x[:half].max() + x[half]) / 2)


def column_stats(values: np.ndarray) -> NumberStats:
    """The facts of one column (n,) of float64 values (NaN: missing)."""
    return matrix_stats([np.asarray(values, dtype=np.float64).reshape(-1, 1)])[0]


def matrix_stats(parts: list[np.ndarray], skip: int | None = None) -> list[NumberStats]:
    """The facts of each column of the rows ``parts`` (n_i, k) float64 (NaN: missing; best
    column-major, as ``bpnn.tables.read`` makes them); the column ``skip`` (a target) gets no
    median."""
    k = parts[0].shape[1] if parts else 0
    n = sum(len(p) for p in parts)
    missing = np.zeros(k, dtype=np.int64)
    zero, one, other = np.zeros(k, bool), np.zeros(k, bool), np.zeros(k, bool)
    rows = max(1, _VALUES // max(k, 1))
    for part in parts:
        for start in range(0, len(part), rows):
            block = part[start : start + rows]
            gaps, is0, is1 = np.isnan(block), block == 0, block == 1
            missing += gaps.sum(axis=0)
            zero |= is0.any(axis=0)
            one |= is1.any(axis=0)
            other |= ~(gaps | is0 | is1).all(axis=0)
    medians = np.zeros(k)
    for j in range(k):
        if j != skip:
            x = np.concatenate([p[:, j] for p in parts])  # a copy: median reorders it
            medians[j] = median(x[~np.isnan(x)] if missing[j] else x)
    return [
        NumberStats(
            n - int(missing[j]),
            int(missing[j]),
            bool(zero[j] and one[j] and not other[j]),
            float(medians[j]),
        )
        for j in range(k)
    ]
