"""What the ONNX tests of tabular models share (onnxruntime and pandas are imported by them).

- ``feeds(schema, rows)``: a DataFrame's columns as the graph's named inputs, made as the README
  says: float64 (NaN for missing; a yes/no column 1.0 for its yes, in any case) and strings (""
  for a missing value, other tokens as they are).
- ``run_graph(proto, inputs)``: the graph's outputs by name, from onnxruntime on the CPU.
"""

from __future__ import annotations

import numpy as np


def feeds(schema, rows) -> dict:
    """schema: the model's ``TableSchema``; rows: a DataFrame with (at least) its columns."""
    out = {}
    for spec in schema.columns:
        column = rows[spec.name]
        if spec.type == "categorical":
            out[spec.name] = column.astype(object).where(column.notna(), "").to_numpy(dtype=object)
        elif spec.true is not None:
            yes = column.astype(object).str.lower() == spec.true
            out[spec.name] = np.where(column.isna(), np.nan, yes).astype(np.float64)
        else:
            out[spec.name] = column.to_numpy(dtype=np.float64)
    return out


def run_graph(proto, inputs: dict) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs)))
