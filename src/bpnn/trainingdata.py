"""A run's data before the first step: checked against the settings, and made ready for the
steppers.

- ``check_data``: everything about the training split that the settings must agree with, one
  BpnnError line each (feature shape, task, layer sizes, images to augment, a split to select on);
- ``selection_split``: the split early stopping looks at (``stop_on``);
- ``stepper_inputs`` / ``encoded_targets``: the training inputs and targets as the steppers take
  them.

Not here: reading and splitting data (``bpnn.data``), fitting the preprocessing and targets
(``bpnn.preprocessing``, ``bpnn.targets``), the loop (``bpnn.train``).
"""

from __future__ import annotations

import math

import numpy as np

from .data.split import Split
from .errors import BpnnError
from .preprocessing import Preprocessing
from .settings import TrainConfig, check_layers
from .targets import Targets

__all__ = ["check_data", "encoded_targets", "selection_split", "stepper_inputs"]


def check_data(
    config: TrainConfig,
    preprocessing: Preprocessing,
    targets: Targets,
    splits: tuple[Split, Split | None, Split | None],
) -> None:
    """BpnnError (one line) unless the (train, val, test) splits fit ``config``."""
    train = splits[0]
    if train.X.ndim != 2 or train.X.dtype.kind not in "biuf":
        raise BpnnError(
            f"features must be a numeric (n_samples, n_features) array, got "
            f"{train.X.shape} {train.X.dtype}"
        )
    if config.task != targets.task:
        raise BpnnError(
            f"the settings say task {config.task!r}, the targets are for {targets.task!r}"
        )
    width = preprocessing.width(train.X.shape[1])
    check_layers(config.layers, width, targets.n_outputs, config.task)
    if isinstance(config.augment, str):
        if preprocessing.pixel_scale(train.X) is None or image_shape(preprocessing, config) is None:
            raise BpnnError(
                "augment deforms images (uint8 pixels of a known height and width, as IDX "
                "files give); these features are not images"
            )
    elif config.augment and (
        preprocessing.pixel_scale(train.X) is None or not _square(preprocessing, config)
    ):
        raise BpnnError(
            "augment shifts square uint8 images scaled by a factor; these features are not images"
        )
    selection_split(config.stop_on, splits)


def _square(preprocessing: Preprocessing, config: TrainConfig) -> bool:
    """Whether the inputs are square images (by their recorded shape, else by their count)."""
    shape = preprocessing.image_shape
    n = config.layers[0]
    return (shape[0] == shape[1]) if shape else math.isqrt(n) ** 2 == n


def image_shape(preprocessing: Preprocessing, config: TrainConfig) -> tuple[int, int] | None:
    """The inputs' (h, w): the recorded shape, else square when their count is; else None."""
    shape = preprocessing.image_shape
    if shape:
        return int(shape[0]), int(shape[1])
    n = config.layers[0]
    side = math.isqrt(n)
    return (side, side) if side * side == n else None


def selection_split(stop_on: str, splits: tuple[Split, Split | None, Split | None]) -> Split:
    """The split of (train, val, test) that ``stop_on`` selects on (a BpnnError when there is
    none)."""
    train, val, test = splits
    split = {"val": val, "test": test, "train": train, "loss": train}[stop_on]
    if split is None or len(split) == 0:
        raise BpnnError(
            f"no {stop_on} split to select on: use a validation split "
            f"(val-size > 0), or stop on the test or training set"
        )
    return split


def stepper_inputs(
    X: np.ndarray, preprocessing: Preprocessing, dtype: np.dtype
) -> tuple[np.ndarray, float]:
    """The training inputs (n, n_features) and the factor the stepper applies to them: uint8
    pixels stay uint8 (the fast paths scale each batch), anything else is preprocessed once into
    ``dtype``."""
    scale = preprocessing.pixel_scale(X)
    if scale is not None:
        return np.ascontiguousarray(X), scale
    return np.ascontiguousarray(preprocessing.apply(X, dtype)), 1.0


def encoded_targets(targets: Targets, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Class indices (n,), or value rows (n, k) in ``dtype`` (the network's)."""
    encoded = targets.encode(y)
    if encoded.dtype.kind == "f":
        encoded = np.ascontiguousarray(encoded, dtype=dtype)
    return encoded
