"""What each column of a table is: the typing rule, and the options that override it.

The rule, applied in this order to each column of the training data (``column_type``):

1. named by ``ignore`` (``--ignore``): left out;
2. an empty-named first column (the row names R's ``write.csv`` writes): left out;
3. named by ``numeric`` (``--numeric``): numeric (a value that is not a number is an error);
   named by ``categorical`` (``--categorical``): categorical, numbers taken as text;
4. no value at all (every field missing): left out;
5. every value a number: numeric; only 0 and 1: boolean (a constant number stays an input: it
   standardises to 0, and a table of numbers keeps exactly its inputs and weights);
6. one text value in every row (constant, nothing missing): left out;
7. text whose values, ignoring case, are one of the pairs yes/no, true/false, y/n, t/f:
   boolean (yes, true, y, t are 1);
8. text with a distinct value in every row, in ``ID_MIN_ROWS`` rows or more: an identifier,
   left out;
9. any other text: categorical.

Missing values (``bpnn.tables.read.MISSING`` and ``--missing``) never decide a type.
Not here: the fill values, levels and encodings (``bpnn.tables.schema``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import BpnnError
from .read import Column
from .stats import NumberStats

__all__ = ["BOOLEAN_PAIRS", "ID_MIN_ROWS", "TableOptions", "column_type", "numbers"]

ID_MIN_ROWS = 20  # fewer rows than this: a column of distinct text values is still categorical
BOOLEAN_PAIRS = (("yes", "no"), ("true", "false"), ("y", "n"), ("t", "f"))
TYPES = ("numeric", "boolean", "categorical")


@dataclass(frozen=True)
class TableOptions:
    """The user's overrides of the typing rule (column names) and extra missing-value tokens."""

    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @classmethod
    def of(cls, **given) -> TableOptions:
        """Options from keyword values: None, a comma-separated string, or a list of names."""
        return cls(**{k: _names(v) for k, v in given.items() if v is not None})

    def to_dict(self) -> dict:
        """The options that are set, as JSON lists (empty: none)."""
        return {k: list(v) for k, v in vars(self).items() if v}

    def check(self, names: Sequence[str], where: str) -> None:
        """BpnnError naming an option's column that the table lacks, or one named twice."""
        for option in ("categorical", "numeric", "ignore"):
            unknown = [n for n in getattr(self, option) if n not in names]
            if unknown:
                raise BpnnError(
                    f"--{option} {', '.join(unknown)}: no such column in {where} "
                    f"(columns: {', '.join(names)})"
                )
        both = set(self.categorical) & set(self.numeric)
        if both:
            raise BpnnError(f"{', '.join(sorted(both))}: named by both --categorical and --numeric")


def _names(value) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(n.strip() for n in value.split(",") if n.strip())
    return tuple(str(n) for n in value)


def numbers(column: Column) -> np.ndarray | None:
    """The column's values as float64 (n,), NaN where missing; None when a value is not a
    number (a text column is parsed)."""
    values = column.values()
    if column.kind != "text":
        return values.astype(np.float64, copy=False)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is not None:
            try:
                out[i] = float(v)
            except ValueError:
                return None
    return out


def column_type(
    name: str, first: bool, column: Column, options: TableOptions, stats: NumberStats | None
) -> tuple[str, str]:
    """(type, why) of a column by the rule of the module docstring: type is "numeric",
    "boolean", "categorical" or "left out" (why says which rule, for the log); ``stats``: the
    facts of a column of numbers (``bpnn.tables.stats``)."""
    if name in options.ignore:
        return "left out", "--ignore"
    if first and name == "":
        return "left out", "an empty-named first column: row names"
    if name in options.numeric:
        return "numeric", "--numeric"
    if name in options.categorical:
        return "categorical", "--categorical"
    if stats is not None:
        return _number_type(stats)
    values = column.values()
    present = values[_present(column, values)]
    if len(present) == 0:
        return "left out", "every value is missing"
    if numbers(column) is not None:
        return "numeric", "numbers written as text"
    distinct = np.unique(present.astype(str))
    if len(distinct) == 1 and len(present) == len(values):
        return "left out", f"constant ({distinct[0][:40]!r} in every row)"
    if boolean_pair(distinct) is not None:
        return "boolean", "yes/no text"
    if len(distinct) == len(values) and len(values) >= ID_MIN_ROWS:
        return "left out", "a distinct text value in every row: an identifier"
    return "categorical", "text"


def _number_type(stats: NumberStats) -> tuple[str, str]:
    """A column of numbers: numeric; boolean when it holds both 0 and 1 and nothing else."""
    if stats.present == 0:
        return "left out", "every value is missing"
    if stats.zero_one:
        return "boolean", "numbers 0 and 1"
    return "numeric", "numbers"


def _present(column: Column, values: np.ndarray) -> np.ndarray:
    if column.kind == "text":
        return np.array([v is not None for v in values], dtype=bool)
    return ~np.isnan(values.astype(np.float64, copy=False))


def boolean_pair(distinct) -> tuple[str, str] | None:
    """The (true, false) pair of ``BOOLEAN_PAIRS`` that holds every value (any case), or None."""
    lowered = {str(v).lower() for v in distinct}
    for pair in BOOLEAN_PAIRS:
        if lowered <= set(pair):
            return pair
    return None
