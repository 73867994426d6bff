"""``bpnn predict MODEL IMAGE... | --rows FILE``: predictions of a model on new data.

Images (``IMAGE...``): each goes through ``bpnn.imaging`` (the MNIST preprocessing) and a 28x28
digit model.  ``-`` reads one image from standard input.  A file that cannot be used gets one line
on stderr and the others are still predicted; the exit status is then 2.  Probabilities are the
softmax outputs; a model with sigmoid outputs has its outputs normalised to sum to 1 (reported as
``"normalised": true``).

Rows (``--rows FILE``), for any model: FILE is a .npy array or a CSV file, its columns matched
to the model's inputs by ``bpnn.data.rows.read_rows`` (by the model's feature names when it
records them and the file has a header).

The model's preprocessing is applied as recorded.  Output: CSV with a header, ``prediction``
then ``p_<class>`` per class in the model's class order (classifiers), or one column per target
(regressors: ``prediction`` for one target, else the target names), on stdout or ``--out FILE``;
``--json`` writes one object instead.  Any unusable input (missing file, a cell that is not a
number, wrong width, NaN or infinity) ends with one line naming where, and exit status 2.
"""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np

from ..data.rows import read_rows
from ..fileio import atomic_write
from ..limits import MAX_IMAGE_FILE_BYTES
from ..modelfile import read_model
from . import MODEL, command


def add_parser(sub) -> None:
    p = command(
        sub,
        "predict",
        "predict digits in image files, or any model's outputs for rows of data",
        "Predict the digit in each image (PNG, JPEG, BMP or GIF; '-' "
        "reads standard input). Any size, colour or grey, dark ink on light paper or "
        "light on dark: images are prepared the way MNIST was made. Or, for any "
        "model, predict each row of a CSV or .npy file (--rows).",
        run,
        model=MODEL,
    )
    p.add_argument(
        "images", metavar="IMAGE", nargs="*", help="image files, or - for standard input"
    )
    p.add_argument(
        "--rows",
        metavar="FILE",
        help="a CSV file (header optional: columns are matched "
        "by the model's feature names when it has them) or a 2-D .npy array of features",
    )
    p.add_argument(
        "--out", metavar="FILE", help="--rows: write the predictions here instead of stdout"
    )
    p.add_argument(
        "--top",
        type=int,
        default=3,
        metavar="K",
        help="images: also list the K most likely digits (default 3)",
    )
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")


def run(args) -> int:
    if bool(args.images) == bool(args.rows):
        raise ValueError(
            "give either image files or --rows FILE (not both)"
            if args.images
            else "nothing to predict: give image files or --rows FILE"
        )
    if args.out and not args.rows:
        raise ValueError("--out is for --rows; image predictions go to standard output")
    return predict_rows(args) if args.rows else predict_images(args)


# ---- rows of features ------------------------------------------------------------------
def predict_rows(args) -> int:
    from ..model import Model

    model = Model.load(args.model)
    X = read_rows(args.rows, model.n_features, _feature_names(model))
    text = (
        json.dumps(rows_json(model, X, str(args.model))) + "\n" if args.json else rows_csv(model, X)
    )
    if args.out:
        atomic_write(args.out, lambda f: f.write(text.encode()))
    else:
        sys.stdout.write(text)
    return 0


def _feature_names(model) -> list[str] | None:
    """The model's feature names, when recorded (trained on a CSV file)."""
    names = model.info.data.feature_names
    return list(names) if names is not None and len(names) == model.n_features else None


def _value_names(model) -> list[str]:
    """Column names of a regressor's predictions: one target -> "prediction"."""
    k = model.targets.n_outputs
    if k == 1:
        return ["prediction"]
    names = model.info.data.target_names
    if names is not None and len(names) == k:
        return list(names)
    return [f"prediction_{j}" for j in range(k)]


def rows_csv(model, X: np.ndarray) -> str:
    """CSV text: a header, then one row per sample (label and class probabilities, or values)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if model.task == "classify":
        writer.writerow(["prediction", *(f"p_{c}" for c in model.classes.tolist())])
        labels, probs = model.predict(X), model.predict_proba(X)
        writer.writerows(
            [label, *(f"{p:.6g}" for p in row)] for label, row in zip(labels.tolist(), probs)
        )
    else:
        writer.writerow(_value_names(model))
        values = model.predict(X).reshape(len(X), -1)
        writer.writerows([f"{v:.10g}" for v in row] for row in values)
    return buf.getvalue()


def rows_json(model, X: np.ndarray, name: str) -> dict:
    """{"model", "predictions"} plus "classes" and "probabilities" (classify) or "targets"
    (regress), for the rows X (n, d)."""
    result = {"model": name, "predictions": model.predict(X).tolist()}
    if model.task == "classify":
        result.update(classes=model.classes.tolist(), probabilities=model.predict_proba(X).tolist())
    else:
        result["targets"] = _value_names(model)
    return result


# ---- images ----------------------------------------------------------------------------
def predict_grid(net, targets, grid: np.ndarray, scale: float, top: int) -> dict:
    """For a (28, 28) uint8 image: a classifier's class (as the model names it), probability and
    ``top`` most likely classes; a regressor's value(s) (``bpnn.imaging.model_answer``)."""
    from .. import imaging  # Pillow loads only when images are read

    said = imaging.model_answer(net, targets, imaging.mnist_to_input(grid, scale), top)
    keep = ("digit", "probability", "top", "value", "values")
    return {k: v for k, v in said.items() if k in keep}


def read_source(name: str):
    """A decoded image from a path, or from standard input for ``-``."""
    from .. import imaging  # Pillow loads only when images are read

    if name != "-":
        return imaging.load_image(name)
    data = sys.stdin.buffer.read(MAX_IMAGE_FILE_BYTES + 1)
    if len(data) > MAX_IMAGE_FILE_BYTES:
        raise imaging.ImageError(f"standard input: more than {MAX_IMAGE_FILE_BYTES:,} bytes")
    if not data:
        raise imaging.ImageError("standard input: empty")
    return imaging.load_image(data, name="standard input")


def predict_images(args) -> int:
    from .. import imaging  # Pillow loads only when images are read

    net, info = read_model(args.model)
    scale = imaging.check_model(net, info)
    targets = imaging.model_targets(net, info)
    if targets.task == "classify" and not 1 <= args.top <= net.n_outputs:
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
        results.append({"file": name, **predict_grid(net, targets, grid, scale, args.top)})
        if not args.json:
            print(describe(results[-1]), flush=True)
    normalised = targets.task == "classify" and not net.layers[-1].activation.probability
    if args.json:
        print(json.dumps({"model": str(args.model), "normalised": normalised, "results": results}))
    elif normalised:
        print("(sigmoid outputs normalised to sum to 1)")
    return 2 if failed else 0


def describe(result: dict) -> str:
    """One line: ``file: class (p%)   top c p%, ...``, or a regressor's ``file: value(s)``."""
    if "value" in result or "values" in result:
        values = result["values"] if "values" in result else [result["value"]]
        return f"{result['file']}: {', '.join(f'{v:.6g}' for v in values)}"
    others = ", ".join(f"{t['digit']} {100 * t['probability']:.1f}%" for t in result["top"])
    return (
        f"{result['file']}: {result['digit']} ({100 * result['probability']:.1f}%)   top {others}"
    )
