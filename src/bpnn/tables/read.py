"""Tables as they are read: ``Table`` (named raw columns), from a CSV or Parquet file or a
DataFrame.

- ``read_table(path, missing)``: a ``.csv`` or ``.parquet`` file as a ``Table``.  CSV is read by
  pyarrow when it is installed (``bpnn[tables]``): whole, its blocks parsed on every core, when
  the file is at most ``WHOLE_FILE_SHARE`` of the memory available, else streamed a block at a
  time; either way a numeric column is NumPy views of pyarrow's buffers, one chunk per block
  (no copy).  Without pyarrow, by bpnn's own strict reader (``bpnn.data.csvread``, NumPy only:
  slower, and it holds the text of every field).  Both are strict the same way: a ragged row,
  a byte that is not UTF-8, an unclosed quote or a field over ``MAX_CSV_FIELD_CHARS`` is one
  ``FormatError`` naming the line (a pyarrow error is located by reading the file again with
  the strict reader).  The two give the same columns: pyarrow is given every column's type (its
  first block's int or float; text as written for anything else, never its times or dates; a
  column with nothing in the first block tried as float), and integers with gaps are marked
  ``Column.integral`` by both.  Parquet needs pyarrow.
- ``available_memory()`` (``bpnn.memory``): what the choice of reading whole is made against;
  ``release_freed()``: freed pyarrow buffers given back to the system.
- ``frame_table(df)``: a pandas DataFrame (duck-typed: ``columns`` and ``df[name]``; pandas is
  never imported) as a ``Table``.
- ``MISSING``: the tokens that mean a missing value (compared stripped and lower-cased);
  ``token_spellings``: a token in every mix of cases, for readers that compare exactly.

A column is kept as chunks of NumPy arrays: ``Column.kind`` is "int" or "float" (float64, NaN
where missing) or "text" (object array of str, None where missing).  What the columns mean is
decided elsewhere (``bpnn.tables.types``).  Over 400 lines on purpose: both CSV readers (and
pyarrow's two ways) sit beside the Table they fill and the strict reader that names the lines
of pyarrow's errors (a module apart would import this one and be imported by it).
"""

from __future__ import annotations

import itertools
import math
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.csvread import csv_rows, regular_file
from ..errors import BpnnError, FormatError
from ..limits import MAX_CSV_BYTES, MAX_CSV_FIELD_CHARS
from ..memory import available_memory

__all__ = [
    "FREED",
    "MISSING",
    "Column",
    "Table",
    "available_memory",
    "chunked_alike",
    "frame_table",
    "frame_targets",
    "is_frame",
    "missing_tokens",
    "number_dtype",
    "read_table",
    "release_freed",
    "token_spellings",
]

FREED = np.empty(0)  # in place of a consumed table's chunk
MISSING = ("", "na", "n/a", "nan", "null", "?")  # stripped, lower-cased ("None" is a level)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
MAX_CASED = 8  # letters of a missing token spelled in every mix of cases (2**8 strings at most)
MEMO_TEXTS = 4096  # distinct texts a column's reading remembers (``_text``)


def missing_tokens(extra: Iterable[str] = ()) -> frozenset[str]:
    """The missing-value tokens (``MISSING`` and ``extra``), stripped and lower-cased."""
    return frozenset(MISSING) | {t.strip().lower() for t in extra}


def token_spellings(token: str) -> list[str]:
    """``token`` in every mix of cases ("NaN", "nA": bpnn lower-cases before it compares), or
    lower, upper and title case alone when it has over ``MAX_CASED`` letters: the exact strings
    a reader that cannot lower-case must take as missing (pyarrow's null values, the ONNX
    graph's ``bpnn.onnxtable.missing_strings``)."""
    cased = [(c.lower(), c.upper()) if c.lower() != c.upper() else (c,) for c in token]
    if sum(len(c) > 1 for c in cased) > MAX_CASED:
        return [token, token.upper(), token.title()]
    return ["".join(s) for s in itertools.product(*cased)]


