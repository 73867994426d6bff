"""``bpnn evaluate MODEL``: error rate, accuracy, confusion matrix and per-digit errors on MNIST."""
from __future__ import annotations

import json

import numpy as np

from ..checkpoint import load_model
from ..errors import BpnnError


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="measure a model's error on the MNIST test set",
                       description="Error rate (wrong / total), accuracy, confusion matrix and "
                       "per-digit error rates of a model on MNIST.")
    p.add_argument("model", metavar="MODEL", help="a model file written by bpnn train (model.npz)")
    p.add_argument("--data", metavar="DIR", help="folder with the four MNIST files")
    p.add_argument("--split", choices=["test", "train"], default="test", help="which set (default: test)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def evaluate_model(net, images: np.ndarray, labels: np.ndarray, scale: float) -> dict:
    """Error rate, accuracy, confusion matrix (rows: true digit) and per-class error rates."""
    from ..data import confusion_matrix, per_class_error
    from ..train import predict_classes

    if images.shape[1] != net.n_inputs:
        raise BpnnError(f"the model takes {net.n_inputs} inputs but the images have {images.shape[1]} pixels")
    predicted = predict_classes(net, images, scale)
    cm = confusion_matrix(predicted, labels, net.n_outputs)
    per_class = per_class_error(cm)
    error = float(np.mean(predicted != labels))
    return {"samples": int(len(labels)), "errors": int(np.sum(predicted != labels)),
            "error_rate": error, "accuracy": 1 - error, "confusion_matrix": cm.tolist(),
            "per_class_error": [float(e) for e in per_class]}


def run(args) -> int:
    from ..data import find_mnist, load_mnist

    net, meta = load_model(args.model)
    folder = find_mnist(args.data)
    images, labels = load_mnist(folder, args.split)
    scale = float(meta.get("preprocessing", {}).get("scale", 1 / 255))
    result = {"model": args.model, "split": args.split, **evaluate_model(net, images, labels, scale)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.model} on the MNIST {args.split} set ({result['samples']} images)")
    print(f"error rate {100 * result['error_rate']:.2f}% ({result['errors']} wrong), "
          f"accuracy {100 * result['accuracy']:.2f}%")
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("      " + "".join(f"{k:>6d}" for k in range(net.n_outputs)) + "   error")
    for k, row in enumerate(result["confusion_matrix"]):
        print(f"{k:>6d}" + "".join(f"{v:>6d}" for v in row) + f"  {100 * result['per_class_error'][k]:5.2f}%")
    return 0
