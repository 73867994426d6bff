"""Tables as they are read: ``Table`` (named raw columns), from a CSV or Parquet file or a
DataFrame.

- ``read_table(path, missing)``: a ``.csv`` or ``.parquet`` file as a ``Table``.  CSV is read by
  pyarrow's streaming reader when pyarrow is installed (``bpnn[tables]``), a block at a time,
  its numeric columns into column-major float64 parts of ~33 MB (``Table.matrix``; the
  columns are contiguous views of them), else by bpnn's own strict reader
  (``bpnn.data.csvread``, NumPy only: slower, and it holds the text of every field).  Both
  are strict the same way: a ragged row, a byte that is not UTF-8, an unclosed quote or a
  field over ``MAX_CSV_FIELD_CHARS`` is one ``FormatError`` naming the line (a pyarrow error
  is located by reading the file again with the strict reader).  Parquet needs pyarrow.
- ``frame_table(df)``: a pandas DataFrame (duck-typed: ``columns`` and ``df[name]``; pandas is
  never imported) as a ``Table``.
- ``MISSING``: the tokens that mean a missing value (compared stripped and lower-cased).

A column is kept as chunks of NumPy arrays: ``Column.kind`` is "int" or "float" (float64, NaN
where missing) or "text" (object array of str, None where missing).  What the columns mean is
decided elsewhere (``bpnn.tables.types``).  Over 400 lines on purpose: both CSV readers sit
beside the Table they fill and the strict reader that names the lines of pyarrow's errors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.csvread import csv_rows, regular_file
from ..errors import BpnnError, FormatError
from ..limits import MAX_CSV_BYTES, MAX_CSV_FIELD_CHARS

__all__ = [
    "MISSING",
    "Column",
    "Table",
    "frame_table",
    "is_frame",
    "missing_tokens",
    "number_dtype",
    "read_table",
]

MISSING = ("", "na", "n/a", "nan", "null", "?")  # stripped, lower-cased ("None" is a level)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def missing_tokens(extra: Iterable[str] = ()) -> frozenset[str]:
    """The missing-value tokens (``MISSING`` and ``extra``), stripped and lower-cased."""
    return frozenset(MISSING) | {t.strip().lower() for t in extra}


@dataclass
class Column:
    """One column: chunks (n_i,) of "int" (int64), "float" (float64, NaN: missing) or "text"
    (object: str, None: missing) values, in row order."""

    kind: str
    chunks: list[np.ndarray]

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)

    def values(self) -> np.ndarray:
        """All its values (n,) in one array (a copy when there are several chunks)."""
        if len(self.chunks) == 1:
            return self.chunks[0]
        empty = np.empty(0, dtype=object if self.kind == "text" else np.float64)
        return np.concatenate(self.chunks) if self.chunks else empty

    def take(self, keep: np.ndarray) -> Column:
        """The rows where the boolean mask ``keep`` (n,) is True."""
        return Column(self.kind, [self.values()[keep]])


@dataclass
class Table:
    """Named columns of one length, in the order of the file; ``where`` names it in messages.

    path: the CSV file it was read from (to name a row's line); origin: (n,) the data row each
    row was (after ``take``; None: row i is data row i)."""

    names: list[str]
    columns: list[Column]
    where: str
    path: Path | None = None
    origin: np.ndarray | None = None
    # read by pyarrow: the numeric columns' values, column-major float64 parts (n_i, k) in row
    # order that the columns view; ``TableSchema.encode(consume=True)`` turns them into the
    # inputs a part at a time, freeing each (reading costs the numbers about once)
    matrix: list[np.ndarray] | None = None
    matrix_names: list[str] | None = None

    @property
    def n(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def column(self, name: str) -> Column:
        return self.columns[self.names.index(name)]

    def take(self, keep: np.ndarray) -> Table:
        """The rows where the boolean mask ``keep`` (n,) is True."""
        origin = np.flatnonzero(keep) if self.origin is None else self.origin[keep]
        columns = [c.take(keep) for c in self.columns]
        return Table(self.names, columns, self.where, self.path, origin)

    def blocks(self, rows: int = 1 << 16) -> Iterator[tuple[int, Table]]:
        """(first row, the rows as a Table of one chunk per column) in order: pyarrow's own
        blocks when every column has them, else ``rows`` rows at a time."""
        bounds = [len(c) for c in self.columns[0].chunks] if self.columns else []
        if any([len(c) for c in column.chunks] != bounds for column in self.columns):
            whole = [Column(c.kind, [c.values()]) for c in self.columns]
            bounds = [min(rows, self.n - start) for start in range(0, self.n, rows)]
            chunked = [Column(c.kind, np.split(c.chunks[0], np.cumsum(bounds)[:-1])) for c in whole]
        else:
            chunked = self.columns
        start = 0
        for k, size in enumerate(bounds):
            origin = (
                np.arange(start, start + size)
                if self.origin is None
                else self.origin[start : start + size]
            )
            columns = [Column(c.kind, [c.chunks[k]]) for c in chunked]
            yield start, Table(self.names, columns, self.where, self.path, origin)
            start += size

    def row(self, i: int) -> str:
        """Where row ``i`` is, for a message: "line L" of a CSV file, else "row i"."""
        data_row = int(i if self.origin is None else self.origin[i])
        if self.path is not None and self.path.suffix.lower() == ".csv":
            for k, (line, _) in enumerate(strict_lines(self.path)):
                if k == data_row:
                    return f"line {line}"
        return f"row {data_row + 1}"


def read_table(path: Path, missing: Iterable[str] = ()) -> Table:
    """The ``.csv`` or ``.parquet`` file ``path`` as a Table (see the module docstring)."""
    regular_file(path, MAX_CSV_BYTES)
    tokens = missing_tokens(missing)
    if path.suffix.lower() == ".parquet":
        return _parquet(path)
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return strict_table(path, tokens)
    return _arrow_csv(path, tokens)


# ---- pyarrow -----------------------------------------------------------------------------------
def _arrow_csv(path: Path, tokens: frozenset[str]) -> Table:
    """The CSV file read by pyarrow a block at a time (``_stream``); a column whose type
    pyarrow guessed from the first block and a later block contradicts is read again as
    what the later block says (int -> float -> text), at most once per column and step."""
    import pyarrow as pa

    types: dict[str, object] = {}
    for _ in range(2 * MAX_RETYPES):
        try:
            if not types:  # pyarrow converts far faster to types it is given than guessing
                types.update(_first_block_types(path, tokens))
            return _stream(path, tokens, types)
        except _Retype as retype:
            if retype.to == "string":  # text pyarrow cannot decode: the strict reader says where
                strict_check(path)
                raise FormatError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
            types[retype.name] = pa.float64() if retype.to == "int64" else pa.string()
        except pa.ArrowInvalid as exc:
            if not _has_header(path):
                raise FormatError(
                    f"{path}: empty file: expected a header row naming the columns"
                ) from None
            strict_check(path)  # names the line; if it finds nothing, say what pyarrow said
            raise FormatError(f"{path}: not a CSV file bpnn can read ({str(exc)[:80]})") from None
    raise FormatError(f"{path}: column types keep changing between blocks of the file")


MAX_RETYPES = 64
_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+)")


class _Retype(Exception):
    """A later block holds a value the type guessed from the first block cannot."""

    def __init__(self, name: str, to: str):
        self.name, self.to = name, to


def _options(tokens: frozenset[str], types: dict):
    import pyarrow.csv as pc

    nulls = sorted({v for t in tokens for v in (t, t.upper(), t.title(), t.capitalize())})
    return pc.ConvertOptions(
        null_values=nulls,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        true_values=[],
        false_values=[],
        column_types=types,
    )


def _pool():
    """pyarrow's pool over the system allocator, made its default unless the user chose one
    (``ARROW_DEFAULT_MEMORY_POOL``): jemalloc, its usual default, reserves about 1 GB of address
    space at once (1.6 GB of VmSize for a 1 MB table), which ``ulimit -v`` counts in full."""
    import os

    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool()
    pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)  # pyarrow's own allocations (types, conversions) too
    return pool


def _first_block_types(path: Path, tokens: frozenset[str]) -> dict:
    """The types pyarrow guesses from the file's first block for its number and text columns
    (a column of nothing but gaps is left to be guessed block by block)."""
    import pyarrow as pa
    import pyarrow.csv as pc

    with pc.open_csv(path, convert_options=_options(tokens, {}), memory_pool=_pool()) as reader:
        fields = list(reader.schema)
    keep = (pa.types.is_integer, pa.types.is_floating, pa.types.is_string)
    return {f.name: f.type for f in fields if any(test(f.type) for test in keep)}


def _stream(path: Path, tokens: frozenset[str], types: dict) -> Table:
    """One pass of pyarrow's streaming reader: every numeric column into column-major float64
    parts (``_Parts``: the numbers once; the Table's columns are contiguous views of them),
    other columns as chunks of text."""
    import pyarrow as pa
    import pyarrow.csv as pc

    reader = pc.open_csv(path, convert_options=_options(tokens, types), memory_pool=_pool())
    names = [str(n) for n in reader.schema.names]
    fields = list(reader.schema)
    if any(pa.types.is_binary(f.type) for f in fields):
        strict_check(path)  # bytes that are not UTF-8: the strict reader names the line
    numeric = [j for j, f in enumerate(fields) if _is_number_type(pa, f.type)]
    ints = {j for j in numeric if pa.types.is_integer(fields[j].type)}
    text: dict[int, list[np.ndarray]] = {j: [] for j in range(len(names)) if j not in numeric}
    parts, batch, values, pool = _Parts(len(numeric)), None, None, _pool()
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as exc:
            found = _CONVERSION.search(str(exc))
            if found is None:
                raise
            raise _Retype(names[int(found.group(1))], found.group(2)) from None
        values = []  # k arrays (rows,)
        for j in numeric:
            array = batch.column(j)
            if array.null_count:
                ints.discard(j)
            values.append(array.to_numpy(zero_copy_only=False))  # no copy without gaps
        parts.append(values, batch.num_rows)
        for j, chunks in text.items():
            array = batch.column(j)
            if _longest(array) > MAX_CSV_FIELD_CHARS:
                strict_check(path)  # names the line, as the strict reader's limits do
            chunks.append(_chunk(array, "text", tokens))
    del reader, batch, values
    pool.release_unused()  # the blocks' memory (copied into the parts), back to the system
    if parts.n == 0:
        raise FormatError(f"{path}: no data rows after the header")
    blocks = parts.done()
    columns = []
    for j in range(len(names)):
        if j in text:
            columns.append(Column("text", text[j]))
        else:
            k = numeric.index(j)
            columns.append(Column("int" if j in ints else "float", [b[:, k] for b in blocks]))
    table = Table(names, columns, str(path), path)
    table.matrix, table.matrix_names = blocks, [names[j] for j in numeric]
    return table


PART_BYTES = 33 << 20  # over glibc's largest mmap threshold (32 MiB): freeing one unmaps it


class _Parts:
    """Rows of k numeric columns gathered into column-major (rows, k) float64 parts of
    ``PART_BYTES``: each batch's columns are copied contiguously, each column of a part is a
    contiguous view, and a part can be freed as soon as it has been turned into inputs."""

    def __init__(self, k: int):
        self.k, self.n, self.filled = k, 0, 0
        self.rows = max(1, -(-PART_BYTES // (8 * max(k, 1))))
        self.blocks: list[np.ndarray] = []

    def append(self, values: list[np.ndarray], rows: int) -> None:
        """Add a batch: ``values``, k arrays (rows,) of numbers."""
        done = 0
        while done < rows:
            if not self.blocks or self.filled == self.rows:
                self.blocks.append(np.empty((self.rows, self.k), order="F"))
                self.filled = 0
            take = min(rows - done, self.rows - self.filled)
            part = self.blocks[-1]
            for k, array in enumerate(values):
                part[self.filled : self.filled + take, k] = array[done : done + take]
            self.filled += take
            done += take
        self.n += rows

    def done(self) -> list[np.ndarray]:
        """The parts (rows_i, k), the last cut to the rows it holds."""
        if self.blocks:
            self.blocks[-1] = self.blocks[-1][: self.filled]
        return self.blocks


def _longest(array) -> int:
    """Characters of the longest text of a pyarrow array (0 when empty or all null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return 0
    longest = pc.max(pc.utf8_length(array)).as_py()
    return int(longest or 0)


def _is_number_type(pa, t) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t))


def _has_header(path: Path) -> bool:
    return next(csv_rows(path), None) is not None


def _parquet(path: Path) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BpnnError(
            f"{path}: reading Parquet needs pyarrow: pip install 'bpnn[tables]'"
        ) from None
    try:
        _pool()  # the system allocator as the default pool, as for CSV
        arrow = pq.read_table(path)
    except Exception as exc:  # pyarrow's errors have no common base beyond Exception
        raise FormatError(f"{path}: not a readable Parquet file ({str(exc)[:200]})") from None
    return _from_arrow(arrow, str(path), missing_tokens())


def _from_arrow(arrow, where: str, tokens: frozenset[str]) -> Table:
    """A Table of a pyarrow Table: numbers as int64/float64 chunks, anything else as text."""
    import pyarrow as pa

    names = [str(n) for n in arrow.column_names]
    columns = []
    for field, chunked in zip(arrow.schema, arrow.columns):
        if pa.types.is_integer(field.type) and chunked.null_count == 0:
            kind = "int"
        elif pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
            kind = "float"
        else:
            kind = "text"
        chunks = [_chunk(c, kind, tokens) for c in chunked.chunks]
        columns.append(Column(kind, chunks))
    return Table(names, columns, where)


def _chunk(chunk, kind: str, tokens: frozenset[str]) -> np.ndarray:
    """One pyarrow chunk as NumPy: numbers zero-copy where they can be; text as str or None."""
    if kind == "int":
        return chunk.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    if kind == "float":
        return chunk.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    import pyarrow as pa

    if not pa.types.is_string(chunk.type) and not pa.types.is_large_string(chunk.type):
        chunk = chunk.cast(pa.string())
    return _text(chunk.to_numpy(zero_copy_only=False), tokens)


def _text(values: np.ndarray, tokens: frozenset[str]) -> np.ndarray:
    """Object array of stripped str, None where the value is missing (a token, None, NaN)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or type(v).__name__ == "NAType":
            continue
        text = str(v).strip()
        out[i] = None if text.lower() in tokens else text
    return out


# ---- the strict reader (NumPy only) ------------------------------------------------------------
def strict_check(path: Path) -> None:
    """Read ``path`` with the strict reader: its first ragged row, unclosed quote or non-UTF-8
    byte is a FormatError naming the line; returns when there is none."""
    rows = csv_rows(path)
    first = next(rows, None)
    width = len(first[1]) if first else 0
    for line, row in rows:
        _check_width(path, line, row, width)


def _check_width(path: Path, line: int, row: list[str], width: int) -> None:
    if len(row) != width:
        raise FormatError(
            f"{path}, line {line}: {len(row)} fields, but the header has {width} columns"
        )


def strict_table(path: Path, tokens: frozenset[str]) -> Table:
    """The CSV file as a Table, read by the strict reader (``bpnn.data.csvread``)."""
    rows = csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise FormatError(f"{path}: empty file: expected a header row naming the columns")
    header = [name.strip() for name in first[1]]
    fields: list[list[str]] = [[] for _ in header]
    for line, row in rows:
        _check_width(path, line, row, len(header))
        for j, text in enumerate(row):
            fields[j].append(text)
    if not fields or not fields[0]:
        raise FormatError(f"{path}: no data rows after the header")
    return Table(header, [_typed(f, tokens) for f in fields], str(path), path)


def _typed(texts: list[str], tokens: frozenset[str]) -> Column:
    """A column of text fields typed as pyarrow types them: int, float, else text."""
    values = _text(np.array(texts, dtype=object), tokens)
    present = [v for v in values if v is not None]
    if present and len(present) == len(values) and all(_INTEGER.fullmatch(v) for v in present):
        try:
            return Column("int", [np.array([int(v) for v in present], dtype=np.int64)])
        except OverflowError:
            pass
    try:
        numbers = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except ValueError:
        return Column("text", [values])
    return Column("float", [numbers])


def strict_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each data row (after the header): to name the line of a value."""
    rows = csv_rows(path)
    next(rows, None)
    yield from rows


# ---- DataFrames --------------------------------------------------------------------------------
def is_frame(X) -> bool:
    """True for a pandas-like DataFrame (``columns`` and ``df[name].to_numpy()``)."""
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "__getitem__")


def number_dtype(dtype) -> bool:
    """True for a DataFrame column's dtype of numbers (int, unsigned, float; not bool)."""
    return getattr(dtype, "kind", "O") in "iuf"


def frame_table(df, tokens: frozenset[str] | None = None) -> Table:
    """The columns of a DataFrame as a Table: numeric dtypes as float, anything else as text
    (booleans as "true"/"false"; None, NaN and pandas' NA as missing)."""
    tokens = missing_tokens() if tokens is None else tokens
    names, columns = [], []
    for name in df.columns:
        series = df[name]
        if number_dtype(series.dtype):
            values = np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
            columns.append(Column("float", [values]))
        else:  # text, categories, booleans (read as "True"/"False")
            columns.append(Column("text", [_text(series.to_numpy(dtype=object), tokens)]))
        names.append(str(name))
    return Table(names, columns, "the DataFrame")
