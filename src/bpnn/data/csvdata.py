"""CSV files as bpnn reads them: rows numbered by line, numbers with the first bad field named,
and CSV data sets.

- ``csv_lines``: the non-blank rows of a CSV text with their line numbers; ``parse_floats``: a
  table of fields as float64, or the first bad field reported by the caller's own check.  Both
  are shared with ``bpnn.data.rows`` (a model's input rows).
- ``read_csv`` / ``csv_dataset``: a CSV data set, strictly, by the rules ``bpnn.data.sources``
  states (a header, the target column, labels or values, ``MISSING_VALUES`` refused).

Not here: choosing the format of a source (``bpnn.data.sources``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BpnnError, FormatError
from .dataset import Dataset

__all__ = ["MISSING_VALUES", "CsvPart", "csv_dataset", "csv_lines", "parse_floats", "read_csv"]

MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "null", "none"})  # compared lower-cased
_INTEGER = re.compile(r"[+-]?\d+")


def csv_lines(text: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each row of CSV ``text`` that is not blank."""
    reader = csv.reader(io.StringIO(text, newline=""))
    return [(reader.line_num, row) for row in reader if any(f.strip() for f in row)]


def parse_floats(table: list[list[str]], check: Callable[[int, int], object]) -> np.ndarray:
    """(n, d) float64 of a rectangular table of text fields, all finite.

    ``check(i, j)`` raises the caller's error for field j of row i when it is not a finite
    number; it is called field by field, in order, only when NumPy refuses the table or finds
    a NaN or an infinity in it.
    """
    try:  # fast path: NumPy parses the whole table; a failure or a NaN/inf means look closer
        X = np.array(table, dtype=np.float64)
        if np.isfinite(X).all():
            return X
    except ValueError:
        pass
    for i, row in enumerate(table):
        for j in range(len(row)):
            check(i, j)
    raise AssertionError("NumPy refused a table whose every field parses")  # a bug, not the user


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
    """One CSV file, strictly: a header, rectangular rows, numeric features, no missing values."""
    numbered = csv_lines(_decode(path))
    if not numbered:
        raise FormatError(f"{path}: empty file: expected a header row naming the columns")
    header = [name.strip() for name in numbered[0][1]]
    t = _target_column(path, header, target)
    for line, row in numbered[1:]:
        if len(row) != len(header):
            raise FormatError(
                f"{path}, line {line}: {len(row)} fields, but the header has {len(header)} columns"
            )
    if len(numbered) < 2:
        raise FormatError(f"{path}: no data rows after the header")
    lines, rows = [line for line, _ in numbered[1:]], [row for _, row in numbered[1:]]
    names = header[:t] + header[t + 1 :]
    text = [[f for j, f in enumerate(row) if j != t] for row in rows]
    features = _parse_features(path, text, names, lines)
    return CsvPart(path, features, names, header[t], [row[t].strip() for row in rows], lines)


def _decode(path: Path) -> str:
    """The file's text (UTF-8, BOM dropped); FormatError naming the line of a bad byte."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(
            f"{path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            f"save the file as UTF-8"
        ) from None


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


def _parse_features(
    path: Path, text: list[list[str]], names: list[str], lines: list[int]
) -> np.ndarray:
    """(n, d) float64 from the feature fields; the first bad field named by line and column."""
    return parse_floats(text, lambda i, j: _check_feature(path, lines[i], names[j], text[i][j]))


def _check_feature(path: Path, line: int, name: str, value: str) -> None:
    where = f"{path}, line {line}, column {name!r}"
    if _is_missing(value):
        raise FormatError(
            f"{where}: missing value ({value!r}); bpnn does not fill in values: "
            f"remove or complete the row"
        )
    try:
        number = float(value)
    except ValueError:
        raise FormatError(
            f"{where}: {value!r} is not a number (features must be numeric; name "
            f"a text column as the target with target=)"
        ) from None
    if not math.isfinite(number):
        raise FormatError(f"{where}: {value!r} is not a finite number")


def _target_array(parts: list[CsvPart]) -> np.ndarray:
    """(n,) int64 labels if every target is an integer, float64 if every one is a number, else
    str labels; missing values refused (over all parts, so train and test get one type)."""
    text = [v for p in parts for v in p.target_text]
    for part in parts:
        for value, line in zip(part.target_text, part.target_lines):
            if _is_missing(value):
                raise FormatError(
                    f"{part.path}, line {line}, column {part.target_name!r}: missing "
                    f"target ({value!r}); bpnn does not fill in values: remove or "
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
    if not np.isfinite(y).all():
        bad = int(np.flatnonzero(~np.isfinite(y))[0])
        raise FormatError(f"{_locate_sample(parts, bad)}: target {text[bad]!r} is not finite")
    return y


def _locate_sample(parts: list[CsvPart], i: int) -> str:
    """ "PATH, line N, column 'T'" of sample ``i`` counted over all parts."""
    for part in parts:
        if i < len(part.target_lines):
            return f"{part.path}, line {part.target_lines[i]}, column {part.target_name!r}"
        i -= len(part.target_lines)
    raise IndexError(i)
