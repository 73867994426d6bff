"""``bpnn predict MODEL IMAGE... [--json] [--top K]``: read digits from image files.

Each image goes through ``bpnn.imaging`` (the MNIST preprocessing) and the model.  ``-`` reads
one image from standard input.  A file that cannot be used gets one line on stderr and the others
are still predicted; the exit status is then 2.  Probabilities are the softmax outputs; a model
with sigmoid outputs has its outputs normalised to sum to 1 (reported as ``"normalised": true``).
"""
from __future__ import annotations

import json
import sys

import numpy as np

from .. import imaging
from ..checkpoint import load_model

MAX_STDIN_BYTES = 64 * 2**20


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="read handwritten digits from image files",
                       description="Predict the digit in each image (PNG, JPEG, BMP or GIF; '-' "
                       "reads standard input). Any size, colour or grey, dark ink on light paper or "
                       "light on dark: images are prepared the way MNIST was made.")
    p.add_argument("model", metavar="MODEL", help="a model file (model.npz)")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files, or - for standard input")
    p.add_argument("--top", type=int, default=3, metavar="K",
                   help="also list the K most likely digits (default 3)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=run)


def predict_grid(net, grid: np.ndarray, scale: float, top: int) -> dict:
    """digit, probability and the ``top`` most likely classes for a (28, 28) uint8 image."""
    probs = imaging.digit_probabilities(net, imaging.mnist_to_input(grid, scale))
    order = np.argsort(-probs, kind="stable")[:top]
    return {"digit": int(order[0]), "probability": float(probs[order[0]]),
            "top": [{"digit": int(k), "probability": float(probs[k])} for k in order]}


def read_source(name: str):
    """A decoded image from a path, or from standard input for ``-``."""
    if name != "-":
        return imaging.load_image(name)
    data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise imaging.ImageError(f"standard input: more than {MAX_STDIN_BYTES:,} bytes")
    if not data:
        raise imaging.ImageError("standard input: empty")
    return imaging.load_image(data, name="standard input")


def run(args) -> int:
    net, meta = load_model(args.model)
    scale = imaging.check_model(net, meta)
    if not 1 <= args.top <= net.n_outputs:
        raise ValueError(f"--top must be between 1 and {net.n_outputs}, got {args.top}")
    if args.images.count("-") > 1:
        raise ValueError("standard input ('-') can be read only once")
    results, failed = [], 0
    for name in args.images:
        try:
            grid = imaging.image_to_mnist(read_source(name))
        except imaging.ImageError as exc:
            failed += 1
            message = str(exc) if str(exc).startswith(name) or name == "-" else f"{name}: {exc}"
            print(f"bpnn predict: error: {message}", file=sys.stderr)
            results.append({"file": name, "error": message})
            continue
        results.append({"file": name, **predict_grid(net, grid, scale, args.top)})
        if not args.json:
            print(describe(results[-1]), flush=True)
    normalised = net.output != "softmax"
    if args.json:
        print(json.dumps({"model": str(args.model), "normalised": normalised, "results": results}))
    elif normalised:
        print("(sigmoid outputs normalised to sum to 1)")
    return 2 if failed else 0


def describe(result: dict) -> str:
    """One line: ``file: digit (p%)   top d p%, ...``."""
    others = ", ".join(f"{t['digit']} {100 * t['probability']:.1f}%" for t in result["top"])
    return f"{result['file']}: {result['digit']} ({100 * result['probability']:.1f}%)   top {others}"