@dataclass
class Column:
    """One column: chunks (n_i,) of "int" (int64), "float" (float64, NaN: missing) or "text"
    (object: str, None: missing) values, in row order.  Read by pyarrow, a chunk of numbers
    without gaps is a read-only view of pyarrow's buffer (the numbers are held once).
    ``integral``: a "float" column whose present values were all written as integers (an int
    column with gaps: integer targets are classes once the rows without one are left out)."""

    kind: str
    chunks: list[np.ndarray]
    integral: bool = False

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
        return Column(self.kind, [self.values()[keep]], self.integral)


def chunked_alike(columns: Sequence[Column]) -> bool:
    """True when every column has chunks of the same sizes (as pyarrow reads them)."""
    sizes = [len(c) for c in columns[0].chunks] if columns else []
    return all([len(c) for c in column.chunks] == sizes for column in columns)


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

    def blocks(self, rows: int = 1 << 16, consume: bool = False) -> Iterator[tuple[int, Table]]:
        """(first row, the rows as a Table of one chunk per column) in order: pyarrow's own
        blocks when every column has them, else ``rows`` rows at a time.  ``consume``: the
        table is not used again, so each block's chunks are freed once the caller is done."""
        bounds = [len(c) for c in self.columns[0].chunks] if self.columns else []
        if not chunked_alike(self.columns):
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
            if consume:
                for c in chunked:
                    c.chunks[k] = FREED
                if k % 16 == 15:
                    release_freed()
        if consume:
            self.columns = []
            release_freed()

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
    """The CSV file read by pyarrow (``_read``) with every column's type given
    (``_first_block_types``); a column a later block contradicts is read again as what the
    later block says (int -> float -> text), at most once per column and step."""
    import pyarrow as pa

    names: list[str] = []
    types: dict[str, object] = {}
    unknown: set[str] = set()  # columns with nothing in the first block: tried as numbers
    for _ in range(2 * MAX_RETYPES):
        try:
            if not names:  # pyarrow converts far faster to types it is given than guessing
                names, first = _first_block_types(path, tokens)
                types.update(first)
                unknown = {name for name, t in first.items() if t == pa.null()}
                types.update({name: pa.float64() for name in unknown})
            return _integral(_read(path, tokens, names, types), unknown, tokens)
        except _Retype as retype:
            if retype.to == "string":  # text pyarrow cannot decode: the strict reader says where
                strict_check(path)
                raise FormatError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
            # a column of gaps only in the first block (null) may be numbers: tried as such
            types[retype.name] = pa.float64() if retype.to in ("int64", "null") else pa.string()
        except pa.ArrowInvalid as exc:
            if not _has_header(path):
                raise FormatError(
                    f"{path}: empty file: expected a header row naming the columns"
                ) from None
            strict_check(path)  # names the line; if it finds nothing, say what pyarrow said
            raise FormatError(f"{path}: not a CSV file bpnn can read ({str(exc)[:80]})") from None
    raise FormatError(f"{path}: column types keep changing between blocks of the file")


MAX_RETYPES = 64
# pyarrow's words for a value its column's type cannot take; from pyarrow 25.0.1 with the row
_CONVERSION = re.compile(r"In CSV column #(\d+):(?: Row #\d+:)? CSV conversion error to (\w+)")
# read whole (blocks parsed on every core) when the file is at most this share of the memory
# available, else streamed a block at a time: read whole, pyarrow holds the whole file's
# columns (text as its strings, then as Python str too) and its parser's blocks at once
WHOLE_FILE_SHARE = 0.25
BLOCK_BYTES = 1 << 20  # pyarrow's block (its default): one chunk of each column per block


class _Retype(Exception):
    """A later block holds a value the type guessed from the first block cannot."""

    def __init__(self, name: str, to: str):
        self.name, self.to = name, to


