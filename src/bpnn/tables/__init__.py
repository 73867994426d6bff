"""Tables as people have them: text categories, yes/no columns, missing values, any size.

- ``read``: ``read_table`` (a CSV or Parquet file) and ``frame_table`` (a DataFrame) -> ``Table``.
- ``types``: the documented typing rule (``column_type``) and its overrides (``TableOptions``).
- ``schema``: ``TableSchema``: types, fill values, levels and encodings, fitted on the training
  data; ``encode(table)`` -> (n, d) float64 inputs; stored in the model file as JSON.
- ``load``: ``table_dataset``: table files -> a ``Dataset`` (targets split off, schema applied).
"""

from .read import MISSING, Table, frame_table, is_frame, read_table
from .schema import ColumnSpec, TableSchema
from .types import TableOptions

__all__ = [
    "MISSING",
    "ColumnSpec",
    "Table",
    "TableOptions",
    "TableSchema",
    "frame_table",
    "is_frame",
    "read_table",
]
