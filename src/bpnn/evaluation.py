"""Evaluation: a model's outputs on a data set and the scores ``train``, ``evaluate`` and
``report`` all show.

- ``outputs``: network outputs for raw features, preprocessed in batches (no float copy of the
  whole set).
- ``probabilities``: a network's outputs as class probabilities, by its output activation's rule
  (``Activation.probabilities``): the one place every command and the library turn outputs
  into probabilities.
- ``scores``: classification -> error rate (wrong / total, the tutorial's), accuracy, the
  confusion matrix and per-class errors, with the class labels; regression -> RMSE, MAE and R^2
  per target (in the user's units) and their means.
- ``UNSURE_BELOW``: a classifier's answer whose top probability is below it is flagged unsure
  (``predict`` and ``serve``).
- ``selection_error``: the number early stopping watches by default (error rate, or mean RMSE);
  ``selection_loss``: the loss it watches with ``monitor="val_loss"``; ``Selection``: both on a
  split prepared once (its inputs preprocessed, its targets encoded) and one forward pass for
  both, the same numbers the two functions give, for a trainer's evaluation every epoch.

Not here: the model file (``bpnn.model``), plots (``bpnn.report``).
"""

from __future__ import annotations

import numpy as np

from .data.metrics import confusion_matrix, per_class_error
from .limits import MAX_BATCH_ACTIVATIONS
from .network import Network
from .preprocessing import Preprocessing
from .targets import Targets

__all__ = [
    "BATCH",
    "CACHE_BYTES",
    "UNSURE_BELOW",
    "Selection",
    "outputs",
    "probabilities",
    "scores",
    "selection_error",
    "selection_loss",
]

BATCH = 10000  # samples per forward pass: bounds the memory of evaluating a large set
# A selection split's preprocessed inputs are kept between evaluations up to this size (MNIST's
# 6,000 validation images take 19 MB); a larger split is preprocessed again each time.
CACHE_BYTES = 256 << 20

# An answer less probable than this is "unsure".  Measured with the `fast` preset's model (seed
# 0) on the 10,000 MNIST test digits: 2.7% of its answers fall below 0.8, and they hold 65% of its
# errors (44% of them are wrong, 0.66% of the others); at 0.5 it would flag 16% of the errors, at
# 0.9 4.2% of all answers.  A drawn smiley face reads as a digit at 30-40%.
UNSURE_BELOW = 0.8


