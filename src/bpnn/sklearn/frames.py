"""DataFrames of raw columns into the estimators: text categories, yes/no columns and missing
values go through a ``bpnn.tables.TableSchema`` fitted on the training frame, as ``bpnn.fit``
does; the model records it, so ``predict`` (and ``save``, ``bpnn serve``, ``bpnn export``) take
raw rows with the same columns in any order.

A frame of numbers without gaps is taken as an array, as before (same inputs, same weights); an
array never goes through a schema (NaN in an array is still an error, as scikit-learn expects).
"""

from __future__ import annotations

import numpy as np

from ..errors import BpnnError
from ..tables.read import frame_table, is_frame, missing_tokens, number_dtype
from ..tables.schema import TableSchema
from ..tables.types import TableOptions

__all__ = ["encode", "fit_schema", "needs_schema"]


def needs_schema(X) -> bool:
    """True for a DataFrame that is not all numbers without gaps (text, categories, booleans,
    missing values)."""
    if not is_frame(X):
        return False
    if not all(number_dtype(dtype) for dtype in X.dtypes):
        return True
    return bool(np.asarray(X.isna()).any())


def fit_schema(X) -> TableSchema:
    """The schema of the frame X's columns (the documented typing rule, no overrides)."""
    try:
        return TableSchema.fit(frame_table(X), None, TableOptions())
    except BpnnError as exc:  # scikit-learn reports bad data as ValueError
        raise ValueError(str(exc)) from None


def encode(schema: TableSchema, X) -> np.ndarray:
    """The inputs (n, d) float64 of a DataFrame X holding the schema's columns."""
    if not is_frame(X):
        raise ValueError(
            f"this estimator was fitted on a DataFrame of raw columns; give it a DataFrame "
            f"with the columns {', '.join(schema.names)}"
        )
    try:
        return schema.encode(frame_table(X, missing_tokens(schema.options.missing)))
    except BpnnError as exc:
        raise ValueError(str(exc)) from None
