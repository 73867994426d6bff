"""A table's schema: how raw columns become network inputs, fitted on the training data, stored
in the model file (plain JSON) and applied to new rows the same way.

``TableSchema.fit(table, target, options)`` types each column (``bpnn.tables.types``) and fits:

- numeric and boolean columns: one input each (booleans 1 for yes/true); a missing value is
  filled with the column's training median, and a column that had gaps in training gets a
  second input, ``NAME=(missing)``, 1 where the value was missing;
- categorical columns: one-hot, one input ``NAME=LEVEL`` per level.  The ``max_levels(n)`` most
  frequent levels are kept (``MAX_LEVELS``, 2,048, fewer in tables so long that the column's
  inputs would pass ``LEVEL_VALUES``), each seen in at least ``min_level_rows(n)`` training
  rows (5; fewer in tables under 500 rows); the others are pooled into one ``NAME=(other)``
  input.  A column with gaps in training gets a ``NAME=(missing)`` level.  At prediction a level
  never seen, or a missing value where training had none, goes to ``(other)`` when the column has
  it, else to all zeros: never an error.

``encode(table)`` -> (n, d) float64 inputs, columns found by name in any order (extra columns
ignored; a missing one is one ``BpnnError`` naming it).  ``to_dict``/``from_dict``: its JSON form.
Why up to 2,048 levels, measured (``benchmarks/levels.py``): on real tables a column of a hundred
or a thousand levels that each have rows of their own carries the signal (Summers-Heston's 125
countries: R^2 0.68 with 64 levels kept, 0.995 with all; baseball's 1,228 players: 0.933 with 64,
0.936 with all), and the one-hot inputs are dense in X (n, d) float64, so a long table's column
keeps fewer (never under 64): ``LEVEL_VALUES`` (2**27 values, 1 GiB) over its n rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.csvread import FLOAT32_MAX
from ..errors import BpnnError, FormatError
from .read import FREED, Column, Table, chunked_alike, release_freed
from .stats import NumberStats, column_stats, in_order
from .types import BOOLEAN_PAIRS, TableOptions, boolean_pair, column_type, numbers

__all__ = [
    "LEVEL_VALUES",
    "MAX_LEVELS",
    "MISSING_LEVEL",
    "OTHER_LEVEL",
    "ColumnSpec",
    "TableSchema",
    "check_float32",
    "level",
    "max_levels",
]

MAX_LEVELS = 2048  # levels a categorical column keeps at most (then pooled into "(other)")
LEVEL_VALUES = 1 << 27  # ... and fewer in a long table: its one-hot inputs within 1 GiB
MISSING_LEVEL, OTHER_LEVEL = "(missing)", "(other)"
FORMAT = "bpnn-table"
_BLOCK = 1 << 20  # values encoded at once (8 MB of float64), whatever the table's width
_RELEASE_BYTES = 32 << 20  # freed pyarrow buffers are given back to the system this often


def max_levels(n: int) -> int:
    """Levels a categorical column of a table of n training rows keeps at most: ``MAX_LEVELS``,
    fewer when its one-hot inputs (n, levels) would pass ``LEVEL_VALUES``, never under 64."""
    return max(64, min(MAX_LEVELS, LEVEL_VALUES // max(n, 1)))


def min_level_rows(n: int) -> int:
    """Training rows a level needs to keep its own input: 5, or 1% of the rows when less."""
    return min(5, max(1, n // 100))


@dataclass(frozen=True)
class ColumnSpec:
    """One kept column: its type, and what encoding it needs (see the module docstring)."""

    name: str
    type: str  # "numeric", "boolean" or "categorical"
    missing: int = 0  # missing values in the training data
    fill: float = 0.0  # numeric, boolean: the training median
    indicator: bool = False  # numeric, boolean: a NAME=(missing) input
    true: str | None = None  # boolean text: the value that is 1 (lower-case)
    levels: tuple[str, ...] = ()  # categorical: one input each, in this order
    other: bool = False  # categorical: a NAME=(other) input for pooled and unseen levels

    def inputs(self) -> list[str]:
        """The names of its inputs, in order."""
        if self.type != "categorical":
            return [self.name] + ([f"{self.name}={MISSING_LEVEL}"] if self.indicator else [])
        extra = [OTHER_LEVEL] if self.other else []
        return [f"{self.name}={level}" for level in (*self.levels, *extra)]

    @property
    def pair(self) -> tuple[str, str]:
        """A boolean text column's (true, false) words of ``BOOLEAN_PAIRS`` (``true`` set)."""
        return next(p for p in BOOLEAN_PAIRS if p[0] == self.true)

    def encode(self, column: Column, table: Table) -> np.ndarray:
        """Its inputs (n, k) for the raw column (of ``table``: to name a bad value's row)."""
        if self.type == "categorical":
            return self._one_hot(column)
        x = self._numbers(column, table)
        gaps = np.isnan(x)
        if not self.indicator:
            return np.where(gaps, self.fill, x)[:, None] if gaps.any() else x[:, None]
        return np.column_stack([np.where(gaps, self.fill, x), gaps])

    def _numbers(self, column: Column, table: Table) -> np.ndarray:
        """Its values as float64 (n,), NaN where missing (``table``: to name a row)."""
        if self.true is not None and column.kind == "text":
            codes, keys = level_codes(column.values())
            true, false = self.pair
            meaning = {true: 1.0, false: 0.0}
            each = [meaning.get(k.lower(), np.nan) if k else np.nan for k in keys]
            return np.array(each, dtype=np.float64)[codes] if keys else np.zeros(0)
        x = numbers(column)
        if x is None:
            i, bad = next((i, v) for i, v in enumerate(column.values()) if _not_number(v))
            raise FormatError(
                f"{table.where}, {table.row(i)}, column {self.name!r}: {bad[:40]!r} is not a number"
            )
        return x

    def check(self, column: Column, table: Table) -> None:
        """FormatError naming the first value of the column float32 cannot hold finitely."""
        if self.type == "categorical":
            return
        check_float32(self._numbers(column, table), table, self.name)

    def _one_hot(self, column: Column) -> np.ndarray:
        index = {level: k for k, level in enumerate(self.levels)}
        other = len(self.levels) if self.other else -1
        codes, keys = level_codes(column.values())
        where = np.array([index.get(MISSING_LEVEL if k is None else k, other) for k in keys])
        cols = where[codes] if len(keys) else codes  # each row's input, -1: none
        out = np.zeros((len(codes), len(self.levels) + (1 if self.other else 0)))
        rows = np.flatnonzero(cols >= 0)
        out[rows, cols[rows]] = 1.0
        return out

    def to_dict(self) -> dict:
        data = {"name": self.name, "type": self.type, "missing": self.missing}
        if self.type == "categorical":
            return {**data, "levels": list(self.levels), "other": self.other}
        return {**data, "fill": self.fill, "indicator": self.indicator, "true": self.true}

    @classmethod
    def from_dict(cls, data: dict) -> ColumnSpec:
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            missing=int(data.get("missing", 0)),
            fill=float(data.get("fill", 0.0)),
            indicator=bool(data.get("indicator", False)),
            true=data.get("true"),
            levels=tuple(str(v) for v in data.get("levels", ())),
            other=bool(data.get("other", False)),
        )


