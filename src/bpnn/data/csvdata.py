"""CSV data sets as bpnn reads them: numbers with the first bad field named by line and column.

- ``read_csv`` / ``csv_dataset``: a CSV data set, strictly, by the rules ``bpnn.data.sources``
  states (a header, the target column, labels or values, ``MISSING_VALUES`` refused).

Not here: choosing the format of a source (``bpnn.data.sources``); reading CSV lines in bounded
memory (``bpnn.data.csvread``, shared with ``bpnn.data.rows``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BpnnError, FormatError
from ..limits import MAX_CSV_BYTES
from .csvread import FLOAT32_MAX, FloatTable, csv_rows, in_float32, regular_file, shown
from .dataset import Dataset

__all__ = ["MISSING_VALUES", "CsvPart", "csv_dataset", "read_csv"]

MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "null", "none"})  # compared lower-cased
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass
class CsvPart:
    """One CSV file as read: float64 features, and the target's raw text with its line numbers."""

    path: Path
    features: np.ndarray  # (n, d) float64
    feature_names: list[str]
    target_name: str
    target_text: list[str]  # (n,) stripped fields
    target_lines: list[int]  # line number of each sample


def csv_dataset(parts: list[CsvPart]) -> Dataset:
    """Training (and test) sets from one (or two) read CSV files; one target type for all."""
    first = parts[0]
    for other in parts[1:]:
        if other.feature_names != first.feature_names or other.target_name != first.target_name:
            raise BpnnError(
                f"{other.path} (the test set) has columns {_columns(other)} but "
                f"{first.path} has {_columns(first)}: they must match, in order"
            )
    ys = np.split(_target_array(parts), np.cumsum([len(p.target_text) for p in parts])[:-1])
    X_test, y_test = (parts[1].features, ys[1]) if len(parts) > 1 else (None, None)
    source = " + ".join(str(p.path.resolve()) for p in parts)
    return Dataset(
        first.features,
        ys[0],
        X_test,
        y_test,
        source,
        "tabular",
        None,
        list(first.feature_names),
        [first.target_name],
    )


def _columns(part: CsvPart) -> str:
    return f"{', '.join(part.feature_names)} (target {part.target_name})"


def read_csv(path: Path, target: str | None) -> CsvPart:
    """One CSV file, strictly: a header, rectangular rows, numeric features, no missing values.

    Read a line at a time into one growing float64 array (``bpnn.data.csvread``): memory is the
    features (n, d) plus the targets' text, not the file as Python strings.
    """
    size = regular_file(path, MAX_CSV_BYTES)
    rows = csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise FormatError(f"{path}: empty file: expected a header row naming the columns")
    header = [name.strip() for name in first[1]]
    t = _target_column(path, header, target)
    names = header[:t] + header[t + 1 :]
    table: FloatTable | None = None
    target_text: list[str] = []
    lines: list[int] = []
    for line, row in rows:
        if len(row) != len(header):
            raise FormatError(
                f"{path}, line {line}: {len(row)} fields, but the header has {len(header)} columns"
            )
        if table is None:  # rows the file holds if all are nearly as long as the first, with
            # headroom: pages never written cost no memory, a regrowth costs a copy
            width = sum(len(f) + 1 for f in row)
            hint = min(size // width * 5 // 4, size // (2 * len(row))) + 1

            def check(line: int, j: int, text: str) -> None:
                _check_feature(path, line, names[j], text)

            table = FloatTable(len(names), check, hint)
        table.add(line, row[:t] + row[t + 1 :])
        target_text.append(row[t].strip())
        lines.append(line)
    if table is None:
        raise FormatError(f"{path}: no data rows after the header")
    return CsvPart(path, table.array(), names, header[t], target_text, lines)


def _target_column(path: Path, header: list[str], target: str | None) -> int:
    """Index of the target column (default: the last); at least one feature must remain."""
    if "" in header:
        raise FormatError(f"{path}: column {header.index('') + 1} of the header has no name")
    if len(set(header)) != len(header):
        twice = sorted({n for n in header if header.count(n) > 1})
        raise FormatError(f"{path}: the header names column(s) {', '.join(twice)} more than once")
    if len(header) < 2:
        raise FormatError(
            f"{path}: the header has {len(header)} column: a CSV data set needs at "
            f"least one feature column and a target column"
        )
    if target is None:
        return len(header) - 1
    if target not in header:
        raise BpnnError(
            f"{path}: no column named {target!r} for the target (columns: {', '.join(header)})"
        )
    return header.index(target)


def _is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING_VALUES


def _check_feature(path: Path, line: int, name: str, value: str) -> None:
    where = f"{path}, line {line}, column {name!r}"
    if _is_missing(value):
        raise FormatError(
            f"{where}: missing value ({shown(value)}); bpnn does not fill in values: "
            f"remove or complete the row"
        )
    try:
        number = float(value)
    except ValueError:
        raise FormatError(
            f"{where}: {shown(value)} is not a number (features must be numeric; name "
            f"a text column as the target with target=)"
        ) from None
    if not math.isfinite(number):
        raise FormatError(f"{where}: {shown(value)} is not a finite number")
    if not in_float32(number):
        raise FormatError(
            f"{where}: {shown(value)} is beyond float32's range (+-{FLOAT32_MAX:.3g}), "
            f"in which networks compute: rescale the column"
        )


def _target_array(parts: list[CsvPart]) -> np.ndarray:
    """(n,) int64 labels if every target is an integer, float64 if every one is a number, else
    str labels; missing values refused (over all parts, so train and test get one type)."""
    text = [v for p in parts for v in p.target_text]
    for part in parts:
        for value, line in zip(part.target_text, part.target_lines):
            if _is_missing(value):
                raise FormatError(
                    f"{part.path}, line {line}, column {part.target_name!r}: missing "
                    f"target ({shown(value)}); bpnn does not fill in values: remove or "
                    f"complete the row"
                )
    if all(_INTEGER.fullmatch(v) for v in text):
        try:
            return np.array([int(v) for v in text], dtype=np.int64)
        except OverflowError:
            pass  # beyond int64: treat as real values
    try:
        y = np.array([float(v) for v in text], dtype=np.float64)
    except ValueError:
        return np.array(text, dtype=str)
    if not (np.abs(y) <= FLOAT32_MAX).all():
        bad = int(np.flatnonzero(~(np.abs(y) <= FLOAT32_MAX))[0])
        why = "not finite" if not np.isfinite(y[bad]) else "beyond float32's range"
        raise FormatError(f"{_locate_sample(parts, bad)}: target {shown(text[bad])} is {why}")
    return y


def _locate_sample(parts: list[CsvPart], i: int) -> str:
    """ "PATH, line N, column 'T'" of sample ``i`` counted over all parts."""
    for part in parts:
        if i < len(part.target_lines):
            return f"{part.path}, line {part.target_lines[i]}, column {part.target_name!r}"
        i -= len(part.target_lines)
    raise IndexError(i)
