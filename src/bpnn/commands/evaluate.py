"""``bpnn evaluate MODEL``: a model's scores on a data set.

Classification: error rate, accuracy, per-class errors and the confusion matrix with the class
labels.  Regression: RMSE, MAE and R^2 per target.  A committee (``--ensemble``): each member's
error rate (or RMSE and R^2) first, then the committee's scores in full.  The data is
``--data SOURCE``, else the source the model was trained on; the test set is the source's own,
else the same seeded held-out part the training run used.
"""

from __future__ import annotations

import json

from ..model import Model
from ..runs import find_split
from . import add_data_options, command


def add_parser(sub) -> None:
    p = command(
        sub,
        "evaluate",
        "measure a model's error on a data set",
        "Scores of a model (a model file or a run folder) on the test or "
        "training set of a data source: error rate, accuracy and the confusion matrix "
        "for classes; RMSE, MAE and R^2 for regression.",
        run,
        model="a model file written by bpnn train (or its run folder)",
        json="print the results as JSON",
    )
    add_data_options(
        p,
        "the data (default: what the model was trained on)",
        "CSV: the target column (default: the model's)",
    )
    p.add_argument(
        "--split", choices=["test", "train"], default="test", help="which set (default: test)"
    )


def run(args) -> int:
    model = Model.load(args.model)
    X, y, source = find_split(model, args.data, args.target, args.split)
    result = {
        "model": str(args.model),
        "data": str(source),
        "split": args.split,
        **model.score(X, y),
    }
    if result["task"] == "regress":
        result["target_names"] = target_names(model, args.target, len(result["rmse"]))
    members = model.members()
    if len(members) > 1:
        result["members"] = [member.score(X, y) for member in members]
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.model} on the {args.split} set of {source} ({result['samples']} samples)")
    if len(members) > 1:
        for k, scores in enumerate(result["members"]):
            print(f"member {k}: {summary(scores)}")
        print(f"committee of {len(members)} (their mean): {summary(result)}")
    for line in describe(result):
        print(line)
    return 0


def target_names(model: Model, asked: str | None, count: int) -> list[str]:
    """The names of a regressor's ``count`` targets: the column asked for with ``--target``, else
    the columns the model was trained on, else their positions ("0", "1", ...)."""
    names = [asked] if asked else list(model.info.data.target_names or ())
    if not names and model.info.data.target:
        names = [model.info.data.target]
    return names if len(names) == count else [str(k) for k in range(count)]


def summary(result: dict) -> str:
    """One line of ``bpnn.evaluation.scores``: the error rate, or the mean RMSE and R^2."""
    if result["task"] == "classify":
        return f"error rate {100 * result['error_rate']:.2f}% ({result['errors']} wrong)"
    r2 = ", ".join(_r2(v) for v in result["r2"])
    return f"RMSE {result['rmse_mean']:.6g}, R^2 {r2}"


def _r2(value: float | None) -> str:
    return "-" if value is None else f"{value:.5f}"  # (None: a constant target has no R^2)


def describe(result: dict) -> list[str]:
    """Human-readable lines of ``bpnn.evaluation.scores``."""
    if result["task"] == "regress":
        names = result.get("target_names") or [str(k) for k in range(len(result["rmse"]))]
        width = max(8, *(len(name) + 1 for name in names))
        lines = [f"{'target':<{width}} RMSE          MAE           R^2"]
        for name, rmse, mae, r2 in zip(names, result["rmse"], result["mae"], result["r2"]):
            lines.append(f"{name:<{width}} {rmse:<13.6g} {mae:<13.6g} {_r2(r2)}")
        return lines
    labels = [str(c) for c in result["classes"]]
    width = max(6, *(len(c) + 1 for c in labels))
    lines = [
        f"{summary(result)}, accuracy {100 * result['accuracy']:.2f}%",
        "confusion matrix (rows: true class, columns: predicted)",
        " " * width + "".join(f"{c:>{width}}" for c in labels) + "   error",
    ]
    for c, row, err in zip(labels, result["confusion_matrix"], result["per_class_error"]):
        lines.append(
            f"{c:>{width}}" + "".join(f"{v:>{width}d}" for v in row) + f"  {100 * err:5.2f}%"
        )
    return lines