def _not_number(v: str | None) -> bool:
    if v is None:
        return False
    try:
        float(v)
        return False
    except ValueError:
        return True


def level(value) -> str:
    """A value as a level: text as is, an integral number without ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def level_codes(values: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """Each value's index (n,) into the distinct levels (``level``; None: missing) of a column's
    values (text: str or None; or numbers, NaN missing), ``level`` once per distinct value."""
    if values.dtype == object:  # text: a dictionary step per value
        first: dict = {}
        codes = np.array([first.setdefault(v, len(first)) for v in values.tolist()], np.intp)
        if all(v is None or type(v) is str for v in first):
            return codes, list(first)
        # other objects: keyed by type too (1 and True are equal keys, "1" and "True" levels)
        first = {}
        codes = np.array([first.setdefault((v, type(v)), len(first)) for v in values.tolist()])
        return _merged(codes.astype(np.intp), [v for v, _ in first])
    distinct, codes = np.unique(values, return_inverse=True)  # (NaNs: one, last)
    return _merged(codes.reshape(-1), distinct.tolist())


def _merged(codes: np.ndarray, distinct: list) -> tuple[np.ndarray, list[str | None]]:
    """``level_codes`` of values with the given codes into their distinct values: each one's
    level (None: missing), values of one level merged (1 and 1.0, -0.0 and 0.0, NaNs)."""
    keys = [None if v is None or v != v else level(v) for v in distinct]
    merged: dict[str | None, int] = {}
    remap = np.array([merged.setdefault(k, len(merged)) for k in keys], np.intp)
    return (remap[codes] if len(keys) else codes).astype(np.intp), list(merged)


@dataclass(frozen=True)
class TableSchema:
    """The kept columns in input order, the left-out ones with why, and the options it was fitted
    with (its ``missing`` tokens read new rows the same way)."""

    columns: tuple[ColumnSpec, ...]
    left_out: tuple[tuple[str, str], ...] = ()
    options: TableOptions = field(default_factory=TableOptions)

    @classmethod
    def fit(cls, table: Table, target: str | None, options: TableOptions) -> TableSchema:
        """The schema of ``table``'s columns other than ``target`` (module docstring rules)."""
        options.check(table.names, table.where)
        specs, left = [], []
        stats = _number_stats(table, target)
        for j, (name, column) in enumerate(zip(table.names, table.columns)):
            if name == target:
                continue
            kind, why = column_type(name, j == 0, column, options, stats.get(name))
            if kind == "left out":
                left.append((name, why))
            else:
                specs.append(_fit_column(name, kind, column, table, stats.get(name)))
        if not specs:
            raise BpnnError(f"{table.where}: no feature column is left to train on")
        return cls(tuple(specs), tuple(left), options)

    @property
    def names(self) -> list[str]:
        """The raw columns it reads, in order."""
        return [c.name for c in self.columns]

    def inputs(self) -> list[str]:
        """The names of the network's inputs (d,), in order."""
        return [name for c in self.columns for name in c.inputs()]

    def plain(self) -> bool:
        """True when every input is a raw numeric column as it is (nothing filled or encoded)."""
        return all(
            c.type != "categorical" and not c.indicator and c.true is None for c in self.columns
        )

    def encode(self, table: Table, consume: bool = False) -> np.ndarray:
        """Inputs (n, d) float64 of a table holding (at least) the schema's columns.

        ``consume``: the table is not used again, so the chunks of a table of numbers become the
        inputs a block of rows at a time, each freed once copied: reading costs its numbers
        about once."""
        lacking = [name for name in self.names if name not in table.names]
        if lacking:
            raise BpnnError(
                f"{table.where}: no column {', '.join(map(repr, lacking[:5]))}"
                f"{', ...' if len(lacking) > 5 else ''} (the model reads "
                f"{', '.join(self.names)})"
            )
        if consume and self.plain() and _aligned([table.column(n) for n in self.names]):
            return self._from_chunks(table)
        widths = [len(c.inputs()) for c in self.columns]
        out = np.empty((table.n, sum(widths)))
        size = max(1, _BLOCK // out.shape[1])  # a few MB at a time: no column copied whole
        for start, block in table.blocks(size, consume):
            parts = [spec.encode(block.column(spec.name), block) for spec in self.columns]
            inputs = out[start : start + block.n]
            np.concatenate(parts, axis=1, out=inputs)  # straight into X: no block copied twice
            if not -FLOAT32_MAX <= inputs.min() <= inputs.max() <= FLOAT32_MAX:  # inf, 1e300
                for spec in self.columns:
                    spec.check(block.column(spec.name), block)
        return out

    def _from_chunks(self, table: Table) -> np.ndarray:
        """The inputs (n, d) made from the table's numeric columns, chunked alike (as pyarrow
        reads them), a chunk at a time on every core (each chunk a band of X's rows of its own):
        its columns gathered into X's rows a few MB at a time (in the cache: the transposition
        is cheap), gaps filled, the range checked, then the chunk freed (so reading and encoding
        hold the numbers about once).  A value out of range: the first in the file is named."""
        columns = [table.column(name) for name in self.names]
        fills = np.array([c.fill for c in self.columns])
        sizes = [len(x) for x in columns[0].chunks]
        starts = np.cumsum([0, *sizes])
        out = np.empty((table.n, len(columns)))

        def copy(k: int) -> int:
            chunks = [c.chunks[k] for c in columns]
            for column in columns:
                column.chunks[k] = FREED  # the table is consumed: the chunk goes once copied
            self._copy_chunk(chunks, out[starts[k] : starts[k + 1]], fills, table, starts[k])
            return 8 * sizes[k] * len(chunks)

        freed = 0
        for copied in in_order(copy, range(len(sizes)), values=table.n * len(columns)):
            freed += copied
            if freed > _RELEASE_BYTES:  # give the freed buffers back as X grows
                release_freed()
                freed = 0
        table.columns = []  # consumed: the other columns' chunks go with the table
        release_freed()
        return out

    def _copy_chunk(self, chunks: list, rows: np.ndarray, fills, table: Table, at: int) -> None:
        """Columns' chunks (m,) each into ``rows`` (m, d), rows ``at``.. of the table."""
        size = max(1, _BLOCK // len(chunks))
        for first in range(0, len(rows), size):
            block = rows[first : first + size]
            for j, chunk in enumerate(chunks):
                block[:, j] = chunk[first : first + size]
            self._fill_and_check(block, fills, table, int(at) + first)

    def _fill_and_check(self, rows: np.ndarray, fills: np.ndarray, table: Table, at: int):
        """Fill the gaps of ``rows`` (m, d), rows ``at``.. of the table, with ``fills`` (d,);
        FormatError naming the first value float32 cannot hold finitely."""
        gaps = np.isnan(rows)
        if gaps.any():
            np.copyto(rows, np.broadcast_to(fills, rows.shape), where=gaps)
        if not -FLOAT32_MAX <= rows.min() <= rows.max() <= FLOAT32_MAX:
            i, j = np.argwhere(~(np.abs(rows) <= FLOAT32_MAX))[0]
            check_float32(rows[i : i + 1, j], table, self.names[j], at + int(i))

    def describe(self) -> list[str]:
        """The log's lines: a table of the kept columns, then one line per left-out column."""
        width = max(6, *(len(c.name) for c in self.columns))
        lines = [f"  {'column':<{width}}  {'type':<11}  {'missing':>7}  levels"]
        for c in self.columns:
            levels = str(len(c.levels)) + (" + other" if c.other else "") if c.levels else "-"
            lines.append(f"  {c.name:<{width}}  {c.type:<11}  {c.missing:>7}  {levels}")
        shown = [f"left out: {name or '(no name)'}: {why}" for name, why in self.left_out]
        return lines + shown

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "columns": [c.to_dict() for c in self.columns],
            "left_out": [list(pair) for pair in self.left_out],
            "options": self.options.to_dict(),
        }

    @classmethod
    def from_dict(cls, data, source: str = "model") -> TableSchema:
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            return cls(
                tuple(ColumnSpec.from_dict(c) for c in data["columns"]),
                tuple((str(a), str(b)) for a, b in data.get("left_out", [])),
                TableOptions.of(**data.get("options", {})),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{source}: unreadable table schema ({exc})") from None


def check_float32(x: np.ndarray, table: Table, name: str, at: int = 0) -> None:
    """FormatError naming the first value of ``x`` (n,), rows ``at``.. of ``table``'s column
    ``name``, that float32 cannot hold finitely (NaN, a missing value, passes)."""
    values = np.asarray(x, dtype=np.float64)
    beyond = ~np.isnan(values) & ~(np.abs(values) <= FLOAT32_MAX)
    if beyond.any():
        i = int(np.argmax(beyond))
        raise FormatError(
            f"{table.where}, {table.row(at + i)}, column {name!r}: {values[i]:g} is not a "
            f"finite number within float32's range (+-{FLOAT32_MAX:.3g})"
        )


def _number_stats(table: Table, target: str | None) -> dict[str, NumberStats]:
    """The facts of each column of numbers but the target (its chunks copied once each)."""
    names = [
        name
        for name, column in zip(table.names, table.columns)
        if column.kind != "text" and name != target
    ]
    found = in_order(
        lambda name: column_stats(table.column(name).chunks), names, values=table.n * len(names)
    )
    stats = dict(zip(names, found))
    release_freed()  # the copies' memory, before the inputs take theirs
    return stats


def _aligned(columns: list[Column]) -> bool:
    """True when the columns are all numbers, chunked alike (as pyarrow reads them)."""
    return all(c.kind != "text" for c in columns) and chunked_alike(columns)


def _fit_column(
    name: str, kind: str, column: Column, table: Table, stats: NumberStats | None
) -> ColumnSpec:
    if kind == "categorical":
        values = column.values()
        codes, keys = level_codes(values)
        tally = np.bincount(codes, minlength=len(keys))
        gaps = int(sum(c for k, c in zip(keys, tally) if k is None))
        counts = {k: int(c) for k, c in zip(keys, tally) if k is not None}
        least = min_level_rows(len(values))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [level for level, count in ranked[: max_levels(len(values))] if count >= least]
        levels = tuple(sorted(kept)) + ((MISSING_LEVEL,) if gaps else ())
        return ColumnSpec(name, kind, gaps, levels=levels, other=len(kept) < len(counts))
    true = None
    if kind == "boolean" and column.kind == "text" and numbers(column) is None:
        present = {v for v in column.values() if v is not None}
        true = (boolean_pair(present) or ("yes", "no"))[0]
    if stats is None:  # numbers written as text, yes/no text
        stats = column_stats(ColumnSpec(name, kind, true=true)._numbers(column, table))
    gaps = stats.missing
    return ColumnSpec(name, kind, gaps, stats.median, gaps > 0, true)
