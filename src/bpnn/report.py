"""Training reports: PNG figures of a run folder plus an HTML and a Markdown page showing them.

``write_report(run_dir)`` reads ``model.npz`` and ``history.json`` from a run folder written by
``bpnn train`` and writes into ``run_dir/report/``:

- ``learning_curves.png``: training loss, validation and test error against epoch;
- ``confusion_matrix.png``: counts on the MNIST test set (rows: true digit) and per-digit errors;
- ``misclassified.png``: the test digits the network gets wrong most confidently;
- ``weights.png``: the first layer's weights of up to 64 hidden units as 28x28 images;
- ``index.html``, ``README.md``: the figures with the key numbers; ``report.json``: the numbers.

Figures use matplotlib's ``Figure`` with the Agg canvas directly, never pyplot, so no global
backend or figure state changes.  Without the test data the data-dependent figures are skipped
with a notice; so are the weight images of a network whose inputs are not an image.
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

from .checkpoint import load_model
from .data import confusion_matrix, find_mnist, load_mnist, per_class_error
from .errors import BpnnError, FormatError
from .fileio import atomic_write
from .train import image_outputs

__all__ = ["write_report", "build_report", "Report", "FIGURES"]

# Figure file -> caption, in the order the pages show them.
FIGURES = {
    "learning_curves.png": "Learning curves",
    "confusion_matrix.png": "Confusion matrix on the test set",
    "misclassified.png": "Most confident mistakes on the test set",
    "weights.png": "First-layer weights",
}
DPI = 110
N_MISTAKES = 36   # a 6x6 grid
N_UNITS = 64      # an 8x8 grid


@dataclass
class Run:
    """What a run folder holds: the network, its metadata and the per-epoch history."""

    path: Path
    net: object
    meta: dict
    history: dict


@dataclass
class Predictions:
    """Test images (n, n_inputs) uint8, their labels (n,) and the network's outputs (n, k)."""

    images: np.ndarray
    labels: np.ndarray
    outputs: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        return np.argmax(self.outputs, axis=1)


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
            raise BpnnError(f"{path}: no {name} in the run folder (is it a finished bpnn train run?)")
    net, meta = load_model(path / "model.npz")
    try:
        history = json.loads((path / "history.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path / 'history.json'}: not valid JSON ({exc})") from None
    if not isinstance(history, dict) or not isinstance(history.get("epochs"), list):
        raise FormatError(f"{path / 'history.json'}: no list of epochs")
    return Run(path, net, meta, history)


def load_test_set(run: Run, data_dir, log) -> Predictions | None:
    """The MNIST test set and the network's outputs on it, or None (with a notice) if unusable."""
    recorded = (run.meta.get("config") or {}).get("data")
    # An explicit folder must work; the one recorded at training time may have moved since.
    candidates = [data_dir] if data_dir else ([recorded] if recorded else []) + [None]
    for i, folder in enumerate(candidates):
        try:  # the data was checked when training; a report never downloads it
            found = find_mnist(folder, download=False, progress=False, notice=lambda line: None)
            images, labels = load_mnist(found, "test")
            break
        except BpnnError as exc:
            if i == len(candidates) - 1:
                log(f"test data not available, skipping the confusion matrix and mistakes: {exc}")
                return None
    images = images.reshape(len(images), -1)
    if images.shape[1] != run.net.n_inputs:
        log(f"the network takes {run.net.n_inputs} inputs but the test images have "
            f"{images.shape[1]} pixels: skipping the confusion matrix and mistakes")
        return None
    if labels.max() >= run.net.n_outputs:
        log(f"the network has {run.net.n_outputs} outputs but the test labels go up to "
            f"{labels.max()}: skipping the confusion matrix and mistakes")
        return None
    scale = (run.meta.get("preprocessing") or {}).get("scale", 1 / 255)
    outputs = image_outputs(run.net, images, scale)
    return Predictions(images, labels.astype(np.intp), outputs)


def recorded_shape(run: Run) -> tuple[int, int]:
    """(height, width) of the images the model was trained on (MNIST's 28x28 if unrecorded)."""
    shape = (run.meta.get("preprocessing") or {}).get("image_shape") or [28, 28]
    try:
        return int(shape[0]), int(shape[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return 28, 28


def image_shape(run: Run) -> tuple[int, int] | None:
    """(height, width) of the input images, or None if the inputs are not one image."""
    h, w = recorded_shape(run)
    return (h, w) if h * w == run.net.n_inputs else None


# ---- figures ---------------------------------------------------------------------------
def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)  # attach the Agg canvas: no pyplot, no global backend
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI))


