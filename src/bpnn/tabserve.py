"""The tabular JSON API's work, apart from the web stack: rows of raw columns as JSON in, the
model's answers out (``bpnn.server`` routes ``POST /predict`` of a table model here).

``TableModel.of(net, info)``: a model trained on a raw table (it has a ``TableSchema``), else
None.  ``answer(doc)``: ``{"rows": [{column: value, ...}, ...]}`` (1 to ``max_rows`` rows; a
value is a number, a string, true/false or null; columns in any order, extra ones ignored) ->

- a classifier: ``{"classes": [...], "predictions": [{"label", "probability",
  "probabilities": [one per class]}, ...]}``;
- a regressor: ``{"predictions": [{"value": v} or {"values": [...]}, ...]}``.

Values are read as the training table's were: null, NaN and the missing tokens (``NA``, ``""``,
...) are missing; a yes/no column takes its two words (any case), true/false or 1/0; a category
takes text or a number (3 and "3" are one level).  A request the client got wrong is one
``RowsError`` (HTTP status and a one-line message naming the row and column).
``describe()``: what the model takes (columns, types, levels, an example request).
"""

from __future__ import annotations

import math

import numpy as np

from . import evaluation
from .errors import BpnnError
from .limits import MAX_TABLE_ROWS
from .model import Model
from .modelinfo import ModelInfo
from .preprocessing import Preprocessing
from .tables.read import Column, Table, missing_tokens
from .tables.schema import MISSING_LEVEL, ColumnSpec, TableSchema, level
from .targets import Targets

__all__ = ["RowsError", "TableModel"]


