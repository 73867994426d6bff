"""Rows of features for a model's predictions: ``read_rows(path, n_inputs, names)`` -> (n, d).

FILE is

- ``.npy``: one 2-D numeric array (n, n_inputs), read with ``allow_pickle=False``;
- anything else is read as CSV.  A first line with any field that is not a number is a header.
  When the model records its feature names (trained on a CSV file) and the file has a header,
  the model's columns are taken by name, in the model's order, and other columns (such as the
  target) are ignored; a header missing one of them is an error.  Otherwise (no header, or a
  model without feature names) every column is a feature, in order, and their number must equal
  the model's inputs.

Any unusable input (missing file, a cell that is not a number, wrong width, NaN or infinity) is
one ``BpnnError`` line naming the file (and the line and column, or row and column).  Nothing is
preprocessed here.  Not here: data sets for training (``bpnn.data.sources``), ``bpnn predict``
itself (``bpnn.commands.predict``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import BpnnError, FormatError
from .csvdata import csv_lines, parse_floats

__all__ = ["read_rows"]


def read_rows(path, n_inputs: int, names: list[str] | None = None) -> np.ndarray:
    """Features (n, n_inputs) float64 from a .npy or CSV file (see the module docstring)."""
    path = Path(path)
    if not path.exists() or path.is_dir():  # a pipe (<(...)) is fine: it is read once
        raise BpnnError(
            f"{path}: is a folder, not a file" if path.exists() else f"{path}: no such file"
        )
    X = _read_npy(path) if path.suffix.lower() == ".npy" else _read_csv(path, n_inputs, names)
    if X.shape[1] != n_inputs:
        raise BpnnError(f"{path}: {X.shape[1]} columns, but the model takes {n_inputs} inputs")
    return X


def _read_npy(path: Path) -> np.ndarray:
    """A 2-D finite numeric array from a .npy file (no pickles)."""
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
    bad = np.argwhere(~np.isfinite(X)) if X.dtype.kind == "f" else np.empty((0, 2))
    if len(bad):
        i, j = bad[0]
        raise FormatError(
            f"{path}: row {i}, column {j}: {X[i, j]} is not a finite number "
            f"({len(bad)} such value(s))"
        )
    return X.astype(np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _read_csv(path: Path, n_inputs: int, names: list[str] | None) -> np.ndarray:
    """Features from a CSV file: a header is a first line with a non-number; columns by name
    when the model has names and the file a header, else all columns in order."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text (is it a CSV file?)") from None
    lines = csv_lines(text)
    if not lines:
        raise FormatError(f"{path}: empty file")
    header = None
    if not all(_is_number(f) for f in lines[0][1]):
        header = [f.strip() for f in lines[0][1]]
        lines = lines[1:]
    if not lines:
        raise FormatError(f"{path}: no data rows after the header")
    columns = _columns(path, header, names, n_inputs, len(header or lines[0][1]))
    return _parse(path, lines, columns, header)


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


def _parse(path: Path, lines: list, columns: list[int], header: list[str] | None) -> np.ndarray:
    """(n, len(columns)) float64; the first bad field named by line and column."""
    width = len(header) if header is not None else len(lines[0][1])
    for line, row in lines:
        if len(row) != width:
            raise FormatError(
                f"{path}, line {line}: {len(row)} fields, but "
                f"{'the header has' if header else 'the first row has'} {width}"
            )
    table = [[row[j] for j in columns] for _, row in lines]

    def check(i: int, k: int) -> None:
        j = columns[k]
        _number(path, lines[i][0], table[i][k], header[j] if header else str(j + 1))

    return parse_floats(table, check)


def _number(path: Path, line: int, text: str, column: str) -> float:
    where = f"{path}, line {line}, column {column!r}"
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{where}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise FormatError(
            f"{where}: {text.strip()!r} is not a finite number (missing values are not filled in)"
        )
    return value
