"""Training reports: PNG figures of a run folder plus an HTML and a Markdown page showing them.

``write_report(run_dir)`` reads ``model.npz`` and ``history.json`` from a run folder written by
``bpnn train`` (or ``bpnn.fit``), for any model, and writes into ``run_dir/report/``:

- ``learning_curves.png``: training loss, and the validation and test metric (error % for
  classifiers, RMSE for regressors) against epoch;
- classifiers: ``confusion_matrix.png`` on the test set with the class labels and per-class
  errors; ``misclassified.png``, the most confident mistakes (only when the inputs are images);
- regressors: ``predictions.png`` (predicted against true) and ``residuals.png`` (residual against
  predicted), one panel per target for the first few targets;
- ``weights.png``: the first layer's weights of up to 64 hidden units as images (image inputs only);
- ``index.html``, ``README.md``: the figures with the key numbers; ``report.json``: the numbers.

The test data comes from ``bpnn.runs.find_split``: the source the model records
(or the one given), the same test split the run used.  A report never downloads: a registered
data set that is not on disk, or any source that cannot be read, skips the data figures with a
notice.  Figures use matplotlib's ``Figure`` with the Agg canvas directly, never pyplot, so no
global backend or figure state changes.
Not here: computing anything the trainer already recorded (the curves come from history.json).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from . import evaluation
from .data import mnist
from .data.metrics import per_class_error
from .errors import BpnnError, FormatError
from .fileio import atomic_write
from .model import Model

__all__ = ["FIGURES", "Report", "build_report", "write_report"]

# Figure file -> caption, in the order the pages show them.
FIGURES = {
    "learning_curves.png": "Learning curves",
    "confusion_matrix.png": "Confusion matrix on the test set",
    "misclassified.png": "Most confident mistakes on the test set",
    "predictions.png": "Predicted against true values on the test set",
    "residuals.png": "Residuals on the test set",
    "weights.png": "First-layer weights",
}
DPI = 110
N_MISTAKES = 36  # a 6x6 grid
N_UNITS = 64  # an 8x8 grid
N_TARGETS = 4  # regression panels: the first few targets
N_POINTS = 5000  # regression scatter: at most this many (evenly spaced) samples
MAX_ANNOTATED = 30  # confusion matrices with more classes show colours only, no counts
MAX_TABLE = 30  # ... and are left out of the pages' tables (report.json keeps them)
LEGACY_SHAPE = (28, 28)  # bpnn 0.1 models recorded no image shape: they read MNIST digits


@dataclass
class Run:
    """What a run folder holds: the model (network, preprocessing, targets, metadata) and the
    per-epoch history."""

    path: Path
    model: Model
    history: dict

    @property
    def net(self):
        return self.model.net

    @property
    def meta(self) -> dict:
        return self.model.meta


@dataclass
class Predictions:
    """Test features X (n, n_inputs) as loaded, true class indices (n,) and the network's outputs
    (n, k); ``classes`` (k,) are the labels of the indices (default: the indices themselves)."""

    images: np.ndarray
    labels: np.ndarray
    outputs: np.ndarray
    classes: np.ndarray | None = None

    @property
    def predicted(self) -> np.ndarray:
        return np.argmax(self.outputs, axis=1)

    def label(self, index: int) -> str:
        return str(index if self.classes is None else self.classes[index])


@dataclass
class TestSet:
    """The test set and what the model makes of it: raw X (n, d), raw y, outputs (n, k) and the
    ``bpnn.evaluation.scores`` dict."""

    X: np.ndarray
    y: np.ndarray
    outputs: np.ndarray
    scores: dict
    source: str


@dataclass
class Report:
    """The numbers and files of a report; ``notices`` say what was skipped and why."""

    out_dir: Path
    summary: dict
    files: list = field(default_factory=list)
    notices: list = field(default_factory=list)


# ---- reading ---------------------------------------------------------------------------
def read_run(run_dir) -> Run:
    """The model and history of a run folder, or a BpnnError naming what is missing."""
    path = Path(run_dir)
    if not path.is_dir():
        raise BpnnError(f"{path}: no such run folder")
    for name in ("model.npz", "history.json"):
        if not (path / name).is_file():
            raise BpnnError(
                f"{path}: no {name} in the run folder (is it a finished bpnn train run?)"
            )
    model = Model.load(path / "model.npz")
    try:
        history = json.loads((path / "history.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path / 'history.json'}: not valid JSON ({exc})") from None
    if not isinstance(history, dict) or not isinstance(history.get("epochs"), list):
        raise FormatError(f"{path / 'history.json'}: no list of epochs")
    return Run(path, model, history)


def _data_info(run: Run) -> dict:
    info = run.meta.get("data")
    return info if isinstance(info, dict) else {}


def _candidates(run: Run, source) -> list[str]:
    """Data sources to try, in order: the one given, else the recorded one.  bpnn 0.1 runs
    recorded an MNIST folder in their config (which may have moved since): then MNIST itself."""
    if source:
        return [str(source)]
    recorded = _data_info(run).get("source")
    if recorded:
        return [str(recorded)]
    folder = (run.meta.get("config") or {}).get("data")
    return ([str(folder)] if isinstance(folder, str) and folder else []) + ["mnist"]


def _on_disk(source: str) -> None:
    """BpnnError unless a registered data set is already on disk: a report never downloads."""
    if source in mnist.DATASETS:
        mnist.find_dataset(source, download=False, progress=False, notice=lambda line: None)


def load_test_set(run: Run, source, log) -> TestSet | None:
    """The test set of ``source`` (default: the run's recorded one) and the model's outputs on
    it, or None (with a notice) when it cannot be had."""
    from .runs import find_split  # the same split `bpnn evaluate` uses

    what = (
        "the confusion matrix and mistakes"
        if run.model.task == "classify"
        else "the predicted-against-true and residual plots"
    )
    candidates = _candidates(run, source)
    for i, name in enumerate(candidates):
        try:
            _on_disk(name)
            X, y, found = find_split(run.model, name, None, "test")
            out = run.model.outputs(X)
            return TestSet(X, y, out, evaluation.scores(run.model.targets, out, y), str(found))
        except (BpnnError, ValueError, OSError) as exc:
            if i == len(candidates) - 1:
                log(f"test data not available, skipping {what}: {exc}")
    return None


def image_shape(run: Run) -> tuple[int, int] | None:
    """(height, width) of the input images, or None if the inputs are not one image."""
    prep = run.meta.get("preprocessing") or {}
    shape = _data_info(run).get("image_shape") or prep.get("image_shape")
    if shape is None and "kind" not in prep:
        shape = LEGACY_SHAPE
    try:
        h, w = int(shape[0]), int(shape[1])  # type: ignore[index]  # None: a TypeError
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    return (h, w) if h * w == run.net.n_inputs else None


def class_predictions(run: Run, test: TestSet) -> Predictions:
    """The classifier's test predictions with true labels as class indices."""
    return Predictions(test.X, run.model.targets.encode(test.y), test.outputs, run.model.classes)


def value_pairs(run: Run, test: TestSet) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) regression values, each (n, k) in the targets' units."""
    predicted = run.model.targets.decode(test.outputs).reshape(len(test.outputs), -1)
    return np.asarray(test.y, dtype=np.float64).reshape(predicted.shape), predicted


