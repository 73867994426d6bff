"""Rows of features for a model's predictions: ``read_rows(path, n_inputs, names)`` -> (n, d).

FILE is

- ``.npy``: one 2-D numeric array (n, n_inputs), read with ``allow_pickle=False``;
- anything else is read as CSV.  A first line with any field that is not a number, or holding
  every one of the model's feature names (columns named ``1,2,3``), is a header.
  When the model records its feature names (trained on a CSV file) and the file has a header,
  the model's columns are taken by name, in the model's order, and other columns (such as the
  target) are ignored; a header missing one of them is an error.  Otherwise (no header, or a
  model without feature names) every column is a feature, in order, and their number must equal
  the model's inputs.

Only regular files of at most ``MAX_CSV_BYTES`` are read (a pipe or ``/dev/zero`` never ends).
Any unusable input (missing file, a cell that is not a number, wrong width, NaN, infinity or a
value beyond float32's range) is
one ``BpnnError`` line naming the file (and the line and column, or row and column).  Nothing is
preprocessed here.  Not here: data sets for training (``bpnn.data.sources``), ``bpnn predict``
itself (``bpnn.commands.predict``).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from ..errors import BpnnError, FormatError
from ..limits import MAX_CSV_BYTES
from .csvread import FLOAT32_MAX, FloatTable, csv_rows, in_float32, regular_file, shown

__all__ = ["names_all", "read_rows"]


def read_rows(path, n_inputs: int, names: list[str] | None = None) -> np.ndarray:
    """Features (n, n_inputs) float64 from a .npy or CSV file (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise BpnnError(f"{path}: no such file")
    regular_file(path, MAX_CSV_BYTES)  # a pipe or /dev/zero would be read without end
    X = _read_npy(path) if path.suffix.lower() == ".npy" else _read_csv(path, n_inputs, names)
    if X.shape[1] != n_inputs:
        raise BpnnError(f"{path}: {X.shape[1]} columns, but the model takes {n_inputs} inputs")
    return X


def _read_npy(path: Path) -> np.ndarray:
    """A 2-D numeric array from a .npy file (no pickles), every value within float32's range."""
    try:
        X = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise FormatError(
            f"{path}: expected a 2-D (rows, features) array, got shape {getattr(X, 'shape', '?')}"
        )
    if X.dtype.kind not in "biuf":
        raise FormatError(f"{path}: features must be numbers, the array holds {X.dtype}")
    X = X.astype(np.float64)
    bad = np.argwhere(~(np.abs(X) <= FLOAT32_MAX))
    if len(bad):
        i, j = bad[0]
        why = "not a finite number" if not np.isfinite(X[i, j]) else "beyond float32's range"
        raise FormatError(
            f"{path}: row {i}, column {j}: {X[i, j]} is {why} ({len(bad)} such value(s))"
        )
    return X


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def names_all(first: list[str], names: list[str]) -> bool:
    """Whether the fields of a first row name every one of ``names`` (stripped)."""
    return set(names) <= {f.strip() for f in first}


def _is_header(first: list[str], names: list[str] | None) -> bool:
    """A first row is a header when a field is not a number, or when it is exactly the model's
    feature names (columns named ``1,2,3`` are still names)."""
    if names is not None and names_all(first, names):
        return True
    return not all(_is_number(f.strip()) for f in first)


def _read_csv(path: Path, n_inputs: int, names: list[str] | None) -> np.ndarray:
    """Features from a CSV file: a header is a first line with a non-number (or the model's
    names); columns by name when the model has names and the file a header, else all in order."""
    rows = csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise FormatError(f"{path}: empty file")
    header = None
    if _is_header(first[1], names):
        header = [f.strip() for f in first[1]]
        first = next(rows, None)
        if first is None:
            raise FormatError(f"{path}: no data rows after the header")
    width = len(header or first[1])
    columns = _columns(path, header, names, n_inputs, width)

    def check(line: int, k: int, text: str) -> None:
        j = columns[k]
        _number(path, line, text, header[j] if header else str(j + 1))

    table = FloatTable(len(columns), check)
    for line, row in itertools.chain([first], rows):
        if len(row) != width:
            raise FormatError(
                f"{path}, line {line}: {len(row)} fields, but "
                f"{'the header has' if header else 'the first row has'} {width}"
            )
        table.add(line, [row[j] for j in columns])
    return table.array()


def _columns(
    path: Path, header: list[str] | None, names: list[str] | None, n_inputs: int, width: int
) -> list[int]:
    """Indices of the feature columns, in the model's input order (width: columns in the file)."""
    if header is not None and names is not None:
        missing = [n for n in names if n not in header]
        if missing:
            raise FormatError(
                f"{path}: the header lacks the model's feature column(s) "
                f"{', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''} "
                f"(the model takes {', '.join(names[:10])}{', ...' if len(names) > 10 else ''})"
            )
        return [header.index(n) for n in names]
    if width != n_inputs:
        why = (
            "it records no feature names to pick columns by"
            if names is None
            else "the file has no header"
        )
        raise FormatError(f"{path}: {width} columns, but the model takes {n_inputs} inputs ({why})")
    return list(range(n_inputs))


def _number(path: Path, line: int, text: str, column: str) -> float:
    where = f"{path}, line {line}, column {column!r}"
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{where}: {shown(text.strip())} is not a number") from None
    if not math.isfinite(value):
        raise FormatError(
            f"{where}: {shown(text.strip())} is not a finite number "
            f"(missing values are not filled in)"
        )
    if not in_float32(value):
        raise FormatError(
            f"{where}: {shown(text.strip())} is beyond float32's range "
            f"(+-{FLOAT32_MAX:.3g}), in which networks compute"
        )
    return value
