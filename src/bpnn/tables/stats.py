"""What the typing rule and the fill values need of a column of numbers, in one pass:
``NumberStats`` (missing count, whether it holds only 0 and 1, its median).

``column_stats(values)`` for one column (n,); ``matrix_stats(matrix)`` for every column of a
table's matrix (n, k) at once, a block of rows at a time and a few columns' copies at a time,
so that the strided columns of a row-major matrix are never walked one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NumberStats", "column_stats", "matrix_stats", "median"]

_VALUES = 1 << 20  # values of a block of rows (8 MB of float64), whatever the width
_GROUP = 2  # columns copied out at once for their medians (2 x n float64)


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
    x.partition([half - 1, half] if n % 2 == 0 else [half])
    return float(x[half]) if n % 2 else float((x[half - 1] + x[half]) / 2)


def column_stats(values: np.ndarray) -> NumberStats:
    """The facts of one column (n,) of float64 values (NaN: missing)."""
    return matrix_stats(np.asarray(values, dtype=np.float64).reshape(-1, 1))[0]


def matrix_stats(matrix: np.ndarray, skip: int | None = None) -> list[NumberStats]:
    """The facts of each column of ``matrix`` (n, k) float64 (NaN: missing); the column
    ``skip`` (a target) gets no median."""
    n, k = matrix.shape
    block_rows = max(1, _VALUES // max(k, 1))
    missing = np.zeros(k, dtype=np.int64)
    zero, one, other = np.zeros(k, bool), np.zeros(k, bool), np.zeros(k, bool)
    for start in range(0, n, block_rows):
        block = matrix[start : start + block_rows]
        gaps, is0, is1 = np.isnan(block), block == 0, block == 1
        missing += gaps.sum(axis=0)
        zero |= is0.any(axis=0)
        one |= is1.any(axis=0)
        other |= ~(gaps | is0 | is1).all(axis=0)
    medians = np.zeros(k)
    for first in range(0, k, _GROUP):
        group = slice(first, min(k, first + _GROUP))
        copy = np.empty((group.stop - group.start, n))
        for start in range(0, n, block_rows):
            copy[:, start : start + block_rows] = matrix[start : start + block_rows, group].T
        for i, x in enumerate(copy):
            if first + i != skip:
                medians[first + i] = median(x[~np.isnan(x)] if missing[first + i] else x)
    return [
        NumberStats(
            n - int(missing[j]),
            int(missing[j]),
            bool(zero[j] and one[j] and not other[j]),
            float(medians[j]),
        )
        for j in range(k)
    ]