def _options(tokens: frozenset[str], types: dict):
    import pyarrow.csv as pc

    nulls = sorted({s for t in tokens for s in token_spellings(t)})
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
    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool()
    pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)  # pyarrow's own allocations (types, conversions) too
    return pool


def release_freed() -> None:
    """Memory of freed pyarrow buffers back to the system: glibc keeps freed small blocks in
    its heaps (``malloc_trim``, through the system pool) until told."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()


def _first_block_types(path: Path, tokens: frozenset[str]) -> tuple[list[str], dict]:
    """The header's names, and each column's type for the reading: the one pyarrow guesses
    from the file's first block for numbers, null for a column of nothing but gaps, else text
    (pyarrow's times, dates, timestamps and booleans would be rewritten on the way back to
    text: "12:30" -> "12:30:00"; the strict reader keeps the text as written)."""
    import pyarrow as pa
    import pyarrow.csv as pc

    options, blocks = _options(tokens, {}), pc.ReadOptions(block_size=BLOCK_BYTES)
    with pc.open_csv(path, blocks, convert_options=options, memory_pool=_pool()) as reader:
        fields = list(reader.schema)
    types = {
        f.name: f.type if _is_number_type(pa, f.type) or f.type == pa.null() else pa.string()
        for f in fields
    }
    return [str(f.name) for f in fields], types


def _integral(table: Table, unknown: set[str], tokens: frozenset[str]) -> Table:
    """``table`` with ``Column.integral`` set on the columns of ``unknown`` (read as float:
    nothing in the first block told int from float) whose values are all written as integers,
    as the strict reader tells them; the text is read again only for columns of whole
    numbers."""
    import pyarrow as pa
    import pyarrow.csv as pc

    candidates = []
    for name in sorted(unknown):
        column = table.column(name)
        present = [c[~np.isnan(c)] for c in column.chunks] if column.kind == "float" else []
        # a column of nothing but gaps is no integer column (the strict reader's rule too)
        if any(len(p) for p in present) and all(np.array_equal(p, np.trunc(p)) for p in present):
            candidates.append(name)
    if not candidates:
        return table
    types = {name: pa.string() for name in candidates}
    options = _options(tokens, types)
    options.include_columns = candidates
    blocks = pc.ReadOptions(block_size=BLOCK_BYTES)
    integral = set(candidates)
    with pc.open_csv(table.path, blocks, convert_options=options, memory_pool=_pool()) as reader:
        for batch in reader:
            for name, array in zip(batch.schema.names, batch.columns):
                texts = (v for v in array.to_pylist() if v is not None)
                if name in integral and not all(
                    t.strip().lower() in tokens or _INTEGER.fullmatch(t) for t in texts
                ):
                    integral.discard(name)
    for name in integral:
        table.column(name).integral = True
    return table


def _read(path: Path, tokens: frozenset[str], names: list[str], types: dict) -> Table:
    """One pass of pyarrow over the file (of columns ``names``), whole on every core when it
    is small beside the memory available (``WHOLE_FILE_SHARE``), else streamed a block at a
    time; ``_Retype`` when a value contradicts its column's given type."""
    import pyarrow as pa
    import pyarrow.csv as pc

    options, blocks = _options(tokens, types), pc.ReadOptions(block_size=BLOCK_BYTES)
    try:
        if path.stat().st_size <= WHOLE_FILE_SHARE * available_memory():
            whole = pc.read_csv(path, blocks, convert_options=options, memory_pool=_pool())
            fields, batches = list(whole.schema), _drained(whole.to_batches())
            del whole  # the batches hold the columns now: each freed once gathered
            table = _gather(path, fields, batches, tokens)
        else:  # closed on every way out, a _Retype's too
            with pc.open_csv(path, blocks, convert_options=options, memory_pool=_pool()) as r:
                table = _gather(path, list(r.schema), iter(r), tokens)
        release_freed()  # the parser's blocks of text
        return table
    except pa.ArrowInvalid as exc:
        found = _CONVERSION.search(str(exc))
        if found is None:
            raise
        raise _Retype(names[int(found.group(1))], found.group(2)) from None


