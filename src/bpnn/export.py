"""ONNX export: a bpnn model as a standard ONNX graph that takes the same raw input bpnn takes.

``to_onnx(model)`` builds, in opset ``OPSET`` (17, IR version 8; onnxruntime 1.14 and later):

    input (N, d): uint8 pixels for image models, else raw features (the network's float type);
      a model trained on a table with text, yes/no or missing values (a ``TableSchema`` that
      is not ``plain``) takes instead one input (N,) per raw column, named as the column,
      encoded in the graph (``bpnn.onnxtable``)
      -> Cast (uint8 only) -> the model's preprocessing: Mul (scale), Sub + Div (standardize,
         in float64 as bpnn computes it),
         or the quantile bins in float64 (``_binned``: ple's (N, d*T) encoding, quantile's CDF)
      -> per layer: Gemm (x W^T + b) and its activation (Sigmoid, Tanh, Relu, LeakyRelu; none
         for identity); the output layer's Softmax where the model has one
      -> a committee (``--ensemble K``): each member's layers, then Sum / K, their mean
      -> outputs: classifiers ``probabilities`` (N, k) (a softmax output as it is, other outputs
         clipped at 0 and normalised, as ``Model.predict_proba``) and ``label`` (N,) (the
         class with the largest output, as a label: int64 or string); regressors ``values``
         (N, k) in the targets' units (Mul + Add), kept within the training targets' range
         (Max + Min) where the model keeps one; a bare ``Network`` gives its ``outputs``.  A table
         column named like an output keeps its name; the output is then NAME_output.

The graph's metadata (``metadata_props``) holds the architecture, task, classes, preprocessing,
training settings and results as JSON strings.  Needs ``onnx`` (``pip install 'bpnn[onnx]'``);
nothing else in bpnn imports this module.  Not here: running the graph (onnxruntime).
"""

from __future__ import annotations

import json

import numpy as np

from . import __version__, onnxtable
from .committee import members_of
from .errors import BpnnError
from .fileio import atomic_write
from .model import Model
from .network import Network

__all__ = ["IR_VERSION", "OPSET", "save_onnx", "to_onnx", "write_onnx"]

OPSET = 17
IR_VERSION = 8


def _onnx():
    try:
        import onnx
    except ImportError:
        raise BpnnError("ONNX export needs the onnx package: pip install 'bpnn[onnx]'") from None
    return onnx


class _Graph:
    """Nodes and constants being collected, with fresh names."""

    def __init__(self, onnx, dtype: np.dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list = []  # onnx NodeProto
        self.inits: list = []  # onnx TensorProto
        self.count = 0

    def const(self, name: str, value, dtype=None) -> str:
        array = np.asarray(value, dtype=dtype or self.dtype)
        self.inits.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list, output: str | None = None, **attrs) -> str:
        self.count += 1
        output = output or f"{op_type.lower()}_{self.count}"
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], **attrs))
        return output


def _preprocess(g: _Graph, x: str, model: Model | None) -> str:
    prep = None if model is None else model.preprocessing
    if prep is None or prep.kind == "none":
        return x
    if prep.kind == "scale":
        return g.op("Mul", [x, g.const("scale", prep.scale)])
    if prep.kind in ("ple", "quantile"):
        return _binned(g, x, prep)
    # in float64, as bpnn computes it: a float32 mean is off by up to 6e-5 for a column of
    # years (2008 +- 1), which its small std turns into an input off by 1e-4
    f64, to = np.float64, g.onnx.helper.np_dtype_to_tensor_dtype
    x = g.op("Cast", [x], to=to(np.dtype(f64)))
    x = g.op("Sub", [x, g.const("mean", prep.mean, f64)])
    x = g.op("Div", [x, g.const("std", prep.std, f64)])
    return g.op("Cast", [x], to=to(g.dtype))


def _in_float64(model: Model | None) -> bool:
    """Whether ``_preprocess`` computes in float64 (and casts to the network's type last)."""
    prep = None if model is None else model.preprocessing
    return prep is not None and prep.kind in ("standardize", "ple", "quantile")


