"""``bpnn predict MODEL IMAGE... | --rows FILE``: predictions of a model on new data.

Images (``IMAGE...``): each goes through ``bpnn.imaging`` (the MNIST preprocessing) and a 28x28
digit model.  ``-`` reads one image from standard input.  A file that cannot be used gets one line
on stderr and the others are still predicted; the exit status is then 2.  Probabilities are the
softmax outputs; a model with sigmoid outputs has its outputs normalised to sum to 1 (reported as
``"normalised": true``).

Rows (``--rows FILE``), for any model: FILE is a .npy array or a CSV file, its columns matched
to the model's inputs by ``bpnn.data.rows.read_rows`` (by the model's feature names when it
records them and the file has a header).  A model trained on a table (it records a
``bpnn.tables.TableSchema``) takes a CSV or Parquet file of raw rows: the columns it was trained
on, by name, in any order (others ignored), filled and encoded as in training.

The model's preprocessing is applied as recorded.  Output: CSV with a header, ``prediction``
then ``p_<class>`` per class in the model's class order (classifiers), or one column per target
(regressors: ``prediction`` for one target, else the target names), on stdout or ``--out FILE``;
``--json`` writes one object instead.  Any unusable input (missing file, a cell that is not a
number, wrong width, NaN or infinity) ends with one line naming where, and exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path

import numpy as np

from ..data.csvread import csv_rows
from ..data.keep import kept_columns
from ..data.rows import names_all, read_rows
from ..data.sources import TABLES
from ..errors import BpnnError
from ..evaluation import UNSURE_BELOW
from ..fileio import atomic_write
from ..limits import MAX_IMAGE_FILE_BYTES
from ..modelfile import read_model
from ..tables.read import read_table
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
    p.add_argument(
        "--unsure",
        type=_probability,
        default=UNSURE_BELOW,
        metavar="P",
        help="images: call an answer unsure when its probability is below P "
        f"(default {UNSURE_BELOW}: see the README)",
    )
    p.add_argument(
        "--keep",
        metavar="COLUMNS",
        help="--rows: copy these columns of the CSV file (comma-separated header names, such as "
        "an identifier) into the output, before the predictions",
    )
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")


def _probability(text: str) -> float:
    """--unsure: a probability from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a probability from 0 to 1, got {text!r}")
    return value


def run(args) -> int:
    if bool(args.images) == bool(args.rows):
        raise ValueError(
            "give either image files or --rows FILE (not both)"
            if args.images
            else "nothing to predict: give image files or --rows FILE"
        )
    if args.out and not args.rows:
        raise ValueError("--out is for --rows; image predictions go to standard output")
    if args.keep and not args.rows:
        raise ValueError("--keep is for --rows: it copies columns of the rows' CSV file")
    return predict_rows(args) if args.rows else predict_images(args)


# ---- rows of features ------------------------------------------------------------------
def predict_rows(args) -> int:
    from ..model import Model

    model = Model.load(args.model)
    X = _rows(model, args.rows)
    kept = kept_columns(args.rows, args.keep.split(",")) if args.keep else {}
    if any(len(values) != len(X) for values in kept.values()):  # a header read as data
        raise BpnnError(f"--keep: {args.rows} has a header only some of its columns start with")
    if args.json:
        text = json.dumps({**rows_json(model, X, str(args.model)), **_kept_json(kept)}) + "\n"
    else:
        text = _with_kept(rows_csv(model, X), kept)
    if args.out:
        atomic_write(args.out, lambda f: f.write(text.encode()))
    else:
        sys.stdout.write(text)
    return 0


def _kept_json(kept: dict[str, list[str]]) -> dict:
    """The --keep columns as JSON: {"kept": {column: [values]}} (nothing without --keep)."""
    return {"kept": kept} if kept else {}


def _with_kept(text: str, kept: dict[str, list[str]]) -> str:
    """CSV ``text`` (a header, one row per sample) with the --keep columns in front."""
    if not kept:
        return text
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = list(kept.values())
    for k, row in enumerate(csv.reader(io.StringIO(text))):
        writer.writerow([*(kept if k == 0 else (c[k - 1] for c in columns)), *row])
    return buf.getvalue()


def _rows(model, rows: str) -> np.ndarray:
    """The model's inputs for the file ``rows``: a table of raw columns encoded by the model's
    schema (a model trained on a table), else features as they are (``read_rows``)."""
    schema, path = model.schema, Path(rows)
    if schema is None or path.suffix.lower() not in TABLES or not path.exists():
        return read_rows(rows, model.n_features, _feature_names(model))
    if path.suffix.lower() == ".csv" and schema.plain() and not _names_all(path, schema.names):
        # a model of numbers only takes rows as before: without a header, by position
        return read_rows(rows, model.n_features, _feature_names(model))
    return schema.encode(read_table(path, schema.options.missing))


def _names_all(path: Path, names: list[str]) -> bool:
    """Whether the CSV file's first row names every one of ``names``."""
    first = next(csv_rows(path), None)
    return first is not None and names_all(first[1], names)


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
def predict_grid(
    net, targets, grid: np.ndarray, scale: float, top: int, unsure_below: float = UNSURE_BELOW
) -> dict:
    """For a (28, 28) uint8 image: a classifier's class (as the model names it), probability,
    whether it is unsure and the ``top`` most likely classes; a regressor's value(s)
    (``bpnn.imaging.model_answer``)."""
    from .. import imaging  # Pillow loads only when images are read

    x = imaging.mnist_to_input(grid, scale)
    said = imaging.model_answer(net, targets, x, top, unsure_below)
    keep = ("digit", "probability", "unsure", "top", "value", "values")
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
        said = predict_grid(net, targets, grid, scale, args.top, args.unsure)
        results.append({"file": name, **said})
        if not args.json:
            print(describe(results[-1], args.unsure), flush=True)
    normalised = targets.task == "classify" and not net.layers[-1].activation.probability
    if args.json:
        doc = {"model": str(args.model), "normalised": normalised, "unsure_below": args.unsure}
        print(json.dumps({**doc, "results": results}))
        return 2 if failed else 0
    if normalised:
        print("(sigmoid outputs normalised to sum to 1)")
    return 2 if failed else 0


def describe(result: dict, unsure_below: float = UNSURE_BELOW) -> str:
    """One line: ``file: class (p%)   top c p%, ...`` (``class (p%, unsure: below 80%)`` below
    the threshold), or a regressor's ``file: value(s)``."""
    if "value" in result or "values" in result:
        values = result["values"] if "values" in result else [result["value"]]
        return f"{result['file']}: {', '.join(f'{v:.6g}' for v in values)}"
    others = ", ".join(f"{t['digit']} {100 * t['probability']:.1f}%" for t in result["top"])
    unsure = f", unsure: below {100 * unsure_below:g}%" if result.get("unsure") else ""
    said = f"{result['digit']} ({100 * result['probability']:.1f}%{unsure})"
    return f"{result['file']}: {said}   top {others}"