class RowsError(Exception):
    """A request the client got wrong: HTTP status and a one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class TableModel:
    """A model trained on a table, answering rows of raw columns."""

    def __init__(self, model: Model, schema: TableSchema, max_rows: int = MAX_TABLE_ROWS):
        self.model, self.schema, self.max_rows = model, schema, max_rows
        self.tokens = missing_tokens(schema.options.missing)

    @classmethod
    def of(cls, net, meta: ModelInfo | dict, max_rows: int = MAX_TABLE_ROWS) -> TableModel | None:
        """The table model of a loaded network and metadata; None when it has no schema."""
        info = ModelInfo.coerce(meta)
        if info.data.schema is None:
            return None
        prep = Preprocessing.from_dict(info.preprocessing)
        model = Model(net, prep, Targets.from_dict(info.targets, net.n_outputs), info)
        return cls(model, TableSchema.from_dict(info.data.schema), max_rows)

    def describe(self) -> dict:
        """What the model takes: {"kind": "table", "columns": [{name, type, levels?}], ...}."""
        columns = []
        for spec in self.schema.columns:
            column: dict = {"name": spec.name, "type": spec.type}
            if spec.type == "categorical":
                column["levels"] = _levels(spec)
            elif spec.true is not None:
                column["values"] = list(spec.pair)
            columns.append(column)
        return {
            "kind": "table",
            "task": self.model.task,
            "classes": None if self.model.classes is None else self.model.classes.tolist(),
            "columns": columns,
            "max_rows": self.max_rows,
            "example": {"rows": [{s.name: _example(s) for s in self.schema.columns}]},
        }

    def answer(self, doc) -> dict:
        """The model's answers for the JSON document ``doc`` (module docstring)."""
        X = self.encode(self.rows(doc))
        try:
            outputs = self.model.outputs(X)
        except ValueError as exc:  # beyond float32 after encoding
            raise RowsError(422, str(exc)) from None
        targets = self.model.targets
        decoded = targets.decode(outputs)
        if targets.task == "regress":
            values = np.asarray(decoded, dtype=float).reshape(len(X), -1)
            key = "value" if values.shape[1] == 1 else "values"
            return {"predictions": [{key: _one(v, key)} for v in values]}
        probs = evaluation.probabilities(self.model.net, outputs)
        return {
            "classes": targets.labels.tolist(),
            "predictions": [
                {"label": label, "probability": float(p.max()), "probabilities": p.tolist()}
                for label, p in zip(np.asarray(decoded).tolist(), probs)
            ],
        }

    def rows(self, doc) -> list[dict]:
        """The rows of the request, checked for shape and count."""
        rows = doc.get("rows") if isinstance(doc, dict) else None
        if not isinstance(rows, list) or not rows:
            raise RowsError(422, 'JSON body must be {"rows": [{column: value, ...}, ...]}')
        if len(rows) > self.max_rows:
            raise RowsError(413, f"{len(rows):,} rows is over the {self.max_rows:,}-row limit")
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise RowsError(422, f"row {i + 1} is not an object of column: value")
        return rows

    def encode(self, rows: list[dict]) -> np.ndarray:
        """The inputs (n, d) of the rows, by the model's schema."""
        columns = [self._column(spec, rows) for spec in self.schema.columns]
        table = Table(self.schema.names, columns, "request")
        try:
            return self.schema.encode(table)
        except BpnnError as exc:  # a value beyond float32
            raise RowsError(422, str(exc)) from None

    def _column(self, spec: ColumnSpec, rows: list[dict]) -> Column:
        values = []
        for i, row in enumerate(rows):
            if spec.name not in row:
                raise RowsError(
                    422,
                    f"row {i + 1} has no column {spec.name!r} (the model reads "
                    f"{', '.join(self.schema.names)}; null for a missing value)",
                )
            try:
                values.append(self._value(spec, row[spec.name]))
            except ValueError as exc:
                raise RowsError(422, f"row {i + 1}, column {spec.name!r}: {exc}") from None
        if spec.type == "categorical":
            return Column("text", [np.array(values + [None], dtype=object)[:-1]])
        return Column("float", [np.array(values, dtype=np.float64)])

    def _value(self, spec: ColumnSpec, v):
        """One JSON value as the column takes it: a level (str or None) or a float (NaN)."""
        if v is not None and not isinstance(v, (bool, int, float, str)):
            raise ValueError("a value must be a number, a string, true, false or null")
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        if isinstance(v, str) and v.strip().lower() in self.tokens:
            missing = True
        if spec.type == "categorical":
            if missing:
                return None
            if isinstance(v, bool):
                return "true" if v else "false"
            return level(v.strip() if isinstance(v, str) else v)  # stripped, as read from a file
        if missing:
            return math.nan
        if spec.type == "boolean":
            return _boolean(spec, v)
        if isinstance(v, bool):
            raise ValueError(f"{str(v).lower()} is not a number")
        return _number(v)


def _levels(spec: ColumnSpec) -> list[str]:
    """A categorical column's levels a request can name (not its ``(missing)`` level)."""
    return [v for v in spec.levels if v != MISSING_LEVEL]


def _boolean(spec: ColumnSpec, v) -> float:
    """1.0 or 0.0: the column's own words (any case), true/false, or 1/0."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, str) and spec.true is not None:
        word = v.strip().lower()
        pair = spec.pair
        if word in pair or word in ("true", "false"):
            return float(word in (pair[0], "true"))
    try:
        x = float(v)
    except (ValueError, OverflowError):
        x = math.nan
    if x not in (0.0, 1.0):
        words = f"{'/'.join(spec.pair)}, " if spec.true is not None else ""
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
        raise ValueError(f"{shown} is not {words}true/false or 1/0")
    return x


def _number(v) -> float:
    try:
        return float(v)
    except ValueError:
        raise ValueError(f"{str(v)[:40]!r} is not a number") from None
    except OverflowError:  # an integer of hundreds of digits
        raise ValueError("a number beyond float32's range") from None


def _one(v: np.ndarray, key: str):
    return float(v[0]) if key == "value" else v.tolist()


def _example(spec: ColumnSpec):
    """A value for the column in an example request: the fill, the first level, or true."""
    if spec.type == "categorical":
        real = _levels(spec)
        return real[0] if real else None
    if spec.type == "boolean":
        return True
    return spec.fill