def _binned(g: _Graph, x: str, prep) -> str:
    """quantile / ple (``bpnn.binning``) as nodes, computed in float64 as bpnn computes them:
    x (N, d) -> clipped bin fractions (N, d, T) -> ple: (N, d*T); quantile: (N, d)."""
    t, f64 = prep.tables(), np.float64
    to = g.onnx.helper.np_dtype_to_tensor_dtype
    x = g.op("Cast", [x], to=to(np.dtype(f64)))
    z = g.op("Unsqueeze", [x, g.const("axis2", [2], np.int64)])
    z = g.op(
        "Mul",
        [
            g.op("Sub", [z, g.const("bin_start", t.start, f64)]),
            g.const("bin_inv_width", t.inv_width, f64),
        ],
    )
    z = g.op(
        "Min", [g.op("Max", [z, g.const("bin_low", t.low, f64)]), g.const("bin_high", t.high, f64)]
    )
    if prep.kind == "ple":
        shape = g.const("ple_shape", [0, t.start.size], np.int64)  # 0: keep N
        out = g.op("Reshape", [z, shape])
    else:
        rise = g.op("Mul", [z, g.const("cdf_rise", t.rise, f64)])
        u = g.op("ReduceSum", [rise, g.const("axis2b", [2], np.int64)], keepdims=0)
        u = g.op(
            "Sub", [g.op("Add", [u, g.const("cdf_base", t.base, f64)]), g.const("half", 0.5, f64)]
        )
        out = g.op("Mul", [u, g.const("uniform_std", np.sqrt(12.0), f64)])
    return g.op("Cast", [out], to=to(g.dtype))


def _layers(g: _Graph, x: str, net: Network, prefix: str = "") -> str:
    """Gemm + activation per layer; returns the output layer's activations (N, k).  A committee
    (``bpnn.committee``): each member's layers (weights ``m{k}.W0``...), then their mean."""
    members = members_of(net)
    if len(members) > 1:
        outs = [_layers(g, x, member, f"m{k}.") for k, member in enumerate(members)]
        return g.op("Div", [g.op("Sum", outs), g.const("members", len(members))])
    for i, layer in enumerate(net.layers):
        W, b = g.const(f"{prefix}W{i}", layer.W), g.const(f"{prefix}b{i}", layer.b)
        x = g.op("Gemm", [x, W, b], transB=1)
        x = layer.activation.onnx(g.op, x)  # the activation adds its own nodes
    return x


def _probabilities(g: _Graph, y: str, net: Network) -> str:
    """``Model.predict_proba`` (``Activation.probabilities``) as nodes: outputs that are
    probabilities (softmax) as they are; else clip at 0 and normalise (1/k if all 0)."""
    if net.layers[-1].activation.probability:
        return g.op("Identity", [y], "probabilities")
    clipped = g.op("Relu", [y])
    total = g.op("ReduceSum", [clipped, g.const("axis1", [1], np.int64)], keepdims=1)
    positive = g.op("Greater", [total, g.const("zero", 0)])
    safe = g.op("Where", [positive, total, g.const("one", 1)])
    uniform = g.const("uniform", np.full((1, net.n_outputs), 1 / net.n_outputs))
    return g.op("Where", [positive, g.op("Div", [clipped, safe]), uniform], "probabilities")


def _outputs(g: _Graph, y: str, model: Model | None) -> list:
    """The graph's outputs (name, element type, shape) after adding their nodes."""
    onnx = g.onnx
    tensor = onnx.helper.np_dtype_to_tensor_dtype(g.dtype)
    if model is None:
        g.op("Identity", [y], "outputs")
        return [("outputs", tensor)]
    targets = model.targets
    if model.task == "classify":
        probs = _probabilities(g, y, model.net)
        classes = np.asarray(targets.classes)  # object: string labels of a fitted DataFrame's y
        text = classes.dtype.kind in "UO"
        classes = classes.astype(str).astype(object) if text else classes.astype(np.int64)
        index = g.op("ArgMax", [y], axis=1, keepdims=0)
        g.op("Gather", [g.const("classes", classes, classes.dtype), index], "label")
        label_type = onnx.TensorProto.STRING if text else onnx.TensorProto.INT64
        return [(probs, tensor), ("label", label_type)]
    if targets.mean is not None:
        y = g.op(
            "Add",
            [
                g.op("Mul", [y, g.const("target_std", targets.std)]),
                g.const("target_mean", targets.mean),
            ],
        )
    if targets.low is not None and targets.high is not None:  # the training targets' range
        y = g.op(
            "Min",
            [
                g.op("Max", [y, g.const("target_low", targets.low)]),
                g.const("target_high", targets.high),
            ],
        )
    g.op("Identity", [y], "values")
    return [("values", tensor)]


