"""A run's whole report: ``build_report`` / ``write_report`` pick the figures a run can have,
draw them, and write the pages and ``report.json`` into ``run_dir/report/`` (see ``bpnn.report``).

Also here: ``summarise`` (the run's key numbers, report.json) and the test predictions as the
figures take them (``class_predictions``, ``value_pairs``).  Not here: reading the run
(``bpnn.report.rundata``), drawing (``bpnn.report.figures``), the pages (``bpnn.report.page``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..augment import deformation, valid_augment
from ..errors import BpnnError
from ..fileio import atomic_write
from .figures import (
    DEFORMED_IMAGES,
    Predictions,
    mistakes,
    plot_confusion,
    plot_deformed,
    plot_learning_curves,
    plot_mistakes,
    plot_predictions,
    plot_residuals,
    plot_weights,
    save_figure,
)
from .page import FIGURES, tables, write_html, write_markdown
from .rundata import (
    Run,
    TestSet,
    image_shape,
    load_test_set,
    read_run,
    run_metric,
    target_names,
    training_images,
)

__all__ = ["Report", "build_report", "summarise", "write_report"]


@dataclass
class Report:
    """The numbers and files of a report; ``notices`` say what was skipped and why."""

    out_dir: Path
    summary: dict
    files: list = field(default_factory=list)
    notices: list = field(default_factory=list)


def class_predictions(run: Run, test: TestSet) -> Predictions:
    """The classifier's test predictions with true labels as class indices."""
    return Predictions(test.X, run.model.targets.encode(test.y), test.outputs, run.model.classes)


def value_pairs(run: Run, test: TestSet) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) regression values, each (n, k) in the targets' units."""
    predicted = run.model.targets.decode(test.outputs).reshape(len(test.outputs), -1)
    return np.asarray(test.y, dtype=np.float64).reshape(predicted.shape), predicted


def summarise(run: Run, test: TestSet | None) -> dict:
    """The key numbers of the run as JSON-able data (the test scores when the data was there,
    else the ones recorded at training time)."""
    net, h = run.net, run.history
    results, config = run.info.results, run.info.config
    seconds = results.get("seconds")
    if seconds is None:
        seconds = sum(r.get("seconds") or 0 for r in h["epochs"])
    summary = {
        "run": str(run.path),
        "architecture": "-".join(map(str, net.sizes)),
        "activation": net.activation,
        "output": net.output,
        "loss": net.loss_name,
        "dtype": net.dtype.name,
        "parameters": net.n_params(),
        "task": run.model.task,
        "targets": run.model.targets.describe(),
        "metric": run_metric(run).name,
        "data": run.info.data.source or config.get("data"),
        "preprocessing": run.model.preprocessing.describe(),
        "training": {k: config.get(k) for k in ("preset", "optimizer", "lr", "batch_size", "seed")},
        "epochs": results.get("epochs", len(h["epochs"])),
        "best_epoch": h.get("best_epoch"),
        "stop_reason": h.get("stop_reason") or results.get("stop_reason"),
        "seconds": round(float(seconds), 2),
        "test_error": results.get("test_error"),
        "val_error": results.get("val_error"),
        "test_samples": results.get("test_samples"),
    }
    if test is not None:
        summary.update(_test_numbers(test.scores), test_data=test.source)
    if summary["test_error"] is not None and run.model.task == "classify":
        summary["accuracy"] = 1 - summary["test_error"]
    return summary


def _test_numbers(s: dict) -> dict:
    """Summary entries from ``bpnn.evaluation.scores`` of the test set."""
    if s["task"] == "classify":
        return {
            "test_error": s["error_rate"],
            "test_samples": s["samples"],
            "test_wrong": s["errors"],
            "classes": s["classes"],
            "confusion_matrix": s["confusion_matrix"],
            "per_class_error": s["per_class_error"],
        }
    return {
        "test_error": s["rmse_mean"],
        "test_samples": s["samples"],
        "test_rmse": s["rmse"],
        "test_mae": s["mae"],
        "test_r2": s["r2"],
        "test_r2_mean": s["r2_mean"],
    }