def _drained(items: list) -> Iterator:
    """The items in order, each let go of by the list as it is given (a list iterator would
    hold them all to the end: a column with gaps would be held twice)."""
    items.reverse()
    while items:
        yield items.pop()


def _gather(path: Path, fields: list, batches: Iterator, tokens: frozenset[str]) -> Table:
    """The batches' columns as a Table: numbers as NumPy views of pyarrow's buffers (no copy
    without gaps; ``_numbers``), text as chunks of str; one chunk per batch in every column."""
    import pyarrow as pa

    names = [str(f.name) for f in fields]
    if any(pa.types.is_binary(f.type) for f in fields):
        strict_check(path)  # bytes that are not UTF-8: the strict reader names the line
    numeric = {j for j, f in enumerate(fields) if _is_number_type(pa, f.type)}
    chunks: list[list[np.ndarray]] = [[] for _ in names]
    gaps: set[int] = set()  # numeric columns with a missing value
    for k, batch in enumerate(batches, 1):
        if k % 32 == 0:  # streamed: the parser's freed blocks lie between the kept columns
            release_freed()
        for j, array in enumerate(batch.columns):
            if j in numeric:
                values = _numbers(array)
                if array.null_count:
                    gaps.add(j)
            else:
                if _too_long(array):
                    strict_check(path)  # names the line, as the strict reader's limits do
                values = _chunk(array, "text", tokens)
            chunks[j].append(values)
        del batch
    if not chunks or not any(len(c) for c in chunks[0]):
        raise FormatError(f"{path}: no data rows after the header")
    columns = []
    for j, parts in enumerate(chunks):
        kind = "text" if j not in numeric else "float"
        integer = pa.types.is_integer(fields[j].type)
        if kind == "float" and integer and j not in gaps:
            kind = "int"
        elif kind == "float":
            parts = [p.astype(np.float64, copy=False) for p in parts]
        columns.append(Column(kind, parts, integral=kind == "float" and integer))
    return Table(names, columns, str(path), path)


def _numbers(array) -> np.ndarray:
    """A pyarrow chunk of numbers (m,) as NumPy, read from its buffers (``to_numpy`` would
    import pandas, a second or so): a read-only view of them (no copy) without gaps, else
    float64 with NaN in the gaps."""
    import pyarrow as pa

    t, n = array.type, len(array)
    code = "f" if pa.types.is_floating(t) else "u" if pa.types.is_unsigned_integer(t) else "i"
    dtype = np.dtype(f"{code}{t.bit_width // 8}")
    validity, data = array.buffers()[:2]
    if n == 0 or data is None or array.null_count == n:
        return np.full(n, np.nan) if n else np.empty(0, dtype)
    values = np.frombuffer(data, dtype, count=array.offset + n)[array.offset :]
    if not array.null_count:
        return values
    bits = np.frombuffer(validity, np.uint8)
    present = np.unpackbits(bits, count=array.offset + n, bitorder="little")[array.offset :]
    out = values.astype(np.float64)
    out[present == 0] = np.nan
    return out


def _too_long(array) -> bool:
    """True when a text of the pyarrow array is over ``MAX_CSV_FIELD_CHARS`` characters (its
    bytes, from the offsets, bound them: characters are counted only past the limit in bytes,
    so that ``pyarrow.compute``, 0.2 s to import, is rarely needed)."""
    import pyarrow as pa

    large = pa.types.is_large_string(array.type)
    if not (pa.types.is_string(array.type) or large) or len(array) == 0:
        return False
    n, offset = len(array), array.offset
    width = np.int64 if large else np.int32
    offsets = np.frombuffer(array.buffers()[1], width, count=offset + n + 1)
    if int(np.diff(offsets[offset:]).max()) <= MAX_CSV_FIELD_CHARS:
        return False
    import pyarrow.compute as pc

    return int(pc.max(pc.utf8_length(array)).as_py() or 0) > MAX_CSV_FIELD_CHARS


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
        columns.append(Column(kind, chunks, kind == "float" and pa.types.is_integer(field.type)))
    return Table(names, columns, where)


