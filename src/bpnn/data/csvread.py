"""Reading a CSV file in bounded memory: ``regular_file``, ``csv_rows`` and ``FloatTable``.

- ``regular_file(path, limit)``: the path checked before anything reads it: a regular file (a
  FIFO or ``/dev/zero`` would be read forever) of at most ``limit`` bytes.
- ``csv_rows(path)``: (line number, fields) of each non-blank row, read a line at a time.  A
  line over ``MAX_CSV_LINE_BYTES``, a field over ``MAX_CSV_FIELD_CHARS``, a quote never closed
  or a byte that is not UTF-8 is one ``FormatError`` naming the file and line (never the text).
- ``beyond_float32``: where an array holds a value float32 cannot (networks compute in it).
- ``FloatTable``: rows of number fields parsed block by block into one growing (n, d) float64
  array, so reading costs the final array plus a block of text, not the whole file as strings.

Not here: what the columns mean (``bpnn.tables``, ``bpnn.data.rows``).
"""

from __future__ import annotations

import codecs
import csv
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..errors import BpnnError, FormatError
from ..limits import MAX_CSV_FIELD_CHARS, MAX_CSV_LINE_BYTES

__all__ = [
    "FLOAT32_MAX",
    "FloatTable",
    "beyond_float32",
    "csv_rows",
    "in_float32",
    "regular_file",
    "shown",
]

FLOAT32_MAX = float(np.finfo(np.float32).max)  # networks compute in float32: larger is inf

_BLOCK_FIELDS = 1 << 16  # text fields parsed by NumPy at once (a few MB of str objects)


def regular_file(path: Path, limit: int, what: str = "file") -> int:
    """The size of ``path`` in bytes; BpnnError unless it is a regular file of <= limit bytes."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise BpnnError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise BpnnError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise BpnnError(
            f"{path}: not a regular file (a pipe or device would be read without end); "
            f"save the data to a file first"
        )
    if info.st_size > limit:
        raise FormatError(f"{path}: {info.st_size:,} bytes, more than the {limit:,} bpnn reads")
    return info.st_size


def in_float32(value: float) -> bool:
    """True for a number that float32 holds finitely (NaN and infinities are not)."""
    return abs(value) <= FLOAT32_MAX


def beyond_float32(a: np.ndarray, what: str) -> str | None:
    """ "WHAT holds N NaN, ...; the first, V, at row i, column j" for the float array ``a`` (n,)
    or (n, k) when float32 cannot hold a value finitely (NaN, inf, 1e300); else None."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return None
    bad = ~(np.abs(a) <= FLOAT32_MAX)
    if not bad.any():
        return None
    where = np.unravel_index(int(np.argmax(bad)), a.shape)
    column = f", column {where[1]}" if a.ndim > 1 else ""
    return (
        f"{what} holds {int(bad.sum())} NaN, infinite or beyond-float32 value(s) (networks "
        f"compute in float32, up to +-{FLOAT32_MAX:.3g}); the first, {a[where]:g}, at row "
        f"{where[0]}{column}"
    )


def shown(text: str, width: int = 40) -> str:
    """``text`` quoted for an error line, cut to ``width`` characters."""
    return repr(text) if len(text) <= width else repr(text[:width]) + f"... ({len(text):,} chars)"


def _lines(path: Path, f) -> Iterator[str]:
    """The file's lines as text, each at most MAX_CSV_LINE_BYTES (a UTF-8 BOM dropped)."""
    number = 0
    while raw := f.readline(MAX_CSV_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_CSV_LINE_BYTES:
            raise FormatError(
                f"{path}, line {number}: longer than {MAX_CSV_LINE_BYTES:,} bytes "
                f"(MAX_CSV_LINE_BYTES); is it a CSV file?"
            )
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"{path}, line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                f"save the file as UTF-8"
            ) from None


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, fields) of each row of the CSV file that is not blank."""
    csv.field_size_limit(MAX_CSV_FIELD_CHARS)  # csv's own default, stated in bpnn.limits
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with f:
        reader = csv.reader(_lines(path, f), strict=True)
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FormatError(f"{path}, line {start}: {_csv_problem(exc)}") from None
            if any(field.strip() for field in row):
                yield start, row


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted field is never closed (a '\"' without its closing '\"')"
    if "field larger than field limit" in text:
        return f"a field longer than {MAX_CSV_FIELD_CHARS:,} characters (MAX_CSV_FIELD_CHARS)"
    return f"not valid CSV ({text})"


class FloatTable:
    """(n, d) float64 built from rows of d text fields, a block at a time.

    ``check(line, j, text)`` raises the caller's error for a field that is not a number within
    float32's range (``in_float32``); it is called only for a block NumPy refuses or that holds
    a NaN, an infinity or a value beyond float32.
    ``rows_hint`` sizes the first allocation (the array grows by half when it is full).
    """

    def __init__(self, d: int, check: Callable[[int, int, str], object], rows_hint: int = 1024):
        self.data = np.empty((max(rows_hint, 1), d), dtype=np.float64)
        self.n = 0
        self._check = check
        self._block: list[list[str]] = []
        self._lines: list[int] = []
        self._block_rows = max(1, _BLOCK_FIELDS // max(d, 1))

    def add(self, line: int, fields: list[str]) -> None:
        """One row of d fields (its line number names it in errors)."""
        self._block.append(fields)
        self._lines.append(line)
        if len(self._block) >= self._block_rows:
            self._flush()

    def array(self) -> np.ndarray:
        """The (n, d) array of every row added (the buffer trimmed in place)."""
        self._flush()
        self.data.resize((self.n, self.data.shape[1]), refcheck=False)
        return self.data

    def _flush(self) -> None:
        if not self._block:
            return
        block = self._parse()
        end = self.n + len(block)
        if end > len(self.data):
            rows = max(end, len(self.data) + len(self.data) // 2)
            self.data.resize((rows, self.data.shape[1]), refcheck=False)
        self.data[self.n : end] = block
        self.n = end
        self._block, self._lines = [], []

    def _parse(self) -> np.ndarray:
        try:  # fast path: NumPy parses the block; a failure or a NaN/inf/1e300 means look closer
            X = np.array(self._block, dtype=np.float64)
            if (np.abs(X) <= FLOAT32_MAX).all():
                return X
        except ValueError:
            pass
        for line, row in zip(self._lines, self._block):
            for j, text in enumerate(row):
                self._check(line, j, text)
        raise AssertionError("NumPy refused a block whose every field parses")  # a bug