def _input_type(model: Model | None, net: Network, input_type: str | None) -> np.dtype:
    """uint8 for image models (raw pixels), float64 for a table's numbers (as bpnn reads
    them), else the network's float type."""
    if input_type is not None:
        if input_type not in ("uint8", "float32", "float64"):
            raise ValueError(f"input type must be uint8, float32 or float64, got {input_type!r}")
        return np.dtype(input_type)
    image = model is not None and (
        model.info.data.kind == "image" or model.preprocessing.image_shape
    )
    if image:
        return np.dtype(np.uint8)
    return np.dtype(np.float64) if model is not None and model.schema is not None else net.dtype


def _metadata(model: Model | None, net: Network) -> dict:
    meta: dict[str, object] = {"bpnn_version": __version__, "architecture": net.config()}
    if model is not None:
        meta.update(
            task=model.task,
            targets=model.targets.to_dict(),
            classes=None if model.classes is None else model.classes.tolist(),
            preprocessing=model.preprocessing.to_dict(),
            training=model.info.config or None,
            results=model.info.results or None,
        )
        if model.schema is not None:
            meta["table"] = model.schema.to_dict()
    return {k: json.dumps(v) for k, v in meta.items()}


def to_onnx(model: Model | Network, *, input_type: str | None = None, opset: int = OPSET):
    """The ONNX ``ModelProto`` of a ``bpnn.Model`` (or of a bare ``Network``), checked by
    ``onnx.checker``.  input_type: the raw input's element type (default: uint8 for image
    models, else the network's float type)."""
    onnx = _onnx()
    net = model.net if isinstance(model, Model) else model
    full = model if isinstance(model, Model) else None
    g = _Graph(onnx, net.dtype)
    schema = None if full is None else full.schema
    fills = None
    if schema is not None and schema.plain():  # numbers only, no gaps: one matrix, as before
        fills, schema = [c.fill for c in schema.columns], None
    if schema is None:
        in_type = _input_type(full, net, input_type)
        # float64 input stays float64 through a float64 preprocessing (cast to the net's last)
        work = np.dtype(np.float64) if in_type == np.float64 and _in_float64(full) else net.dtype
        x = (
            "input"
            if in_type == work
            else g.op("Cast", ["input"], to=onnx.helper.np_dtype_to_tensor_dtype(work))
        )
        if fills is not None:  # bpnn fills a gap in new rows with the training median
            x = g.op("Where", [g.op("IsNaN", [x]), g.const("fill", [fills], work), x])
        width = net.n_inputs if full is None else full.n_features
        inputs = [("input", onnx.helper.np_dtype_to_tensor_dtype(in_type), ["N", width])]
    elif input_type is not None:
        raise BpnnError("a model trained on a table takes its columns as they are: no input type")
    else:  # a table's raw columns, one input each (bpnn.onnxtable)
        columns, x = onnxtable.table_inputs(g, schema)
        inputs = [(name, kind, ["N"]) for name, kind in columns]
    if schema is not None and not _in_float64(full):  # the table's float64 encoding
        x = g.op("Cast", [x], to=onnx.helper.np_dtype_to_tensor_dtype(net.dtype))
    y = _layers(g, _preprocess(g, x, full), net)
    outputs = [
        (name, kind, ["N", net.n_outputs] if name != "label" else ["N"])
        for name, kind in _outputs(g, y, full)
    ]
    if schema is not None:  # (an output named like a column gets another name)
        names = onnxtable.name_inputs(g, schema.names, [name for name, _, _ in outputs])
        outputs = [(names[name], kind, shape) for name, kind, shape in outputs]
    graph = onnx.helper.make_graph(
        g.nodes,
        "bpnn",
        [onnx.helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in inputs],
        [onnx.helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in outputs],
        initializer=g.inits,
    )
    proto = onnx.helper.make_model(
        graph,
        producer_name="bpnn",
        producer_version=__version__,
        opset_imports=[onnx.helper.make_opsetid("", opset)]
        + ([onnx.helper.make_opsetid(onnxtable.ML_DOMAIN, onnxtable.ML_OPSET)] if schema else []),
        ir_version=IR_VERSION,
        doc_string=f"bpnn {'-'.join(map(str, net.sizes))} network",
    )
    onnx.helper.set_model_props(proto, _metadata(full, net))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def save_onnx(model: Model | Network, path, **options) -> None:
    """Write ``to_onnx(model, **options)`` to ``path``."""
    write_onnx(to_onnx(model, **options), path)


def write_onnx(proto, path) -> None:
    """Write the ONNX ``proto`` to ``path`` atomically: a full disk or a kill leaves the file
    that was there (``bpnn.fileio.atomic_write``)."""
    data = proto.SerializeToString()
    atomic_write(path, lambda f: f.write(data))
