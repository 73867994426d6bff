"""A trained model: the network plus everything needed to use it on raw data.

``Model`` = ``Network`` (or a ``bpnn.committee.Committee``, whose outputs are its members'
mean) + ``Preprocessing`` (raw features -> inputs) + ``Targets`` (outputs ->
the user's labels or values) + the record of how it was trained (``info``, a ``ModelInfo``;
a model trained on a table records its ``TableSchema`` there, and takes DataFrames of raw
columns).
``bpnn.load(path)`` returns one; ``Model.save(path)`` writes the usual model file
(``bpnn.modelfile.write_model``).

Not here: training (``bpnn.train``), the file format itself (``bpnn.modelfile``,
``bpnn.modelinfo``).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from . import evaluation
from .committee import members_of
from .data.csvread import beyond_float32
from .history import History
from .modelfile import read_model, write_model
from .modelinfo import ModelInfo
from .network import Network
from .preprocessing import Preprocessing
from .tables.read import frame_table, is_frame, missing_tokens
from .tables.schema import TableSchema
from .targets import Targets

__all__ = ["Model", "load"]


class Model:
    """net: the network; preprocessing: what raw features go through; targets: classes or values;
    meta: how it was trained, a ``ModelInfo`` (or its JSON dict), kept as ``info``."""

    # how training went, on the models ``bpnn.fit`` returns and on loaded ones alike: the
    # results the model file records, the history.json beside it (empty History: none there)
    history: History
    results: dict

    def __init__(
        self,
        net: Network,
        preprocessing: Preprocessing,
        targets: Targets,
        meta: ModelInfo | dict | None = None,
    ):
        if targets.n_outputs != net.n_outputs:
            raise ValueError(
                f"the targets need {targets.n_outputs} outputs, the network has {net.n_outputs}"
            )
        width = preprocessing.n_features
        if width is not None and preprocessing.width(width) != net.n_inputs:
            raise ValueError(
                f"the preprocessing makes {preprocessing.width(width)} inputs, "
                f"the network takes {net.n_inputs}"
            )
        self.net, self.preprocessing, self.targets = net, preprocessing, targets
        self.info = ModelInfo.coerce(meta or {})

    @property
    def n_features(self) -> int:
        """The raw features the model takes (the network's inputs, unless the preprocessing
        makes several inputs of each, as ``ple`` does)."""
        if self.preprocessing.kind == "ple":
            return int(self.preprocessing.n_features or 0)
        return self.net.n_inputs

    @property
    def meta(self) -> dict:
        """The JSON metadata its model file holds (``ModelInfo.to_meta``); read ``info``."""
        return self._record().to_meta()

    @property
    def task(self) -> str:
        return self.targets.task

    @property
    def classes(self) -> np.ndarray | None:
        return self.targets.classes

    def __repr__(self) -> str:
        return (
            f"Model({'-'.join(map(str, self.net.sizes))}, {self.targets.describe()}, "
            f"preprocessing={self.preprocessing.kind})"
        )

    @property
    def schema(self) -> TableSchema | None:
        """How a table's raw columns become its inputs (trained on a table), else None."""
        recorded = self.info.data.schema
        return None if recorded is None else TableSchema.from_dict(recorded, "model")

    # ---- use ---------------------------------------------------------------------------
    def _features(self, X: ArrayLike) -> np.ndarray:
        """Raw features as a checked (n, n_inputs) array (a 1-D sample becomes one row); a
        DataFrame of raw columns is encoded by the model's schema (columns by name)."""
        schema = self.schema
        if is_frame(X):
            if schema is None:
                X = X.to_numpy()  # type: ignore[union-attr]
            else:
                X = schema.encode(frame_table(X, missing_tokens(schema.options.missing)))
        X = np.asarray(X)
        X = X[None, :] if X.ndim == 1 else X
        if X.ndim == 2 and X.shape[1] != self.n_features:
            raise ValueError(f"input must have {self.n_features} features, got shape {X.shape}")
        if self.n_features == self.net.n_inputs:
            self.net.check_input(X[:0] if X.ndim == 2 else X)  # shape and type, before any work
        elif X.dtype.kind not in "biuf":
            raise ValueError(f"input must be numeric, got dtype {X.dtype}")
        problem = beyond_float32(X, "input")  # NaN, inf, or 1e300 (inf in float32)
        if problem:
            raise ValueError(problem)
        return X

    def outputs(self, X: ArrayLike) -> np.ndarray:
        """The network's outputs (n, n_outputs) for raw features X (n, n_inputs)."""
        return evaluation.outputs(self.net, self.preprocessing, self._features(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Labels (n,) for a classifier, values (n,) or (n, k) for a regressor."""
        return self.targets.decode(self.outputs(X))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (n, n_classes) in the order of ``classes``.

        Softmax outputs are probabilities; sigmoid (or other) outputs are clipped at 0 and
        normalised to sum to 1 (``bpnn.evaluation.probabilities``).
        """
        if self.task != "classify":
            raise ValueError("predict_proba is for classifiers; this model regresses")
        return evaluation.probabilities(self.net, self.outputs(X))

    def score(self, X: ArrayLike, y: ArrayLike) -> dict:
        """``bpnn.evaluation.scores`` of this model on raw (X, y)."""
        return evaluation.scores(self.targets, self.outputs(X), y)

    def members(self) -> list[Model]:
        """Each network whose outputs this model averages, as a Model of its own (a committee's
        members; ``[self]`` for one network)."""
        nets = members_of(self.net)
        if len(nets) == 1:
            return [self]
        return [Model(net, self.preprocessing, self.targets, self.info) for net in nets]

    # ---- files -------------------------------------------------------------------------
    def _record(self) -> ModelInfo:
        """``info`` with this model's own architecture, preprocessing and targets."""
        return replace(
            self.info,
            network=self.net.config(),
            preprocessing=self.preprocessing.to_dict(),
            targets=self.targets.to_dict(),
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write the model file (.npz arrays + JSON, atomically)."""
        write_model(path, self.net, self._record())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Model:
        """The model in ``path`` (a model file, or a run folder holding model.npz)."""
        net, info = read_model(path)
        prep = Preprocessing.from_dict(info.preprocessing, source=str(path))
        targets = Targets.from_dict(info.targets, net.n_outputs, source=str(path))
        model = cls(net, prep, targets, info)
        model.results = dict(info.results or {})
        model.history = _history_beside(Path(path))
        return model


def _history_beside(path: Path) -> History:
    """The run's History from the history.json in the model's folder (empty when there is none,
    or it cannot be read: the model itself is what was asked for)."""
    file = (path if path.is_dir() else path.parent) / "history.json"
    try:
        return History.from_dict(json.loads(file.read_text()))
    except (OSError, ValueError, TypeError):
        return History()


def load(path: str | os.PathLike) -> Model:
    """The model saved in ``path`` (``bpnn.load("runs/fast")`` or ``.../model.npz``)."""
    return Model.load(path)
