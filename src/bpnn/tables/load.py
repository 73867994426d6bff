"""A table file (or a training file and a test file) as a ``Dataset``: targets split off, rows
without a target left out, the schema fitted (or a model's applied) and the inputs encoded.

``table_dataset(paths, target, options, schema)``: the target is the column named ``target``
(default: the last).  Its type: every value an integer -> int64 labels; every value a number ->
float64 values; else str labels (so write classes as ``3``, not ``3.0``), decided over all files
together.  A row whose target is missing is left out (counted in the notes).  The schema
(``bpnn.tables.schema``) is fitted on the first file (the training data; a ``--test`` file never
informs it), or is the one given (a model's, to evaluate it on new data).

Not here: reading the files (``bpnn.tables.read``), choosing the format (``bpnn.data.sources``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..data.dataset import Dataset
from ..errors import BpnnError, FormatError
from .read import Column, Table, read_table
from .schema import TableSchema, check_float32
from .types import TableOptions

__all__ = ["table_dataset", "target_values"]

_INTEGER = re.compile(r"[+-]?\d+")


def table_dataset(
    paths: list[Path],
    target: str | None,
    options: TableOptions | None = None,
    schema: TableSchema | None = None,
) -> Dataset:
    """Training (and test) sets of one (or two) table files (see the module docstring)."""
    options = schema.options if schema is not None else (options or TableOptions())
    tables = [read_table(path, options.missing) for path in paths]
    name = _target_name(tables[0], target)
    for other in tables[1:]:
        _target_name(other, name)
    ys = target_values(tables, name)
    # integers with gaps are read as floats: whole numbers once the gaps are left out
    integral = all(t.column(name).kind == "int" or t.column(name).integral for t in tables)
    notes = []
    for k, (table, y) in enumerate(zip(tables, ys)):
        keep = ~_missing(y)
        if not keep.all():
            notes.append(
                f"{table.where}: {int((~keep).sum())} row(s) whose target {name!r} is missing "
                f"left out"
            )
            tables[k], ys[k] = table.take(keep), y[keep]
            if not keep.any():
                raise BpnnError(f"{table.where}: every row's target {name!r} is missing")
    ys = _typed(ys, integral)
    fitted = schema or TableSchema.fit(tables[0], name, options)
    if schema is None:
        notes += ["columns (typed on the training data):", *fitted.describe()]
    X = [fitted.encode(table, consume=True) for table in tables]
    X_test, y_test = (X[1], ys[1]) if len(X) > 1 else (None, None)
    source = " + ".join(str(p.resolve()) for p in paths)
    data = Dataset(X[0], ys[0], X_test, y_test, source, "tabular", None, fitted.inputs(), [name])
    data.schema, data.notes = fitted, notes
    return data


def _target_name(table: Table, target: str | None) -> str:
    """The target column's name (default: the last); the header checked for names."""
    names, where = table.names, table.where
    blank = [j for j, n in enumerate(names) if n == "" and j > 0]
    if blank:
        raise FormatError(f"{where}: column {blank[0] + 1} of the header has no name")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise FormatError(f"{where}: the header names column(s) {', '.join(twice)} more than once")
    if len(names) < 2:
        raise FormatError(
            f"{where}: the header has {len(names)} column: a data set needs at least one "
            f"feature column and a target column"
        )
    if target is None:
        return names[-1]
    if target == "" and names[0] == "":
        raise BpnnError(
            f"{where}: the empty-named first column holds row names (as R writes them), not a "
            f"target: name a column with --target"
        )
    if target not in names:
        raise BpnnError(
            f"{where}: no column named {target!r} for the target (columns: {', '.join(names)})"
        )
    return target


def _missing(y: np.ndarray) -> np.ndarray:
    if y.dtype == object:
        return np.array([v is None for v in y], dtype=bool)
    return np.isnan(y) if y.dtype.kind == "f" else np.zeros(len(y), dtype=bool)


def target_values(tables: list[Table], name: str) -> list[np.ndarray]:
    """Each table's target column (n_i,): numbers (NaN: missing) when every table's column is
    numeric, else text (None: missing); a number float32 cannot hold is one error line."""
    columns = [t.column(name) for t in tables]
    if all(c.kind != "text" for c in columns):  # copies: the table's matrix may become X
        ys = [np.array(c.values(), dtype=np.int64 if c.kind == "int" else None) for c in columns]
        for y, table in zip(ys, tables):
            check_float32(y, table, name)
        return ys
    return [_as_text(c) for c in columns]


def _as_text(column: Column) -> np.ndarray:
    values = column.values()
    if column.kind == "text":
        return values
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        out[i] = None if v != v else (str(int(v)) if column.kind == "int" else repr(v))
    return out


def _typed(ys: list[np.ndarray], integral: bool = False) -> list[np.ndarray]:
    """The targets (missing ones removed) as one type over all files: int64 labels when every
    value is an integer (``integral``: every file's column of numbers was written as integers,
    with gaps), float64 values when every one is a number, else str labels."""
    if all(y.dtype != object for y in ys):
        if integral or all(y.dtype.kind in "iu" for y in ys):
            return [y.astype(np.int64) for y in ys]
        return [y.astype(np.float64, copy=False) for y in ys]
    text = [[str(v) for v in y] for y in ys]
    if all(_INTEGER.fullmatch(v) for t in text for v in t):
        try:
            return [np.array([int(v) for v in t], dtype=np.int64) for t in text]
        except OverflowError:
            pass
    try:
        return [np.array([float(v) for v in t], dtype=np.float64) for t in text]
    except ValueError:
        return [np.array(t, dtype=str) for t in text]
