"""``bpnn info MODEL``: what a model predicts, from what, its layers and how it was trained.

MODEL is a model file or a run folder.  Shown: the task (classes, first few, or the number of
regression targets), the preprocessing the model applies, the data source it was trained on,
the layers and parameter count, training settings and recorded results; ``--json`` gives all of
it as one object.
"""

from __future__ import annotations

import json

from ..model import Model
from ..modelinfo import DataInfo
from ..targets import Targets
from . import MODEL, command

N_CLASSES_SHOWN = 10  # the human output lists this many classes; --json lists them all


def add_parser(sub) -> None:
    command(
        sub,
        "info",
        "describe a model file",
        "Task, classes, preprocessing, training data, architecture, "
        "training settings and results of a model (a model file or its run folder).",
        run,
        model=MODEL,
        json="print the description as JSON",
    )


def describe(path) -> dict:
    """The JSON description of the model in ``path``."""
    model = Model.load(path)
    net, info = model.net, model.info
    return {
        "model": str(path),
        "format_version": info.version,
        "network": net.config(),
        "layers": list(net.sizes),
        "parameters": net.n_params(),
        "members": len(model.members()),
        "task": model.task,
        "targets": model.targets.to_dict(),
        "classes": None if model.classes is None else model.classes.tolist(),
        "preprocessing": model.preprocessing.describe(),
        "preprocessing_settings": model.preprocessing.to_dict(),
        "data": info.data.to_dict() or None,
        "training": info.config or None,
        "results": info.results or None,
    }


def _task_line(info: dict) -> str:
    if info["task"] == "classify":
        classes = info["classes"]
        shown = ", ".join(map(str, classes[:N_CLASSES_SHOWN])) + (
            ", ..." if len(classes) > N_CLASSES_SHOWN else ""
        )
        return f"classify: {len(classes)} classes ({shown})"
    targets = info["targets"]  # (the model's own, read when it was loaded)
    return Targets.from_dict(targets, targets["n_values"]).describe()


def _data_line(info: dict) -> str | None:
    data = DataInfo.from_dict(info["data"])
    if not data.source:
        return None
    extra = [
        f"target {', '.join(data.target_names)}" if data.target_names else "",
        "{}x{} images".format(*data.image_shape) if data.image_shape else "",
        f"first {data.limit} samples" if data.limit else "",
    ]
    extra = [e for e in extra if e]
    return data.source + (f" ({'; '.join(extra)})" if extra else "")


def _results_line(info: dict) -> str | None:
    results = info["results"] or {}
    if results.get("test_error") is None:
        return None
    rmse = results.get("metric") == "rmse" or info["task"] == "regress"
    value = (
        f"test RMSE {results['test_error']:.5g}"
        if rmse
        else f"test error {100 * results['test_error']:.2f}%"
    )
    return (
        f"{value} after {results.get('epochs')} epochs ({results.get('seconds')} s); "
        f"{results.get('stop_reason')}"
    )


def run(args) -> int:
    info = describe(args.model)
    if args.json:
        print(json.dumps(info))
        return 0
    net = info["network"]
    print(f"model          {info['model']} (format version {info['format_version']})")
    print(f"task           {_task_line(info)}")
    print(f"preprocessing  {info['preprocessing']}")
    data = _data_line(info)
    if data:
        print(f"data           {data}")
    print(
        f"layers         {'-'.join(map(str, info['layers']))}  "
        f"({info['parameters']:,} parameters, {net['dtype']})"
        + (f"; a committee of {info['members']} such networks" if info["members"] > 1 else "")
    )
    print(f"activation     {net['activation']} hidden, {net['output']} output, {net['loss']} loss")
    if any(net["dropout"]):
        print(f"dropout        {net['dropout']}")
    training = info["training"] or {}
    if training:
        parts = [
            f"preset {training['preset']}" if training.get("preset") else "",
            f"{training.get('optimizer')} lr {training.get('lr')}",
            f"batch {training.get('batch_size')}",
            f"schedule {training.get('schedule')}",
            f"seed {training.get('seed')}",
        ]
        print(f"trained        {', '.join(p for p in parts if p)}")
    results = _results_line(info)
    if results:
        print(f"results        {results}")
    return 0