def target_names(run: Run, k: int) -> list[str]:
    """Names of the k regression targets: the recorded ones, else "target 0", "target 1", ..."""
    names = _data_info(run).get("target_names")
    if isinstance(names, list) and len(names) == k:
        return [str(n) for n in names]
    return [f"target {j}" for j in range(k)] if k > 1 else ["target"]


# ---- figures ---------------------------------------------------------------------------
def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)  # attach the Agg canvas: no pyplot, no global backend
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI))


def _series(epochs: list, key: str) -> tuple[list, list]:
    """(epoch numbers, values) of the records where ``key`` has a number."""
    points = [
        (r.get("epoch", i + 1), r[key])
        for i, r in enumerate(epochs)
        if isinstance(r.get(key), (int, float))
    ]
    return [p[0] for p in points], [p[1] for p in points]


@dataclass
class Metric:
    """How the history's ``val_error``/``test_error`` are shown: error rate in %, or RMSE."""

    name: str

    @property
    def factor(self) -> float:
        return 100.0 if self.name == "error_rate" else 1.0

    @property
    def title(self) -> str:
        return "Error rate" if self.name == "error_rate" else "RMSE (targets' units)"

    @property
    def axis(self) -> str:
        return "error (%)" if self.name == "error_rate" else "RMSE"

    @property
    def word(self) -> str:
        return "error" if self.name == "error_rate" else "RMSE"

    def format(self, value) -> str:
        if value is None:
            return "n/a"
        return f"{100 * value:.2f}%" if self.name == "error_rate" else f"{value:.5g}"