def _series(epochs: list, key: str) -> tuple[list, list]:
    """(epoch numbers, values) of the records where ``key`` has a number."""
    points = [(r.get("epoch", i + 1), r[key]) for i, r in enumerate(epochs)
              if isinstance(r.get(key), (int, float))]
    return [p[0] for p in points], [p[1] for p in points]


def plot_learning_curves(history: dict, final_test: float | None = None) -> Figure:
    """Two panels: training loss; validation and test error (%), best epoch marked.

    final_test: the final model's test error, drawn as a star at the epoch whose weights it has
    (the best one) when the history holds no per-epoch test errors (the trainer tests once).
    """
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_loss, ax_err = fig.subplots(1, 2, sharex=True)
    epochs = history["epochs"]
    style = {"marker": "o", "ms": 3} if len(epochs) <= 40 else {}  # dots only while they stay apart
    x, y = _series(epochs, "train_loss")
    ax_loss.plot(x, y, color="tab:blue", **style)
    ax_loss.set(title="Training loss", xlabel="epoch", ylabel="mean loss per sample")
    if y and min(y) > 0 and max(y) / min(y) > 20:
        ax_loss.set_yscale("log")
    for key, label, colour in (("val_error", "validation error", "tab:orange"),
                               ("test_error", "test error", "tab:green")):
        x_err, y_err = _series(epochs, key)
        if x_err:  # evaluations are sparse (every N epochs): always mark the points
            ax_err.plot(x_err, [100 * v for v in y_err], color=colour, label=label,
                        marker="o", ms=4 if len(x_err) <= 40 else 2)
    best = history.get("best_epoch")
    if final_test is not None and not _series(epochs, "test_error")[0] and epochs:
        at = best if best is not None else epochs[-1].get("epoch", len(epochs))
        ax_err.plot([at], [100 * final_test], "*", ms=12, color="tab:green",
                    label=f"test error of the final model ({100 * final_test:.2f}%)")
    has_points = bool(ax_err.lines)
    if best is not None:
        for ax in (ax_loss, ax_err):
            ax.axvline(best, color="grey", ls="--", lw=1)
        ax_err.plot([], [], color="grey", ls="--", lw=1, label=f"best epoch ({best})")
    ax_err.set(title="Error rate", xlabel="epoch", ylabel="error (%)")
    if has_points:
        ax_err.legend(loc="upper right", fontsize=9)
    else:
        ax_err.text(0.5, 0.5, "no evaluations recorded", ha="center", va="center",
                    transform=ax_err.transAxes, color="grey")
        ax_err.set_yticks([])
    numbers = [r.get("epoch", i + 1) for i, r in enumerate(epochs)] or [1]
    pad = max(0.5, 0.03 * (max(numbers) - min(numbers)))
    ax_loss.set_xlim(min(numbers) - pad, max(numbers) + pad)
    for ax in (ax_loss, ax_err):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10], min_n_ticks=1))
        ax.grid(alpha=0.3)
    return fig


def plot_confusion(cm: np.ndarray) -> Figure:
    """Counts annotated in each cell, coloured by the share of the true class (log scale so the
    few off-diagonal mistakes stay visible next to the big diagonal); per-digit error on the right."""
    k = len(cm)
    rows = np.maximum(cm.sum(axis=1, keepdims=True), 1)
    share = np.where(cm > 0, cm / rows, np.nan)
    fig = Figure(figsize=(7.4, 6.4), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", norm=LogNorm(vmin=1e-3, vmax=1), interpolation="nearest")
    ax.set_facecolor("white")
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                dark = share[i, j] > 0.1
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        fontsize=8 if cm[i, j] < 1000 else 7, color="white" if dark else "black")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted digit", ylabel="true digit",
           title=f"Confusion matrix ({cm.sum():,} test images, {cm.sum() - np.trace(cm):,} wrong)")
    ax.tick_params(length=0)
    errors = per_class_error(cm)
    right = ax.secondary_yaxis("right")
    right.set_yticks(range(k), [f"{100 * e:.1f}%" for e in errors])
    right.tick_params(length=0)
    right.set_ylabel("error of the true digit")
    bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02, label="share of the true digit")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g}%"))
    return fig


