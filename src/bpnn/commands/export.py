"""``bpnn export MODEL --out FILE.onnx``: the model as an ONNX graph (``bpnn.export``).

The graph takes the raw input bpnn takes (uint8 pixels for image models, raw features
otherwise), applies the model's preprocessing, and outputs the probabilities and the label (or
the values).  Needs the onnx package (``pip install 'bpnn[onnx]'``).
"""

from __future__ import annotations

import json

from . import MODEL, command


def add_parser(sub) -> None:
    p = command(
        sub,
        "export",
        "export a model as an ONNX graph",
        "Write the model as a standard ONNX graph (opset 17): its "
        "preprocessing, Gemm layers and activations inside, outputs 'probabilities' "
        "and 'label' for classifiers, 'values' for regressors (a table's column of "
        "one of those names keeps it: the output becomes NAME_output); metadata holds "
        "the architecture, classes and training results.",
        run,
        model=MODEL,
        json="print what was written as JSON",
    )
    p.add_argument("--out", metavar="FILE", required=True, help="the .onnx file to write")
    p.add_argument(
        "--input-type",
        choices=("uint8", "float32", "float64"),
        help="element type of the graph's input (default: uint8 for image models, float64 "
        "for a table's, else the network's float type); not for a table with text or gaps",
    )


def run(args) -> int:
    from ..export import OPSET, to_onnx, write_onnx
    from ..model import Model

    proto = to_onnx(Model.load(args.model), input_type=args.input_type)
    write_onnx(proto, args.out)
    info = {
        "out": args.out,
        "opset": OPSET,
        "inputs": [i.name for i in proto.graph.input],
        "outputs": [o.name for o in proto.graph.output],
    }
    if args.json:
        print(json.dumps(info))
    else:
        print(
            f"wrote {args.out} (ONNX opset {OPSET}; input{'s' if len(info['inputs']) > 1 else ''} "
            f"{', '.join(info['inputs'])}, outputs {', '.join(info['outputs'])})"
        )
    return 0
