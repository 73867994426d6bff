"""What a report is made of: a run folder read (``read_run``: its model and history) and the test
set its model is scored on (``load_test_set``), with the facts the figures need from them.

The test data comes from the runs layer's ``bpnn.runs.find_split`` (through
``_evaluation_data``, the one place the report reaches for it): the source the model records
(or the one given), the same test split the run used.  A report never downloads: a registered
data set that is not on disk, or any source that cannot be read, gives a notice and no test set.

Not here: drawing (``bpnn.report.figures``), the pages (``bpnn.report.page``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import evaluation
from ..data.mnist import find_dataset
from ..data.registry import DATASETS
from ..errors import BpnnError, FormatError
from ..history import history_problem
from ..model import Model
from ..modelinfo import ModelInfo
from .metric import Metric

__all__ = [
    "Run",
    "TestSet",
    "image_shape",
    "load_test_set",
    "read_run",
    "run_metric",
    "target_names",
    "training_images",
]

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
    def info(self) -> ModelInfo:
        return self.model.info


@dataclass
class TestSet:
    """The test set and what the model makes of it: raw X (n, d), raw y, outputs (n, k) and the
    ``bpnn.evaluation.scores`` dict."""

    X: np.ndarray
    y: np.ndarray
    outputs: np.ndarray
    scores: dict
    source: str


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
    problem = history_problem(history)
    if problem:
        raise FormatError(f"{path / 'history.json'}: {problem}")
    return Run(path, model, history)


def _candidates(run: Run, source) -> list[str]:
    """Data sources to try, in order: the one given, else the recorded one.  bpnn 0.1 runs
    recorded an MNIST folder in their config (which may have moved since): then MNIST itself."""
    if source:
        return [str(source)]
    if run.info.data.source:
        from ..runs import located  # a registered set: where it was found, if not found now

        return [located(run.info.data) or run.info.data.source]
    folder = run.info.config.get("data")
    return ([str(folder)] if isinstance(folder, str) and folder else []) + ["mnist"]


def _on_disk(source: str) -> None:
    """BpnnError unless a registered data set is already on disk: a report never downloads."""
    if source in DATASETS:
        find_dataset(source, download=False, progress=False, notice=lambda line: None)


def _evaluation_data(model: Model, source: str) -> tuple:
    """(X, y, source) of the test split ``bpnn evaluate`` takes from ``source`` for ``model``."""
    from ..runs import find_split  # the same split `bpnn evaluate` uses

    return find_split(model, source, None, "test")


def training_images(run: Run, source) -> np.ndarray:
    """The training split's raw inputs (n, d) of ``source`` (default: the run's recorded one)."""
    from ..runs import find_split

    return find_split(run.model, source, None, "train")[0]


def load_test_set(run: Run, source, log) -> TestSet | None:
    """The test set of ``source`` (default: the run's recorded one) and the model's outputs on
    it, or None (with a notice) when it cannot be had."""
    what = (
        "the confusion matrix and mistakes"
        if run.model.task == "classify"
        else "the predicted-against-true and residual plots"
    )
    candidates = _candidates(run, source)
    for i, name in enumerate(candidates):
        try:
            _on_disk(name)
            X, y, found = _evaluation_data(run.model, name)
            out = run.model.outputs(X)
            return TestSet(X, y, out, evaluation.scores(run.model.targets, out, y), str(found))
        except (BpnnError, ValueError, OSError) as exc:
            if i == len(candidates) - 1:
                log(f"test data not available, skipping {what}: {exc}")
    return None


def image_shape(run: Run) -> tuple[int, int] | None:
    """(height, width) of the input images, or None if the inputs are not one image."""
    prep = run.info.preprocessing or {}
    shape = run.info.data.image_shape or prep.get("image_shape")
    if shape is None and "kind" not in prep:
        shape = LEGACY_SHAPE
    try:
        h, w = int(shape[0]), int(shape[1])  # type: ignore[index]  # None: a TypeError
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    return (h, w) if h * w == run.net.n_inputs else None


def target_names(run: Run, k: int) -> list[str]:
    """Names of the k regression targets: the recorded ones, else "target 0", "target 1", ..."""
    names = run.info.data.target_names
    if names is not None and len(names) == k:
        return list(names)
    return [f"target {j}" for j in range(k)] if k > 1 else ["target"]


def run_metric(run: Run) -> Metric:
    """The metric of the run's history (bpnn 0.1 histories hold error rates)."""
    name = run.history.get("metric") or run.info.results.get("metric")
    return Metric(name or ("error_rate" if run.model.task == "classify" else "rmse"))