def mistakes(test: Predictions, limit: int = N_MISTAKES) -> np.ndarray:
    """Indices of the misclassified test images, most confident first (largest margin between
    the predicted output and the true class's output)."""
    pred = test.predicted
    wrong = np.flatnonzero(pred != test.labels)
    rows = test.outputs[wrong]
    margin = rows[np.arange(len(wrong)), pred[wrong]] - rows[np.arange(len(wrong)), test.labels[wrong]]
    return wrong[np.argsort(-margin, kind="stable")][:limit]


def plot_mistakes(test: Predictions, indices: np.ndarray, shape: tuple[int, int]) -> Figure:
    """A grid of misclassified digits titled "true -> predicted", with the test index."""
    cols = min(6, len(indices))
    rows = -(-len(indices) // cols)
    fig = Figure(figsize=(max(1.35 * cols, 5.0), 1.55 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    pred = test.predicted
    for ax, i in zip(axes, indices):
        ax.imshow(test.images[i].reshape(shape), cmap="gray_r", vmin=0, vmax=255,
                  interpolation="nearest")
        ax.set_title(f"{test.labels[i]} \u2192 {pred[i]}", fontsize=11, color="firebrick", pad=2)
        ax.set_xlabel(f"#{i}", fontsize=7, color="grey", labelpad=1)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(indices):]:
        ax.set_axis_off()
    fig.suptitle("Most confident mistakes: true \u2192 predicted\n(test image number below)", fontsize=11)
    return fig


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
    fig.suptitle(f"First-layer weights of hidden units 0-{len(W) - 1}\n"
                 "red: positive, blue: negative; each unit scaled to its own largest |w|", fontsize=10)
    return fig


# ---- numbers and pages -----------------------------------------------------------------
def summarise(run: Run, test: Predictions | None) -> dict:
    """The key numbers of the run as JSON-able data."""
    net, meta, h = run.net, run.meta, run.history
    results, config = meta.get("results") or {}, meta.get("config") or {}
    seconds = results.get("seconds")
    if seconds is None:
        seconds = sum(r.get("seconds") or 0 for r in h["epochs"])
    summary = {
        "run": str(run.path), "architecture": "-".join(map(str, net.sizes)),
        "activation": net.activation, "output": net.output, "loss": net.loss,
        "dtype": net.dtype.name, "parameters": net.n_params(),
        "training": {k: config.get(k) for k in ("preset", "optimizer", "lr", "batch_size", "seed")},
        "epochs": results.get("epochs", len(h["epochs"])), "best_epoch": h.get("best_epoch"),
        "stop_reason": h.get("stop_reason") or results.get("stop_reason"),
        "seconds": round(float(seconds), 2), "test_error": results.get("test_error"),
        "val_error": results.get("val_error"), "test_samples": results.get("test_samples"),
    }
    if test is not None:
        cm = confusion_matrix(test.predicted, test.labels, net.n_outputs)
        wrong = int(cm.sum() - np.trace(cm))
        per_digit = per_class_error(cm)
        summary.update(test_error=wrong / int(cm.sum()), test_samples=int(cm.sum()), test_wrong=wrong,
                       confusion_matrix=cm.tolist(), per_digit_error=[float(e) for e in per_digit])
    if summary["test_error"] is not None:
        summary["accuracy"] = 1 - summary["test_error"]
    return summary


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def key_numbers(s: dict) -> list[tuple[str, str]]:
    """(label, value) rows shared by the HTML and Markdown pages."""
    t = s["training"]
    wrong = f" ({s['test_wrong']:,} of {s['test_samples']:,} wrong)" if "test_wrong" in s else ""
    rows = [
        ("architecture", f"{s['architecture']} ({s['activation']} hidden, {s['output']} output, "
                         f"{s['loss']} loss, {s['dtype']})"),
        ("parameters", f"{s['parameters']:,}"),
        ("training", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in t.items() if v is not None) or "n/a"),
        ("test error", _pct(s["test_error"]) + wrong),
        ("accuracy", _pct(s.get("accuracy"))),
        ("validation error", _pct(s["val_error"])),
        ("epochs", f"{s['epochs']} (best: {s['best_epoch']})" if s["best_epoch"] else str(s["epochs"])),
        ("training time", f"{s['seconds']:.1f} s"),
    ]
    if s.get("stop_reason"):
        rows.append(("stopped because", s["stop_reason"]))
    return rows


def write_markdown(path: Path, s: dict, figures: list[str], notices: list[str]) -> None:
    lines = [f"# Training report: {s['run']}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in key_numbers(s)]
    if "confusion_matrix" in s:
        k = len(s["confusion_matrix"])
        lines += ["", "## Per-digit error on the test set", "",
                  "| digit | " + " | ".join(map(str, range(k))) + " |", "|---" * (k + 1) + "|",
                  "| error | " + " | ".join(f"{100 * e:.2f}%" for e in s["per_digit_error"]) + " |",
                  "", "## Confusion matrix (rows: true digit, columns: predicted)", "",
                  "| true \\ predicted | " + " | ".join(map(str, range(k))) + " |", "|---" * (k + 1) + "|"]
        lines += [f"| **{i}** | " + " | ".join(map(str, row)) + " |"
                  for i, row in enumerate(s["confusion_matrix"])]
    for name in figures:
        lines += ["", f"## {FIGURES[name]}", "", f"![{FIGURES[name]}]({name})"]
    if notices:
        lines += ["", "## Skipped", ""] + [f"- {n}" for n in notices]
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}img{max-width:100%;height:auto}
figcaption{font-weight:600;margin-bottom:.3em}.notice{color:#8a4b00}table.key td{text-align:left}"""


def write_html(path: Path, s: dict, figures: list[str], notices: list[str]) -> None:
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>bpnn report: {esc(s['run'])}</title><style>{CSS}</style></head><body>",
             f"<h1>Training report: {esc(s['run'])}</h1><table class='key'>"]
    parts += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in key_numbers(s)]
    parts.append("</table>")
    if "per_digit_error" in s:
        k = len(s["per_digit_error"])
        parts.append("<h2>Per-digit error on the test set</h2><table><tr><th>digit</th>"
                     + "".join(f"<th>{d}</th>" for d in range(k)) + "</tr><tr><th>error</th>"
                     + "".join(f"<td>{100 * e:.2f}%</td>" for e in s["per_digit_error"]) + "</tr></table>")
    for name in figures:
        parts.append(f"<figure><figcaption>{esc(FIGURES[name])}</figcaption>"
                     f"<img src='{esc(name)}' alt='{esc(FIGURES[name])}'></figure>")
    if notices:
        parts.append("<h2>Skipped</h2><ul>" + "".join(f"<li class='notice'>{esc(n)}</li>" for n in notices) + "</ul>")
    parts.append("</body></html>\n")
    text = "\n".join(parts)
    atomic_write(path, lambda f: f.write(text.encode()))