def _rows(net: Network, batch: int = BATCH) -> int:
    """Samples per forward pass of ``net``: ``batch``, fewer for wide layers."""
    return max(1, min(batch, MAX_BATCH_ACTIVATIONS // sum(net.sizes)))


def outputs(
    net: Network, prep: Preprocessing, X: np.ndarray, batch: int = BATCH, forward=None
) -> np.ndarray:
    """Network outputs (n, n_outputs) for raw features X (n, n_inputs).

    forward: computes the outputs of preprocessed inputs (b, n_inputs) elsewhere (on a device,
    ``bpnn.accel.jax_stepper.DeviceForward``); default ``net.forward`` here.
    """
    out = np.empty((len(X), net.n_outputs), dtype=net.dtype)
    batch = _rows(net, batch)
    for start in range(0, len(X), batch):
        inputs = prep.apply(X[start : start + batch], net.dtype)
        out[start : start + batch] = (
            net.forward(inputs).outputs[-1] if forward is None else forward(inputs)
        )
    return out


def probabilities(net: Network, out: np.ndarray) -> np.ndarray:
    """Class probabilities (n, k) float64, rows summing to 1, of ``net``'s outputs (n, k).

    Softmax outputs are probabilities as they are; other outputs are clipped at 0 and
    normalised (``Activation.probabilities``).  Whether they were: ``probability`` of
    ``net.layers[-1].activation``.
    """
    return net.layers[-1].activation.probabilities(out)


def selection_error(
    net: Network, prep: Preprocessing, targets: Targets, X, y, weights=None, forward=None
) -> float:
    """Error rate (classify) or mean RMSE over targets (regress) of the raw data (X, y),
    weighted by sample ``weights`` (n,) when given (``forward``: see ``outputs``)."""
    s = scores(targets, outputs(net, prep, X, forward=forward), y, weights)
    return s["error_rate"] if targets.task == "classify" else s["rmse_mean"]


def selection_loss(
    net: Network, prep: Preprocessing, targets: Targets, X, y, weights=None, on=1.0, off=0.0
) -> float:
    """The network's mean loss (weighted by ``weights`` (n,) when given) on the raw data (X, y),
    with the targets it trains on (``on``/``off``: squared-error classification's), no dropout."""
    encoded = targets.encode(y)
    values = np.empty(len(X))
    for start in range(0, len(X), BATCH):
        cache = net.forward(prep.apply(X[start : start + BATCH], net.dtype))
        T = encoded[start : start + BATCH]
        if T.ndim == 1:  # class indices: what this loss makes of them
            T = net.loss_fn.targets(T, net.n_outputs, on, off, dtype=net.dtype)
        values[start : start + BATCH] = net.loss_fn.value(cache.z, cache.outputs[-1], T)
    if weights is None:
        return float(values.mean())
    return float(np.average(values, weights=weights))


class Selection:
    """The selection split (X, y, weights) of a run, prepared once for evaluating it every epoch.

    ``error(net)`` is ``selection_error`` and ``error_and_loss(net, on, off)`` adds
    ``selection_loss``, the same numbers from the same operations: the preprocessed chunks of X
    (cached when under ``CACHE_BYTES``), the encoded targets and one forward pass for both.
    ``net``'s shapes and ``prep`` must not change between calls (a trainer's don't).
    """

    def __init__(self, net: Network, prep: Preprocessing, targets: Targets, X, y, weights=None):
        self.prep, self.targets, self.X, self.y, self.w = prep, targets, X, y, weights
        self.encoded = targets.encode(y)  # (n,) class indices or (n, k) target rows
        self.rows = _rows(net)
        cached = len(X) * net.sizes[0] * net.dtype.itemsize <= CACHE_BYTES
        self.chunks = list(self._prepared(net)) if cached else None
        self.T: dict[tuple, list] = {}  # the loss's target rows per (on, off), made once

    def _prepared(self, net: Network):
        for start in range(0, len(self.X), self.rows):
            yield self.prep.apply(self.X[start : start + self.rows], net.dtype)

    def error(self, net: Network, forward=None) -> float:
        """``selection_error`` of ``net`` (``forward``: see ``outputs``)."""
        return self.error_and_loss(net, forward=forward)[0]

    def error_and_loss(self, net: Network, on=1.0, off=0.0, *, loss=False, forward=None):
        """(``selection_error``, ``selection_loss`` or None unless ``loss``) of ``net``."""
        if forward is not None or (loss and self.rows != BATCH):  # other passes: as they are
            error = selection_error(net, self.prep, self.targets, self.X, self.y, self.w, forward)
            if not loss:
                return error, None
            args = (self.prep, self.targets, self.X, self.y, self.w, on, off)
            return error, selection_loss(net, *args)
        out = np.empty((len(self.X), net.n_outputs), dtype=net.dtype)
        values = np.empty(len(self.X)) if loss else None
        T = self._loss_targets(net, on, off) if loss else None
        for i, inputs in enumerate(self.chunks or self._prepared(net)):
            at = slice(i * self.rows, (i + 1) * self.rows)
            cache = net.forward(inputs)
            out[at] = cache.outputs[-1]
            if values is not None and T is not None:
                values[at] = net.loss_fn.value(cache.z, cache.outputs[-1], T[i])
        return self._error(out), None if values is None else _mean(values, self.w)

    def _loss_targets(self, net: Network, on, off) -> list:
        """The loss's targets per chunk, as ``selection_loss`` makes them."""
        if (on, off) not in self.T:
            chunks = []
            for start in range(0, len(self.X), self.rows):
                T = self.encoded[start : start + self.rows]
                if T.ndim == 1:  # class indices: what this loss makes of them
                    T = net.loss_fn.targets(T, net.n_outputs, on, off, dtype=net.dtype)
                chunks.append(T)
            self.T[(on, off)] = chunks
        return self.T[(on, off)]

    def _error(self, out: np.ndarray) -> float:
        """The error rate or mean RMSE of outputs ``out``, as ``scores`` computes it."""
        if self.targets.task != "classify":  # (each epoch: the RMSE alone)
            return float(_rmse(_residuals(self.targets, out, self.y)[0], self.w).mean())
        wrong = np.argmax(out, axis=1) != self.encoded
        if self.w is not None and len(wrong):
            return float(np.average(wrong, weights=self.w))
        return int(np.count_nonzero(wrong)) / len(wrong) if len(wrong) else float("nan")


def _mean(values: np.ndarray, weights) -> float:
    """The (weighted) mean of per-sample values, as ``selection_loss`` takes it."""
    return float(values.mean()) if weights is None else float(np.average(values, weights=weights))


def scores(targets: Targets, out: np.ndarray, y, weights=None) -> dict:
    """Scores of network outputs ``out`` (n, k) against the raw targets y (n,) or (n, k).

    weights: (n,) sample weights; the error rate, RMSE, MAE and R^2 become weighted means
    (counts and the confusion matrix stay counts).
    """
    if targets.task == "classify":
        return _classify_scores(targets, out, y, weights)
    return _regress_scores(targets, out, y, weights)


def _classify_scores(targets: Targets, out: np.ndarray, y, weights=None) -> dict:
    true = targets.encode(y)
    predicted = np.argmax(out, axis=1)
    cm = confusion_matrix(predicted, true, len(targets.labels))
    wrong = int(np.count_nonzero(predicted != true))
    error = wrong / len(true) if len(true) else float("nan")
    if weights is not None and len(true):
        error = float(np.average(predicted != true, weights=weights))
    return {
        "task": "classify",
        "samples": len(true),
        "errors": wrong,
        "error_rate": error,
        "accuracy": 1 - error,
        "classes": targets.labels.tolist(),
        "confusion_matrix": cm.tolist(),
        "per_class_error": [float(e) for e in per_class_error(cm)],
    }


def _residuals(targets: Targets, out: np.ndarray, y) -> tuple[np.ndarray, np.ndarray]:
    """(predicted - true, true), each (n, k) float64, of outputs ``out`` against targets y."""
    predicted = targets.decode(out).reshape(len(out), -1)
    true = np.asarray(y, dtype=np.float64).reshape(len(out), -1)
    return predicted - true, true


def _rmse(err: np.ndarray, weights) -> np.ndarray:
    """Per output, the root of the (weighted) mean of the squared residuals err (n, k): (k,)."""
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    return np.sqrt(np.average(err**2, axis=0, weights=w))


def _regress_scores(targets: Targets, out: np.ndarray, y, weights=None) -> dict:
    err, true = _residuals(targets, out, y)
    w = np.ones(len(true)) if weights is None else np.asarray(weights, dtype=np.float64)
    rmse = _rmse(err, w)
    mae = np.average(np.abs(err), axis=0, weights=w)
    total = w @ (true - np.average(true, axis=0, weights=w)) ** 2
    r2 = np.where(total > 0, 1 - (w @ err**2) / np.where(total > 0, total, 1), np.nan)
    return {
        "task": "regress",
        "samples": len(true),
        "rmse": rmse.tolist(),
        "mae": mae.tolist(),
        "r2": [None if np.isnan(v) else float(v) for v in r2],
        "rmse_mean": float(rmse.mean()),
        "mae_mean": float(mae.mean()),
        "r2_mean": None if np.isnan(r2).all() else float(np.nanmean(r2)),
    }
