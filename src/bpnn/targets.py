"""Targets: what a model predicts, and how the user's targets become what the loss trains towards.

- ``classify``: the user's class labels (integers or strings) are kept in the model, sorted, as
  ``classes``; training sees their indices 0..k-1 (the loss turns those into its own targets,
  ``Loss.targets``), and predictions come back as the user's labels, probabilities in the same
  order.
- ``regress``: real values (n,) or (n, k).  By default they are standardised with the training
  split's mean and deviation (``scaling="standardize"``), so one learning rate suits any units;
  the model stores the numbers and predictions come back in the user's units, each value kept
  within the range of the training split's targets (``target_range="clip"``, the default:
  ``low``/``high`` in the model file; "none" lets a prediction go anywhere).  A network that
  extrapolates from an input it never saw can answer far outside anything it was shown (one
  table: Labour, 569 rows, R^2 0.08 -> 0.30 over two seeds, README "Tables the defaults were
  not chosen on").

``infer_task`` is the documented rule used when no task is named: strings and booleans, and
integers with at most ``MAX_AUTO_CLASSES`` distinct values, are classes; anything else is
regressed.  Not here: the losses themselves (``bpnn.losses``), metrics (``bpnn.evaluation``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BpnnError, FormatError
from .limits import MAX_CLASSES

__all__ = ["MAX_AUTO_CLASSES", "TASKS", "Targets", "check_classes", "infer_task"]

TASKS = ("classify", "regress")
MAX_AUTO_CLASSES = 100
SCALINGS = ("standardize", "none")
RANGES = ("clip", "none")


def infer_task(y) -> str:
    """ "classify" or "regress" for targets y by the documented rule."""
    y = np.asarray(y)
    if y.dtype.kind in "USbO":
        return "classify"
    if y.ndim == 1 and y.dtype.kind in "iu" and len(np.unique(y)) <= MAX_AUTO_CLASSES:
        return "classify"
    return "regress"


def check_classes(n_classes: int) -> None:
    """BpnnError when a classifier would have more than ``MAX_CLASSES`` classes."""
    if n_classes > MAX_CLASSES:
        raise BpnnError(
            f"the targets hold {n_classes:,} classes, more than bpnn's limit of {MAX_CLASSES:,} "
            f"(MAX_CLASSES): is the target column an identifier or a real value "
            f"(--task regress)?"
        )


@dataclass
class Targets:
    """The task and what its targets need: ``classes`` (classify), or ``mean``/``std`` (the
    scaling) and ``low``/``high`` (the range predictions are kept within) for regression."""

    task: str
    classes: np.ndarray | None = None  # (k,) sorted labels
    mean: np.ndarray | None = None  # (k,) regression scaling, or None for none
    std: np.ndarray | None = None
    n_values: int | None = None  # regression: values per sample (k)
    low: np.ndarray | None = None  # (k,) regression: predictions clipped to [low, high], or None
    high: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.classes is not None:
            check_classes(len(self.classes))

    @classmethod
    def fit(
        cls, y, task: str | None = None, scaling: str = "standardize", target_range: str = "clip"
    ) -> Targets:
        """Targets for the training targets y: (n,) labels, or (n,) / (n, k) values;
        ``scaling`` and ``target_range`` (regression): ``SCALINGS``, ``RANGES``."""
        y = np.asarray(y)
        task = task or infer_task(y)
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose classify or regress")
        if len(y) == 0:
            raise BpnnError("no training targets")
        if task == "classify":
            if y.ndim != 1:
                raise BpnnError(
                    f"classification needs one label per sample, got targets of shape {y.shape}"
                )
            if y.dtype.kind == "f":
                if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                    raise BpnnError(
                        "classification needs integer or text labels; these targets are "
                        "real numbers (use --task regress)"
                    )
                y = y.astype(np.int64)
            classes = np.unique(y)
            if len(classes) < 2:
                raise BpnnError(
                    "classification needs at least two classes, the targets hold only "
                    f"{classes.tolist()}"
                )
            return cls("classify", classes=classes)
        if scaling not in SCALINGS:
            raise ValueError(
                f"unknown target scaling {scaling!r}; choose one of {', '.join(SCALINGS)}"
            )
        if target_range not in RANGES:
            raise ValueError(
                f"unknown target range {target_range!r}; choose one of {', '.join(RANGES)}"
            )
        values = _values(y)
        mean = std = low = high = None
        if scaling == "standardize":
            mean, std = values.mean(axis=0), values.std(axis=0)
            std = np.where(std > 0, std, 1.0)
        if target_range == "clip":
            low, high = values.min(axis=0), values.max(axis=0)
        return cls("regress", mean=mean, std=std, n_values=values.shape[1], low=low, high=high)

    def widen(self, y) -> None:
        """A regression's range, low and high (k,), widened to hold the targets y (n,) or (n, k)
        too (scikit-learn's partial_fit and warm starts: the range of every target trained on);
        nothing without a range or targets."""
        if self.low is None or self.high is None or len(y) == 0:
            return
        values = _values(y)
        if values.shape[1] == len(self.low):  # (another width is refused by encode)
            self.low = np.minimum(self.low, values.min(axis=0))
            self.high = np.maximum(self.high, values.max(axis=0))

    # ---- description -------------------------------------------------------------------
    @property
    def labels(self) -> np.ndarray:
        """The classes (k,) of a classification task (a ValueError for regression)."""
        if self.classes is None:
            raise ValueError("a regression task has no classes")
        return self.classes

    @property
    def scaling(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(mean, std), (k,) each, of standardised regression targets; None when unscaled."""
        if self.mean is None or self.std is None:
            return None
        return self.mean, self.std

    @property
    def n_outputs(self) -> int:
        return len(self.labels) if self.task == "classify" else int(self.n_values or 0)

    def describe(self) -> str:
        if self.task == "classify":
            shown = ", ".join(map(str, self.labels[:10].tolist())) + (
                ", ..." if len(self.labels) > 10 else ""
            )
            return f"classify: {len(self.labels)} classes ({shown})"
        scaled = "standardized" if self.mean is not None else "as they are"
        bounds = ""
        if self.low is not None and self.high is not None:
            pairs = [f"{a:.6g}..{b:.6g}" for a, b in zip(self.low, self.high)]
            shown = ", ".join(pairs[:4]) + (", ..." if len(pairs) > 4 else "")
            bounds = f"; predictions kept within the training targets' range ({shown})"
        return f"regress: {self.n_values} value(s) per sample, targets {scaled}{bounds}"

    # ---- encode / decode ---------------------------------------------------------------
    def encode(self, y) -> np.ndarray:
        """Training targets: class indices (n,) intp, or values (n, k) float64 (scaled)."""
        y = np.asarray(y)
        if self.task == "classify":
            if y.dtype.kind == "f" and self.labels.dtype.kind in "iu" and np.all(y == np.round(y)):
                y = y.astype(self.labels.dtype)
            idx = np.searchsorted(self.labels, y)
            idx = np.clip(idx, 0, len(self.labels) - 1)
            unknown = self.labels[idx] != y
            if np.any(unknown):
                raise BpnnError(
                    f"label {y[unknown][0]!r} is not one of the model's classes "
                    f"({', '.join(map(str, self.labels.tolist()[:20]))})"
                )
            return idx.astype(np.intp)
        values = _values(y)
        if values.shape[1] != self.n_values:
            raise BpnnError(
                f"targets have {values.shape[1]} value(s) per sample, "
                f"the model predicts {self.n_values}"
            )
        if self.scaling is None:
            return values
        mean, std = self.scaling
        return (values - mean) / std

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Predictions from network outputs (n, k): labels (n,), or values (n,) / (n, k) in the
        targets' units, each within [low, high] where the model keeps a range."""
        if self.task == "classify":
            return self.labels[np.argmax(outputs, axis=1)]
        values = np.asarray(outputs, dtype=np.float64)
        if self.scaling is not None:
            mean, std = self.scaling
            values = values * std + mean
        if self.low is not None and self.high is not None:
            values = np.clip(values, self.low, self.high)  # (NaN stays NaN)
        return values[:, 0] if self.n_values == 1 else values

    # ---- plain data --------------------------------------------------------------------
    def to_dict(self) -> dict:
        if self.task == "classify":
            return {"task": "classify", "classes": self.labels.tolist()}
        scaling = (
            None
            if self.scaling is None
            else {"mean": self.scaling[0].tolist(), "std": self.scaling[1].tolist()}
        )
        bounds = (
            None
            if self.low is None or self.high is None
            else {"low": self.low.tolist(), "high": self.high.tolist()}
        )
        return {"task": "regress", "n_values": self.n_values, "scaling": scaling, "range": bounds}

    @classmethod
    def from_dict(cls, data, n_outputs: int, source: str = "model") -> Targets:
        """Read ``to_dict`` output; a model from bpnn 0.1 (no targets) is an MNIST classifier."""
        if data is None:
            return cls("classify", classes=np.arange(n_outputs))
        try:
            if data["task"] == "classify":
                classes = np.asarray(data["classes"])
                if (
                    classes.ndim != 1
                    or classes.dtype.kind not in "iuU"
                    or len(classes) != n_outputs
                ):
                    raise ValueError(f"{len(classes)} classes for {n_outputs} outputs")
                return cls("classify", classes=classes)
            if data["task"] == "regress":
                scaling = data.get("scaling")
                mean = std = None
                if scaling is not None:
                    mean = np.asarray(scaling["mean"], dtype=np.float64)
                    std = np.asarray(scaling["std"], dtype=np.float64)
                    if (
                        mean.shape != (n_outputs,)
                        or std.shape != (n_outputs,)
                        or not (std > 0).all()
                    ):
                        raise ValueError("bad scaling")
                low, high = _range(data.get("range"), n_outputs)
                return cls("regress", mean=mean, std=std, n_values=n_outputs, low=low, high=high)
            raise ValueError(f"unknown task {data['task']!r}")
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{source}: bad targets description ({exc})") from None


def _range(data, n_outputs: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(low, high) from a model file's "range" (absent or null: none, as before bpnn kept one)."""
    if data is None:
        return None, None
    must = f'range must be {{"low": [{n_outputs} numbers], "high": [...]}} with low <= high'
    if not isinstance(data, dict) or not {"low", "high"} <= set(data):
        raise ValueError(must)
    try:
        low = np.asarray(data["low"], dtype=np.float64)
        high = np.asarray(data["high"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(must) from None
    if low.shape != (n_outputs,) or high.shape != (n_outputs,):
        raise ValueError(must)
    if not (np.isfinite(low).all() and np.isfinite(high).all() and (low <= high).all()):
        raise ValueError(must)
    return low, high


def _values(y) -> np.ndarray:
    """Regression targets as finite float64 (n, k)."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise BpnnError(f"regression needs numeric targets, got {y.dtype}")
    values = y.astype(np.float64).reshape(len(y), -1)
    if not np.isfinite(values).all():
        raise BpnnError(
            f"targets hold {int(np.count_nonzero(~np.isfinite(values)))} NaN or infinite value(s)"
        )
    return values