def run_metric(run: Run) -> Metric:
    """The metric of the run's history (bpnn 0.1 histories hold error rates)."""
    name = run.history.get("metric") or (run.meta.get("results") or {}).get("metric")
    return Metric(name or ("error_rate" if run.model.task == "classify" else "rmse"))


def plot_learning_curves(
    history: dict, final_test: float | None = None, metric: Metric | None = None
) -> Figure:
    """Two panels: training loss; validation and test metric, best epoch marked.

    final_test: the final model's test metric, drawn as a star at the epoch whose weights it has
    (the best one) when the history holds no per-epoch test values (the trainer tests once).
    metric: what the errors are (default: error rates).
    """
    metric = metric or Metric("error_rate")
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_loss, ax_err = fig.subplots(1, 2, sharex=True)
    epochs = history["epochs"]
    style = {"marker": "o", "ms": 3} if len(epochs) <= 40 else {}  # dots only while they stay apart
    x, y = _series(epochs, "train_loss")
    ax_loss.plot(x, y, color="tab:blue", **style)
    ax_loss.set(title="Training loss", xlabel="epoch", ylabel="mean loss per sample")
    if y and min(y) > 0 and max(y) / min(y) > 20:
        ax_loss.set_yscale("log")
    for key, label, colour in (
        ("val_error", f"validation {metric.word}", "tab:orange"),
        ("test_error", f"test {metric.word}", "tab:green"),
    ):
        x_err, y_err = _series(epochs, key)
        if x_err:  # evaluations are sparse (every N epochs): always mark the points
            ax_err.plot(
                x_err,
                [metric.factor * v for v in y_err],
                color=colour,
                label=label,
                marker="o",
                ms=4 if len(x_err) <= 40 else 2,
            )
    best = history.get("best_epoch")
    if final_test is not None and not _series(epochs, "test_error")[0] and epochs:
        at = best if best is not None else epochs[-1].get("epoch", len(epochs))
        ax_err.plot(
            [at],
            [metric.factor * final_test],
            "*",
            ms=12,
            color="tab:green",
            label=f"test {metric.word} of the final model ({metric.format(final_test)})",
        )
    has_points = bool(ax_err.lines)
    if best is not None:
        for ax in (ax_loss, ax_err):
            ax.axvline(best, color="grey", ls="--", lw=1)
        ax_err.plot([], [], color="grey", ls="--", lw=1, label=f"best epoch ({best})")
    ax_err.set(title=metric.title, xlabel="epoch", ylabel=metric.axis)
    if has_points:
        ax_err.legend(loc="upper right", fontsize=9)
    else:
        ax_err.text(
            0.5,
            0.5,
            "no evaluations recorded",
            ha="center",
            va="center",
            transform=ax_err.transAxes,
            color="grey",
        )
        ax_err.set_yticks([])
    numbers = [r.get("epoch", i + 1) for i, r in enumerate(epochs)] or [1]
    pad = max(0.5, 0.03 * (max(numbers) - min(numbers)))
    ax_loss.set_xlim(min(numbers) - pad, max(numbers) + pad)
    for ax in (ax_loss, ax_err):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10], min_n_ticks=1))
        ax.grid(alpha=0.3)
    return fig


def _short(label, width: int = 12) -> str:
    """A class label cut to ``width`` characters for tick labels."""
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def plot_confusion(cm: np.ndarray, classes=None) -> Figure:
    """Counts annotated in each cell, coloured by the share of the true class (log scale so the
    few off-diagonal mistakes stay visible next to the big diagonal); per-class error on the right.

    cm: (k, k) counts, rows true class; classes: the k labels (default 0..k-1).
    """
    k = len(cm)
    labels = [_short(c) for c in (range(k) if classes is None else classes)]
    rows = np.maximum(cm.sum(axis=1, keepdims=True), 1)
    share = np.where(cm > 0, cm / rows, np.nan)
    side = min(max(6.4, 0.35 * k + 3), 20)  # inches: room for k labels, at most 2200 pixels
    fig = Figure(figsize=(side + 1, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", norm=LogNorm(vmin=1e-3, vmax=1), interpolation="nearest")
    ax.set_facecolor("white")
    if k <= MAX_ANNOTATED:
        for i, j in zip(*np.nonzero(cm)):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=8 if cm[i, j] < 1000 else 7,
                color="white" if share[i, j] > 0.1 else "black",
            )
    small = 8 if k > 15 else 10
    ax.set_xticks(range(k), labels, rotation=90 if max(map(len, labels)) > 3 else 0, fontsize=small)
    ax.set_yticks(range(k), labels, fontsize=small)
    ax.set(
        xlabel="predicted class",
        ylabel="true class",
        title=f"Confusion matrix ({cm.sum():,} test samples, {cm.sum() - np.trace(cm):,} wrong)",
    )
    ax.tick_params(length=0)
    right = ax.secondary_yaxis("right")
    right.set_yticks(range(k), [f"{100 * e:.1f}%" for e in per_class_error(cm)], fontsize=small)
    right.tick_params(length=0)
    right.set_ylabel("error of the true class")
    bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02, label="share of the true class")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g}%"))
    return fig


