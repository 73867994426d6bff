"""What the typing rule and the fill values need of a column of numbers, in one pass:
``NumberStats`` (missing count, whether it holds only 0 and 1, its median).

``column_stats(values)`` for one column, given as one array (n,) or as its chunks (n_i,) (as
``bpnn.tables.read`` reads it): the column is copied once, for its median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NumberStats", "column_stats", "median"]


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


def column_stats(values: np.ndarray | list[np.ndarray]) -> NumberStats:
    """The facts of one column of numbers (NaN: missing): an array (n,) or its chunks (n_i,)."""
    chunks = [values] if isinstance(values, np.ndarray) else values
    x = np.concatenate(chunks, dtype=np.float64) if chunks else np.empty(0)  # a copy, reordered
    gaps = np.isnan(x)
    missing = int(np.count_nonzero(gaps))
    if missing:
        x = x[~gaps]
    if len(x) == 0:
        return NumberStats(0, missing, False, 0.0)
    # only 0 and 1, both present: the extremes tell at once for nearly every column
    zero_one = bool(x.min() == 0 and x.max() == 1 and np.all((x == 0) | (x == 1)))
    return NumberStats(len(x), missing, zero_one, median(x))