def data_figures(run: Run, test: TestSet, shape, notice) -> dict:
    """name -> figure maker for the figures of the test predictions."""
    if run.model.task == "regress":
        true, predicted = value_pairs(run, test)
        names = target_names(run, true.shape[1])
        return {
            "predictions.png": lambda: plot_predictions(true, predicted, names),
            "residuals.png": lambda: plot_residuals(true, predicted, names),
        }
    preds = class_predictions(run, test)
    cm = np.asarray(test.scores["confusion_matrix"])
    figures = {
        "confusion_matrix.png": lambda: plot_confusion(cm, run.model.targets.labels.tolist())
    }
    wrong = mistakes(preds)
    if shape is None:
        notice(
            f"the inputs ({run.net.n_inputs} features) are not an image: skipping the mistakes grid"
        )
    elif len(wrong):
        figures["misclassified.png"] = lambda: plot_mistakes(preds, wrong, shape)
    else:
        notice("no misclassified test samples to show")
    return figures


def deformed_figure(run: Run, source, shape, notice) -> dict:
    """{"deformed.png": maker} for a run trained with deformations (the first training images
    of ``source``, each beside a few draws of its deformations), else {}."""
    augment = run.info.config.get("augment")
    d = deformation(augment) if isinstance(augment, str) and valid_augment(augment) else None
    if d is None or shape is None:
        return {}
    try:
        X = training_images(run, source)
    except (BpnnError, ValueError, OSError) as exc:
        notice(f"training data not available, skipping the deformed images: {exc}")
        return {}
    images = np.ascontiguousarray(X[:DEFORMED_IMAGES], np.uint8)
    return {"deformed.png": lambda: plot_deformed(images, shape, d, f"--augment {augment}")}


DATA_FIGURES = (
    "confusion_matrix.png",
    "misclassified.png",
    "predictions.png",
    "residuals.png",
    "deformed.png",
)


def _kept(out: Path, figures: dict) -> set[str]:
    """The figures of the test data an earlier report drew into ``out``: kept when this one
    cannot redraw them (a report never deletes what it cannot redraw)."""
    return {n for n in DATA_FIGURES if n not in figures and (out / n).is_file()}


def build_report(run_dir, data_dir=None, *, out_dir=None, log=None) -> Report:
    """Write every figure and page of ``run_dir``'s report; returns its numbers and files.

    data_dir: the data SOURCE to test on (``bpnn.data.load_source``: a registered name, IDX
    folder, .csv or .npz; default: the source the run records).  out_dir: where to write
    (default ``run_dir/report``).  log: called with one line per notice (figures skipped and
    why); None keeps quiet.
    """
    run = read_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    notices: list[str] = []

    def notice(line: str) -> None:
        notices.append(line)
        if log is not None:
            log(line)

    test = load_test_set(run, data_dir, notice)
    shape = image_shape(run)
    final_test = run.info.results.get("test_error")
    metric = run_metric(run)
    figures = {"learning_curves.png": lambda: plot_learning_curves(run.history, final_test, metric)}
    if test is not None:
        figures.update(data_figures(run, test, shape, notice))
    if shape is not None:
        figures["weights.png"] = lambda: plot_weights(run.net.layers[0].W, shape)
    else:
        notice(
            f"the first layer takes {run.net.n_inputs} inputs, not an image: "
            "skipping the weight images"
        )
    if test is not None:  # (its source has the training images too)
        figures.update(deformed_figure(run, test.source, shape, notice))
    kept = _kept(out, figures) if test is None else set()
    if kept:
        notice(
            f"kept from an earlier report (its data is not here to redraw them): "
            f"{', '.join(sorted(kept))}"
        )
    for name in FIGURES:  # a figure from an earlier report that this one skips would mislead
        if name not in figures and name not in kept:
            (out / name).unlink(missing_ok=True)
    for name, make in figures.items():
        save_figure(make(), out / name)
    summary = summarise(run, test)
    names = [name for name in FIGURES if name in figures or name in kept]  # the pages' order
    extra = tables(
        summary, target_names(run, len(summary["test_rmse"])) if "test_rmse" in summary else None
    )
    write_html(out / "index.html", summary, names, notices, extra)
    write_markdown(out / "README.md", summary, names, notices, extra)
    summary_json = json.dumps({**summary, "figures": names, "notices": notices}, indent=1)
    atomic_write(out / "report.json", lambda f: f.write(summary_json.encode()))
    files = [out / n for n in names] + [out / "index.html", out / "README.md", out / "report.json"]
    return Report(out, summary, [str(f) for f in files], notices)


def write_report(run_dir, data_dir=None, *, out_dir=None, log=None) -> Path:
    """Write the report of ``run_dir`` (see ``build_report``); returns the path of index.html."""
    return Path(build_report(run_dir, data_dir, out_dir=out_dir, log=log).out_dir) / "index.html"