# ---- the whole report ------------------------------------------------------------------
def build_report(run_dir, data_dir=None, *, out_dir=None, log=None) -> Report:
    """Write every figure and page of ``run_dir``'s report; returns its numbers and files.

    data_dir: the MNIST folder (default: the run's recorded one, then ``BPNN_DATA``, then the
    cache).  out_dir: where to write (default ``run_dir/report``).  log: called with one line per
    notice (figures skipped and why); None keeps quiet.
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
    figures = {"learning_curves.png": lambda: plot_learning_curves(run.history, final_test)}
    if test is not None:
        figures["confusion_matrix.png"] = lambda: plot_confusion(
            confusion_matrix(test.predicted, test.labels, run.net.n_outputs))
        wrong = mistakes(test)
        if shape is None:
            notice(f"the inputs ({run.net.n_inputs}) are not an image: skipping the mistakes grid")
        elif len(wrong):
            figures["misclassified.png"] = lambda: plot_mistakes(test, wrong, shape)
        else:
            notice("no misclassified test digits to show")
    if shape is not None:
        figures["weights.png"] = lambda: plot_weights(run.net.layers[0].W, shape)
    else:
        h, w = recorded_shape(run)
        notice(f"the first layer takes {run.net.n_inputs} inputs, not a {h}x{w} image: "
               "skipping the weight images")
    for name in FIGURES:  # a figure from an earlier report that this one skips would mislead
        if name not in figures:
            (out / name).unlink(missing_ok=True)
    for name, make in figures.items():
        _save(make(), out / name)
    summary = summarise(run, test)
    names = list(figures)
    write_html(out / "index.html", summary, names, notices)
    write_markdown(out / "README.md", summary, names, notices)
    summary_json = json.dumps({**summary, "figures": names, "notices": notices}, indent=1)
    atomic_write(out / "report.json", lambda f: f.write(summary_json.encode()))
    files = [out / n for n in names] + [out / "index.html", out / "README.md", out / "report.json"]
    return Report(out, summary, [str(f) for f in files], notices)


def write_report(run_dir, data_dir=None, *, out_dir=None, log=None) -> Path:
    """Write the report of ``run_dir`` (see ``build_report``); returns the path of index.html."""
    return Path(build_report(run_dir, data_dir, out_dir=out_dir, log=log).out_dir) / "index.html"