def _chunk(chunk, kind: str, tokens: frozenset[str]) -> np.ndarray:
    """One pyarrow chunk as NumPy: numbers zero-copy where they can be; text as str or None
    (never through ``to_numpy``, which imports pandas)."""
    if kind == "int":
        return _numbers(chunk).astype(np.int64, copy=False)
    if kind == "float":
        return _numbers(chunk).astype(np.float64, copy=False)
    import pyarrow as pa

    if not pa.types.is_string(chunk.type) and not pa.types.is_large_string(chunk.type):
        chunk = chunk.cast(pa.string())
    return _text(chunk.to_pylist(), tokens)


def _text(values: Sequence | np.ndarray, tokens: frozenset[str]) -> np.ndarray:
    """Object array of stripped str, None where the value is missing (a token, None, NaN)."""
    out = np.empty(len(values), dtype=object)
    memo: dict[str, str | None] = {}  # each distinct text read once (most columns hold few)
    out[:] = [
        (memo[v] if v in memo else _remembered(memo, v, tokens))
        if type(v) is str
        else _one_text(v, tokens)
        for v in values
    ]
    return out


def _remembered(memo: dict, v: str, tokens: frozenset[str]) -> str | None:
    """``_one_text`` of v, kept in ``memo`` while it holds fewer than ``MEMO_TEXTS`` (a column
    of identifiers would fill it with one entry a row)."""
    text = _one_text(v, tokens)
    if len(memo) < MEMO_TEXTS:
        memo[v] = text
    return text


def _one_text(v, tokens: frozenset[str]) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or type(v).__name__ == "NAType":
        return None
    text = str(v).strip()
    return None if text.lower() in tokens else text


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
    """A column of text fields typed as pyarrow types them: int, float (``integral`` when every
    value present is an integer, with gaps), else text."""
    values = _text(np.array(texts, dtype=object), tokens)
    present = [v for v in values if v is not None]
    integers = bool(present) and all(_INTEGER.fullmatch(v) for v in present)
    if integers and len(present) == len(values):
        try:
            return Column("int", [np.array([int(v) for v in present], dtype=np.int64)])
        except OverflowError:
            integers = False
    try:
        numbers = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except ValueError:
        return Column("text", [values])
    return Column("float", [numbers], integral=integers)


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


def frame_targets(df, y, tokens: frozenset[str] | None = None, where: str = "the DataFrame"):
    """The rows of DataFrame ``df`` whose target is there, as the command line keeps a table's:
    (df, y as an array, how many rows were left out).  y: (n,) labels or values (a Series, an
    array, a list); missing: None, NaN, pandas' NA, or text that is a missing token.  The kept
    targets of a pandas y are taken from y itself, so its type decides as without gaps (an
    ``Int64`` or categorical column of integers stays integer, not the floats its array with
    NaN holds).  (n, k) targets are returned as they are.  BpnnError when y's length is not
    df's, or every target is missing."""
    tokens = missing_tokens() if tokens is None else tokens
    values = np.asarray(y)
    if len(values) != len(df):
        raise BpnnError(f"{where} has {len(df)} rows but {len(values)} targets")
    if values.ndim != 1:
        return df, values, 0
    if values.dtype == object:
        missing = np.array([v is None for v in _text(values, tokens)], dtype=bool)
    elif values.dtype.kind == "f":
        missing = np.isnan(values)
    else:
        return df, values, 0
    if not missing.any():
        return df, values, 0
    if missing.all():
        raise BpnnError(f"{where}: every row's target is missing")
    rows = np.flatnonzero(~missing)
    kept = np.asarray(y.iloc[rows]) if hasattr(y, "iloc") else values[rows]
    return df.iloc[rows], kept, int(missing.sum())
