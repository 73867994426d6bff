"""Columns copied from a rows file into ``bpnn predict --rows FILE --keep COLUMNS``' output.

``kept_columns(path, names) -> {name: [text of each data row]}``: the named columns of a CSV
file with a header, as text, exactly as written (an identifier such as ``00123`` keeps its
zeros), in the order asked for.  The rows are the ones ``bpnn.data.rows.read_rows`` reads (blank
lines skipped), so value k belongs to prediction k.  A .npy file, a file without a header or a
name the header lacks is one ``BpnnError`` line.  Read with the same limits as every CSV file
(``bpnn.data.csvread``).  Not here: the features themselves (``bpnn.data.rows``).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BpnnError, FormatError
from ..limits import MAX_CSV_BYTES
from .csvread import csv_rows, regular_file, shown

__all__ = ["kept_columns"]


def kept_columns(path, names: list[str]) -> dict[str, list[str]]:
    """The columns ``names`` of the CSV file ``path``, as text, one value per data row."""
    path = Path(path)
    names = [n.strip() for n in names]
    if not all(names) or len(set(names)) != len(names):
        raise BpnnError(f"--keep {','.join(names)}: give distinct column names, comma-separated")
    if path.suffix.lower() == ".npy":
        raise BpnnError(f"--keep: {path} is a .npy array, which has no named columns")
    if not path.exists():
        raise BpnnError(f"{path}: no such file")
    regular_file(path, MAX_CSV_BYTES)
    rows = csv_rows(path)
    first = next(rows, None)
    header = [f.strip() for f in first[1]] if first else []
    missing = [n for n in names if n not in header]
    if missing:
        raise BpnnError(
            f"--keep: {path} has no column {', '.join(shown(n) for n in missing)} "
            f"(its first line: {shown(','.join(header), 80)})"
        )
    at = [header.index(n) for n in names]
    kept: dict[str, list[str]] = {n: [] for n in names}
    for line, row in rows:
        if len(row) != len(header):
            raise FormatError(
                f"{path}, line {line}: {len(row)} fields, but the header has {len(header)}"
            )
        for name, j in zip(names, at):
            kept[name].append(row[j])
    return kept