def mistakes(test: Predictions, limit: int = N_MISTAKES) -> np.ndarray:
    """Indices of the misclassified test samples, most confident first (largest margin between
    the predicted output and the true class's output)."""
    pred = test.predicted
    wrong = np.flatnonzero(pred != test.labels)
    rows = test.outputs[wrong]
    margin = (
        rows[np.arange(len(wrong)), pred[wrong]] - rows[np.arange(len(wrong)), test.labels[wrong]]
    )
    return wrong[np.argsort(-margin, kind="stable")][:limit]


def plot_mistakes(test: Predictions, indices: np.ndarray, shape: tuple[int, int]) -> Figure:
    """A grid of misclassified images titled "true -> predicted", with the test index."""
    cols = min(6, len(indices))
    rows = -(-len(indices) // cols)
    fig = Figure(figsize=(max(1.35 * cols, 5.0), 1.55 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    pred = test.predicted
    # Pixels keep their 0..255 grey levels; other image data is shown over its own range.
    limits = {"vmin": 0, "vmax": 255} if test.images.dtype == np.uint8 else {}
    for ax, i in zip(axes, indices):
        ax.imshow(test.images[i].reshape(shape), cmap="gray_r", interpolation="nearest", **limits)
        ax.set_title(
            f"{_short(test.label(test.labels[i]), 8)} \u2192 {_short(test.label(pred[i]), 8)}",
            fontsize=11 if test.classes is None or len(test.classes) <= 10 else 9,
            color="firebrick",
            pad=2,
        )
        ax.set_xlabel(f"#{i}", fontsize=7, color="grey", labelpad=1)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(indices) :]:
        ax.set_axis_off()
    fig.suptitle(
        "Most confident mistakes: true \u2192 predicted\n(test sample number below)", fontsize=11
    )
    return fig


def _panels(k: int) -> tuple[Figure, np.ndarray]:
    """A figure with one square-ish panel for each of min(k, N_TARGETS) targets."""
    n = min(k, N_TARGETS)
    fig = Figure(figsize=(max(4.2 * n, 5.0), 4.2), layout="constrained")
    return fig, fig.subplots(1, n, squeeze=False).ravel()


def _thin(n: int) -> np.ndarray:
    """Indices of at most N_POINTS evenly spaced samples of n (10^6 dots would say no more)."""
    return np.arange(n) if n <= N_POINTS else np.linspace(0, n - 1, N_POINTS).astype(np.intp)


def plot_predictions(true: np.ndarray, predicted: np.ndarray, names: list[str]) -> Figure:
    """Predicted against true value per target (true, predicted: (n, k)), with the line y = x."""
    fig, axes = _panels(true.shape[1])
    keep = _thin(len(true))
    for j, ax in enumerate(axes):
        t, p = true[keep, j], predicted[keep, j]
        ax.scatter(t, p, s=8, alpha=0.5, color="tab:blue", edgecolors="none")
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1, label="predicted = true")
        ax.set(title=names[j], xlabel="true", ylabel="predicted")
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(_panel_title("Predicted against true", true, keep), fontsize=11)
    return fig


def plot_residuals(true: np.ndarray, predicted: np.ndarray, names: list[str]) -> Figure:
    """Residual (predicted - true) against predicted value per target, with the zero line."""
    fig, axes = _panels(true.shape[1])
    keep = _thin(len(true))
    for j, ax in enumerate(axes):
        p = predicted[keep, j]
        ax.scatter(p, p - true[keep, j], s=8, alpha=0.5, color="tab:purple", edgecolors="none")
        ax.axhline(0, color="grey", ls="--", lw=1)
        ax.set(title=names[j], xlabel="predicted", ylabel="residual (predicted - true)")
        ax.grid(alpha=0.3)
    fig.suptitle(_panel_title("Residuals", true, keep), fontsize=11)
    return fig


def _panel_title(what: str, true: np.ndarray, keep: np.ndarray) -> str:
    shown = f"{len(keep):,} of {len(true):,}" if len(keep) < len(true) else f"{len(true):,}"
    extra = f"; first {N_TARGETS} of {true.shape[1]} targets" if true.shape[1] > N_TARGETS else ""
    return f"{what} on the test set ({shown} samples{extra})"


def plot_weights(W: np.ndarray, shape: tuple[int, int], limit: int = N_UNITS) -> Figure:
    """First-layer weights W (n_hidden, n_inputs) of the first ``limit`` units as images, each
    scaled symmetrically around 0 (red positive, blue negative)."""
    W = W[:limit]
    cols = int(np.ceil(np.sqrt(len(W))))
    rows = -(-len(W) // cols)
    fig = Figure(figsize=(max(1.1 * cols + 0.4, 5.0), 1.1 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, unit, w in zip(axes, range(len(W)), W):
        top = float(np.abs(w).max()) or 1.0
        ax.imshow(w.reshape(shape), cmap="RdBu_r", vmin=-top, vmax=top, interpolation="nearest")
        ax.set_title(str(unit), fontsize=7, pad=1)
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(
        f"First-layer weights of hidden units 0-{len(W) - 1}\n"
        "red: positive, blue: negative; each unit scaled to its own largest |w|",
        fontsize=10,
    )
    return fig


# ---- numbers and pages -----------------------------------------------------------------
def summarise(run: Run, test: TestSet | None) -> dict:
    """The key numbers of the run as JSON-able data (the test scores when the data was there,
    else the ones recorded at training time)."""
    net, meta, h = run.net, run.meta, run.history
    results, config = meta.get("results") or {}, meta.get("config") or {}
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
        "data": _data_info(run).get("source") or config.get("data"),
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


def key_numbers(s: dict) -> list[tuple[str, str]]:
    """(label, value) rows shared by the HTML and Markdown pages."""
    metric = Metric(s["metric"])
    wrong = f" ({s['test_wrong']:,} of {s['test_samples']:,} wrong)" if "test_wrong" in s else ""
    rows = [
        (
            "architecture",
            f"{s['architecture']} ({s['activation']} hidden, {s['output']} output, "
            f"{s['loss']} loss, {s['dtype']})",
        ),
        ("parameters", f"{s['parameters']:,}"),
        ("task", s["targets"]),
        ("data", f"{s['data'] or 'n/a'}; preprocessing {s['preprocessing']}"),
        (
            "training",
            ", ".join(
                f"{k.replace('_', ' ')} {v}" for k, v in s["training"].items() if v is not None
            )
            or "n/a",
        ),
        (f"test {metric.word}", metric.format(s["test_error"]) + wrong),
    ]
    if s["task"] == "classify":
        rows.append(
            ("accuracy", "n/a" if s.get("accuracy") is None else f"{100 * s['accuracy']:.2f}%")
        )
    elif s.get("test_r2_mean") is not None:
        rows.append(("test R\u00b2 (mean over targets)", f"{s['test_r2_mean']:.4f}"))
    rows += [
        (f"validation {metric.word}", metric.format(s["val_error"])),
        (
            "epochs",
            f"{s['epochs']} (best: {s['best_epoch']})" if s["best_epoch"] else str(s["epochs"]),
        ),
        ("training time", f"{s['seconds']:.1f} s"),
    ]
    if s.get("stop_reason"):
        rows.append(("stopped because", s["stop_reason"]))
    return rows


@dataclass
class Table:
    """A titled table of text cells; the first column names the row."""

    title: str
    header: list
    rows: list


def tables(s: dict, names: list[str] | None = None) -> list[Table]:
    """The test-set tables of a summary: per-class errors and the confusion matrix (up to
    MAX_TABLE classes), or RMSE, MAE and R^2 per target."""
    if "per_class_error" in s:
        cm = np.asarray(s["confusion_matrix"])
        labels = [str(c) for c in s["classes"]]
        per_class = Table(
            "Per-class error on the test set",
            ["class", "test samples", "wrong", "error"],
            [
                [c, str(n), str(n - d), f"{100 * e:.2f}%"]
                for c, n, d, e in zip(labels, cm.sum(axis=1), np.diag(cm), s["per_class_error"])
            ],
        )
        if len(labels) > MAX_TABLE:
            return [per_class]
        return [
            per_class,
            Table(
                "Confusion matrix (rows: true class, columns: predicted)",
                ["true \\ predicted", *labels],
                [[c, *map(str, row)] for c, row in zip(labels, cm)],
            ),
        ]
    if "test_rmse" in s:
        names = names or [f"target {j}" for j in range(len(s["test_rmse"]))]
        return [
            Table(
                "Errors on the test set, per target",
                ["target", "RMSE", "MAE", "R\u00b2"],
                [
                    [n, f"{r:.5g}", f"{m:.5g}", "-" if q is None else f"{q:.4f}"]
                    for n, r, m, q in zip(names, s["test_rmse"], s["test_mae"], s["test_r2"])
                ],
            )
        ]
    return []


def _md_table(header: list, rows: list, bold: bool = True) -> list[str]:
    cell = lambda text: str(text).replace("|", "/")  # noqa: E731  (a | would split the cell)
    lines = ["| " + " | ".join(map(cell, header)) + " |", "|---" * len(header) + "|"]
    first = (lambda text: f"**{cell(text)}**") if bold else cell
    return lines + [f"| {first(row[0])} | " + " | ".join(map(cell, row[1:])) + " |" for row in rows]


def write_markdown(
    path: Path, s: dict, figures: list[str], notices: list[str], extra: list[Table]
) -> None:
    lines = [f"# Training report: {s['run']}", ""] + _md_table(["", ""], key_numbers(s), bold=False)
    for table in extra:
        lines += ["", f"## {table.title}", ""] + _md_table(table.header, table.rows)
    for name in figures:
        lines += ["", f"## {FIGURES[name]}", "", f"![{FIGURES[name]}]({name})"]
    if notices:
        lines += ["", "## Skipped", ""] + [f"- {n}" for n in notices]
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}img{max-width:100%;height:auto}
figcaption{font-weight:600;margin-bottom:.3em}.notice{color:#8a4b00}table.key td{text-align:left}"""


def _html_table(header: list | None, rows: list, css: str = "") -> str:
    esc = html.escape
    head = (
        ""
        if header is None
        else "<tr>" + "".join(f"<th>{esc(str(h))}</th>" for h in header) + "</tr>"
    )
    body = "".join(
        f"<tr><th>{esc(str(row[0]))}</th>"
        + "".join(f"<td>{esc(str(c))}</td>" for c in row[1:])
        + "</tr>"
        for row in rows
    )
    return f"<table{css}>{head}{body}</table>"


def write_html(
    path: Path, s: dict, figures: list[str], notices: list[str], extra: list[Table]
) -> None:
    esc = html.escape
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>bpnn report: {esc(s['run'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Training report: {esc(s['run'])}</h1>",
        _html_table(None, key_numbers(s), " class='key'"),
    ]
    parts += [f"<h2>{esc(t.title)}</h2>" + _html_table(t.header, t.rows) for t in extra]
    for name in figures:
        parts.append(
            f"<figure><figcaption>{esc(FIGURES[name])}</figcaption>"
            f"<img src='{esc(name)}' alt='{esc(FIGURES[name])}'></figure>"
        )
    if notices:
        parts.append(
            "<h2>Skipped</h2><ul>"
            + "".join(f"<li class='notice'>{esc(n)}</li>" for n in notices)
            + "</ul>"
        )
    parts.append("</body></html>\n")
    text = "\n".join(parts)
    atomic_write(path, lambda f: f.write(text.encode()))


# ---- the whole report ------------------------------------------------------------------
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
    final_test = (run.meta.get("results") or {}).get("test_error")
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
    figures = {name: figures[name] for name in FIGURES if name in figures}  # the pages' order
    for name in FIGURES:  # a figure from an earlier report that this one skips would mislead
        if name not in figures:
            (out / name).unlink(missing_ok=True)
    for name, make in figures.items():
        _save(make(), out / name)
    summary = summarise(run, test)
    names = list(figures)
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
