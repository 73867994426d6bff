"""The raw columns of a table as ONNX graph inputs, encoded inside the graph as bpnn encodes them
(``bpnn.tables.schema``): ``table_inputs(g, schema)`` adds the nodes, ``bpnn.export`` the rest.

One graph input per kept column, named as the column, shape (N,):

- numeric and boolean columns: double (float64, what bpnn reads a table's numbers as: a float32
  input would round a value of 1e8 to a step of 8 before it is standardized); NaN is a missing
  value.
  A boolean column is fed as numbers, 1 for yes/true/TRUE/y/t and 0 for the other value,
  whatever its text was in the table.  A missing value is filled with the training median
  (IsNaN, Where), and a column that had gaps gets its ``NAME=(missing)`` input (Cast of IsNaN).
- categorical columns: strings.  ``ai.onnx.ml.LabelEncoder`` maps each kept level to its
  position, a missing value (an empty string, or a token of ``bpnn.tables.read.MISSING`` or the
  model's ``--missing`` in any mix of cases: "NA", "n/a", "NaN", "Null", "?", ...; see
  ``spellings``) to the ``(missing)`` level's, anything else to -1; Equal against 0..L-1 gives
  the one-hot inputs, and the ``(other)`` input is 1 where none of them is: a pooled or unseen
  level, or a missing value where training had none (as bpnn: (other) when the column has it,
  else all zeros).

The encoded inputs (N, d) are concatenated in the schema's order, in float64; ``bpnn.export``
then standardizes or bins them in float64 and casts to the network's float type last, as bpnn
does (preprocessing "none" or "scale": cast first, as bpnn casts first).  Needs only the standard
domain and ``ai.onnx.ml`` (``ML_OPSET``), both in onnxruntime's default CPU build.
"""

from __future__ import annotations

import numpy as np

from .tables.read import MISSING, token_spellings
from .tables.schema import MISSING_LEVEL, ColumnSpec, TableSchema

__all__ = ["ML_DOMAIN", "ML_OPSET", "missing_strings", "name_inputs", "table_inputs"]

ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 2
GAP, UNSEEN = -2, -1  # LabelEncoder codes: a missing value without its own level; anything unseen


def missing_strings(schema: TableSchema) -> list[str]:
    """The strings a categorical input takes as missing (see the module docstring)."""
    tokens = [*MISSING, *(t.strip().lower() for t in schema.options.missing)]
    spelled = {s: None for t in tokens for s in spellings(t)}  # ordered, unique
    return list(spelled)


# a token in every mix of cases, as pyarrow's null values are: listed, not lower-cased in the
# graph (``StringNormalizer`` needs a locale the machine may lack)
spellings = token_spellings


def table_inputs(g, schema: TableSchema) -> tuple[list, str]:
    """Adds the encoding nodes to ``g`` (``bpnn.export._Graph``); returns the graph inputs
    [(name, element type)] and the encoded inputs' name (N, d), in float64."""
    onnx = g.onnx
    axis = g.const("table_axis1", [1], np.int64)
    inputs, parts = [], []
    for j, spec in enumerate(schema.columns):
        column = g.op("Unsqueeze", [placeholder(j), axis])  # (N,) -> (N, 1)
        if spec.type == "categorical":
            inputs.append((spec.name, onnx.TensorProto.STRING))
            parts.extend(_one_hot(g, j, spec, column, missing_strings(schema)))
        else:
            inputs.append((spec.name, _double(g)))
            parts.extend(_filled(g, j, spec, column))
    return inputs, g.op("Concat", parts, axis=1)


def _filled(g, j: int, spec: ColumnSpec, x: str) -> list[str]:
    """A numeric or boolean column (N, 1): NaN -> its fill, and its missing indicator."""
    gaps = g.op("IsNaN", [x])
    filled = g.op("Where", [gaps, g.const(f"fill_{j}", spec.fill, np.float64), x])
    if not spec.indicator:
        return [filled]
    return [filled, g.op("Cast", [gaps], to=_double(g))]


def _one_hot(g, j: int, spec: ColumnSpec, x: str, missing: list[str]) -> list[str]:
    """A categorical column (N, 1) of strings: one-hot (N, L) and its (other) input (N, 1)."""
    levels = list(spec.levels)
    codes = {level: k for k, level in enumerate(levels) if level != MISSING_LEVEL}
    gap = levels.index(MISSING_LEVEL) if MISSING_LEVEL in levels else GAP
    for token in missing:
        codes.setdefault(token, gap)  # a level spelled like a token stays a level (never: read)
    code = g.op(
        "LabelEncoder",
        [x],
        domain=ML_DOMAIN,
        keys_strings=list(codes),
        values_int64s=list(codes.values()),
        default_int64=UNSEEN,
    )
    positions = g.const(f"levels_{j}", np.arange(len(levels))[None, :], np.int64)
    hot = g.op("Cast", [g.op("Equal", [code, positions])], to=_double(g))  # (N, L)
    if not spec.other:
        return [hot]
    axis = g.const(f"sum_axis_{j}", [1], np.int64)
    seen = g.op("ReduceSum", [hot, axis], keepdims=1)
    return [hot, g.op("Sub", [g.const(f"one_{j}", [[1.0]], np.float64), seen])]


def _double(g) -> int:
    return g.onnx.TensorProto.DOUBLE


def placeholder(j: int) -> str:
    """The name column ``j`` goes by while the graph is built (``name_inputs`` renames it)."""
    return f"\u2063column{j}"


def name_inputs(g, columns: list[str], outputs: list[str]) -> dict[str, str]:
    """Names the graph's inputs as the columns, first giving any node or constant of ``g``
    named like a column another name (a column may be called "W0" or "mean"), an output so
    named its name and "_output" (a column may be called "label": ONNX wants every name once,
    and a table's columns are what its users feed by name); returns {output: its name now}."""
    internal = {o for node in g.nodes for o in node.output} | {t.name for t in g.inits}
    taken = set(columns) | internal
    renamed = {placeholder(j): name for j, name in enumerate(columns)}
    for name in sorted(set(columns) & internal):
        stem = f"{name}_output" if name in outputs else name
        fresh = (stem if k == 0 else f"{stem}_{k}" for k in range(len(taken) + 2))
        renamed[name] = next(f for f in fresh if f not in taken)
        taken.add(renamed[name])
    for tensor in g.inits:
        tensor.name = renamed.get(tensor.name, tensor.name)
    for node in g.nodes:
        node.output[:] = [renamed.get(o, o) for o in node.output]
        node.input[:] = [renamed.get(i, i) for i in node.input]
    return {o: renamed.get(o, o) for o in outputs}
