"""The report's figures, each drawn by one function into a matplotlib ``Figure`` (never pyplot, so
no global backend or figure state changes), and ``save_figure`` writing one as a PNG.

- ``plot_learning_curves``: training loss, and the validation and test metric against epoch;
- ``plot_confusion``: the confusion matrix with per-class errors; ``plot_mistakes``: the most
  confident mistakes (``mistakes`` picks them) as images;
- ``plot_predictions``, ``plot_residuals``: regression, predicted against true and residuals;
- ``plot_weights``: first-layer weights as images.

Not here: where the data comes from (``bpnn.report.rundata``), the pages (``bpnn.report.page``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..data.metrics import per_class_error
from ..fileio import atomic_write
from .metric import Metric

DEFORMED_EPOCHS = 7  # columns of deformed draws beside each image
DEFORMED_IMAGES = 6  # rows

__all__ = [
    "DPI",
    "Predictions",
    "mistakes",
    "plot_confusion",
    "plot_learning_curves",
    "plot_mistakes",
    "plot_predictions",
    "plot_residuals",
    "plot_weights",
    "save_figure",
]

DPI = 110
N_MISTAKES = 36  # a 6x6 grid
N_UNITS = 64  # an 8x8 grid
N_TARGETS = 4  # regression panels: the first few targets
N_POINTS = 5000  # regression scatter: at most this many (evenly spaced) samples
MAX_ANNOTATED = 30  # confusion matrices with more classes show colours only, no counts


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` to ``path`` as a PNG of ``DPI`` dots per inch, atomically."""
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


def plot_deformed(images: np.ndarray, shape: tuple[int, int], d, label: str) -> Figure:
    """A grid of training images (k, h*w) uint8: each row one image as it is, then as
    ``DEFORMED_EPOCHS`` epochs deformed it (``bpnn.deform.Deformation`` d; epoch seeds 1..)."""
    from ..deform import deform_reference

    k, cols = len(images), 1 + DEFORMED_EPOCHS
    fig = Figure(figsize=(1.1 * cols + 0.4, 1.15 * k + 0.8), layout="constrained")
    axes = fig.subplots(k, cols, squeeze=False)
    index = np.arange(k)
    columns = [images] + [
        deform_reference(images, shape, d, seed, index) for seed in range(1, cols)
    ]
    for c, shown in enumerate(columns):
        for r in range(k):
            ax = axes[r, c]
            ax.imshow(
                shown[r].reshape(shape), cmap="gray_r", interpolation="nearest", vmin=0, vmax=255
            )
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, c].set_title("as read" if c == 0 else f"draw {c}", fontsize=9, pad=2)
    fig.suptitle(f"Training images as the deformations draw them\n({label})", fontsize=10)
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
