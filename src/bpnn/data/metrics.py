"""Classification metrics as the tutorial defines them: error rate = wrong / total.

``predicted`` and ``labels`` are class indices (n,); the prediction is the argmax of the network's
outputs (``bpnn.evaluation.scores``).  Not here: losses (``bpnn.losses``), plots.
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "error_rate", "per_class_error"]


def _classes(predicted, labels, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if predicted.shape != labels.shape or labels.ndim != 1:
        raise ValueError(
            f"predicted and labels must be 1-D arrays of one length, got shapes "
            f"{predicted.shape} and {labels.shape}"
        )
    for name, a in (("predicted", predicted), ("labels", labels)):
        if a.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold class indices (integers), got {a.dtype}")
        if n_classes is not None and a.size and (a.min() < 0 or a.max() >= n_classes):
            raise ValueError(f"{name} must lie in 0..{n_classes - 1}, got {a.min()}..{a.max()}")
    return predicted.astype(np.intp), labels.astype(np.intp)


def error_rate(predicted, labels) -> float:
    """Wrong / total for class indices (n,); 0.0 for no samples."""
    predicted, labels = _classes(predicted, labels)
    return float(np.count_nonzero(predicted != labels) / labels.size) if labels.size else 0.0


def confusion_matrix(predicted, labels, n_classes: int = 10) -> np.ndarray:
    """Counts (n_classes, n_classes) int64: row = true class, column = predicted class."""
    predicted, labels = _classes(predicted, labels, n_classes)
    flat = labels * n_classes + predicted
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_error(confusion: np.ndarray) -> np.ndarray:
    """Error rate of each true class (n_classes,) from a confusion matrix; 0.0 where a class has
    no samples (so the result stays JSON-able)."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    wrong = totals - np.diag(confusion)
    return wrong / np.maximum(totals, 1)
