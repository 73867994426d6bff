"""``bpnn evaluate MODEL``: a model's scores on a data set.

Classification: error rate, accuracy, per-class errors and the confusion matrix with the class
labels.  Regression: RMSE, MAE and R^2 per target.  The data is ``--data SOURCE``, else the source
the model was trained on; the test set is the source's own, else the same seeded held-out part
the training run used.
"""

from __future__ import annotations

import json

from ..errors import BpnnError
from ..model import Model
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


def evaluation_data(model: Model, source: str | None, target: str | None, split: str):
    """(X, y, source) of ``split`` for ``model``: --data or the model's recorded source."""
    from ..data.sources import load_source
    from ..fitting import prepare
    from ..settings import TrainConfig

    info = model.info.data
    source = source or info.source
    if source in (None, "arrays"):
        raise BpnnError(
            "the model does not record a data source it can be evaluated on: give --data SOURCE"
        )
    same = source == info.source
    data = load_source(source, target=target or info.target, test=info.test if same else None)
    if data.X_train.shape[1] != model.net.n_inputs:
        raise BpnnError(
            f"the model takes {model.net.n_inputs} inputs but {data.source} has "
            f"{data.X_train.shape[1]} features"
        )
    if data.X_test is not None:  # the source's own test set
        return (
            (data.X_test, data.y_test, data.source)
            if split == "test"
            else (data.X_train, data.y_train, data.source)
        )
    # The run held out part of the data as its test set: take exactly the same parts again.
    try:
        config = TrainConfig.from_dict(model.info.config) if model.info.config else None
    except (KeyError, TypeError, ValueError):  # settings this bpnn cannot read
        config = None
    if config is None:
        raise BpnnError(
            f"{data.source} has no test set and the model does not record how it split the data"
        )
    run = prepare(data.X_train, data.y_train, config=config, limit=info.limit if same else None)
    part = run.test if split == "test" else run.train
    if part is None:
        raise BpnnError(f"{data.source} has no {split} set")
    return part.X, part.y, data.source


def run(args) -> int:
    model = Model.load(args.model)
    X, y, source = evaluation_data(model, args.data, args.target, args.split)
    result = {
        "model": str(args.model),
        "data": str(source),
        "split": args.split,
        **model.score(X, y),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.model} on the {args.split} set of {source} ({result['samples']} samples)")
    for line in describe(result):
        print(line)
    return 0


def describe(result: dict) -> list[str]:
    """Human-readable lines of ``bpnn.evaluation.scores``."""
    if result["task"] == "regress":
        lines = ["target   RMSE          MAE           R^2"]
        for k, (rmse, mae, r2) in enumerate(zip(result["rmse"], result["mae"], result["r2"])):
            lines.append(f"{k:<8d} {rmse:<13.6g} {mae:<13.6g} {'-' if r2 is None else f'{r2:.5f}'}")
        return lines
    labels = [str(c) for c in result["classes"]]
    width = max(6, *(len(c) + 1 for c in labels))
    lines = [
        f"error rate {100 * result['error_rate']:.2f}% ({result['errors']} wrong), "
        f"accuracy {100 * result['accuracy']:.2f}%",
        "confusion matrix (rows: true class, columns: predicted)",
        " " * width + "".join(f"{c:>{width}}" for c in labels) + "   error",
    ]
    for c, row, err in zip(labels, result["confusion_matrix"], result["per_class_error"]):
        lines.append(
            f"{c:>{width}}" + "".join(f"{v:>{width}d}" for v in row) + f"  {100 * err:5.2f}%"
        )
    return lines
