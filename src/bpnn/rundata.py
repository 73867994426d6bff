"""A run's data: ``RunData`` (the arrays, and the record of where they came from, kept in the
run's checkpoints and model), where a recorded source is now (``located``), and the data a saved
model was tested on, split again exactly as its run did (``find_split``).

Not here: starting and resuming runs (``bpnn.runs``), reading files (``bpnn.data``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BpnnError
from .model import Model
from .prepare import data_kind, prepare
from .settings import TrainConfig
from .tables.types import TableOptions

TABLE_OPTIONS = ("categorical", "numeric", "ignore", "missing")  # a table's typing overrides

__all__ = ["DATA_OPTIONS", "RunData", "find_split", "located"]

DATA_OPTIONS = (
    "target",
    "test",
    "val",
    "limit",
    "class_weight",
    *TABLE_OPTIONS,
)  # what picks a run's data (fixed once it has started)


@dataclass
class RunData:
    """A run's data: training features X (n, d) and targets y (n,) or (n, k), an optional test
    set, and ``info``: where it came from (source, target column, test source, limit, checksum,
    kind, image shape, feature and target names), recorded in the checkpoints and the model.
    X_val, y_val: a validation set of the user's (early stopping watches it; none is held out)."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    description: str | None = None  # the log's "data:" line
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)  # what reading did (a table's columns)

    @classmethod
    def from_source(
        cls,
        source: str | None,
        target=None,
        test=None,
        limit: int | None = None,
        val=None,
        tables: TableOptions | dict | None = None,
    ) -> RunData:
        """The data set SOURCE names (``bpnn.data.sources``; MNIST when None); ``val``: a source
        of the same format and features whose samples (all of them) are the validation set.
        ``tables``: a table's typing overrides (``TableOptions``, or its ``to_dict``)."""
        from .data.sources import load_source

        options = TableOptions.of(**tables) if isinstance(tables, dict) else tables
        data = load_source(source or "mnist", target=target, test=test, options=options)
        X_val, y_val = _validation_source(val, target, data.X_train.shape[1], data.schema)
        info = {
            "source": _as_given(source or "mnist"),
            "target": target,
            "test": None if test is None else _as_given(test),
            "found": data.folder,
            **({"val": _as_given(val)} if val is not None else {}),
            "limit": limit,
            "checksum": data.checksum(),
            "kind": data.kind,
            "image_shape": list(data.image_shape) if data.image_shape else None,
            "feature_names": data.feature_names,
            "target_names": data.target_names,
        }
        if data.schema is not None:
            info["schema"] = data.schema.to_dict()
        if options is not None and options.to_dict():
            info["tables"] = options.to_dict()
        described = data.describe()
        if y_val is not None:
            described += f"; validation: {len(y_val)} samples of {val}"
        return cls(
            data.X_train,
            data.y_train,
            data.X_test,
            data.y_test,
            info,
            described,
            X_val,
            y_val,
            data.notes,
        )

    @classmethod
    def recorded(cls, info: dict, source: str | None = None) -> RunData:
        """The data a run records (``info``: its source, target, test), or where it now is
        (``source``); a registered set no longer found where it is looked for (``BPNN_DATA``
        unset) is read from the folder it was found in (``found``)."""
        given = source or located(info)
        tables = info.get("tables") if isinstance(info.get("tables"), dict) else None
        return cls.from_source(
            given, info.get("target"), info.get("test"), val=info.get("val"), tables=tables
        )

    @classmethod
    def from_arrays(
        cls, X, y, X_test=None, y_test=None, X_val=None, y_val=None, **info: Any
    ) -> RunData:
        """Arrays given by a program (``bpnn.fit``, the estimators)."""
        X = np.asarray(X)
        info = {"source": "arrays", "kind": data_kind(X), **info}
        return cls(X, np.asarray(y), X_test, y_test, info, None, X_val, y_val)

    @classmethod
    def from_frame(
        cls, X, y, X_test=None, y_test=None, X_val=None, y_val=None, *, options=None, **info: Any
    ) -> RunData:
        """A DataFrame of raw columns X (and DataFrames X_test, X_val of the same columns): the
        schema fitted on X (``bpnn.tables.TableSchema``; ``options``: ``TableOptions``)."""
        from .tables.read import frame_table, frame_targets, missing_tokens
        from .tables.schema import TableSchema

        options = options or TableOptions()
        tokens = missing_tokens(options.missing)
        notes = []

        def known(frame, targets, where: str):
            """The rows of ``frame`` with a target (as the command line keeps a table's)."""
            if frame is None or targets is None:
                return frame, targets
            frame, targets, left = frame_targets(frame, targets, tokens, where)
            if left:
                notes.append(f"{where}: {left} row(s) whose target is missing left out")
            return frame, targets

        X, y = known(X, y, "the DataFrame")
        X_test, y_test = known(X_test, y_test, "the test DataFrame")
        X_val, y_val = known(X_val, y_val, "the validation DataFrame")
        table = frame_table(X, tokens)
        schema = TableSchema.fit(table, None, options)

        def encoded(frame):
            return None if frame is None else schema.encode(frame_table(frame, tokens))

        data = cls.from_arrays(
            schema.encode(table),
            np.asarray(y),
            encoded(X_test),
            y_test,
            encoded(X_val),
            y_val,
            **{"feature_names": schema.inputs(), **info, "schema": schema.to_dict()},
        )
        data.notes = [*notes, "columns (typed on the training data):", *schema.describe()]
        return data

    @property
    def kind(self) -> str:
        return self.info.get("kind") or data_kind(self.X)

    @property
    def limit(self) -> int | None:
        return self.info.get("limit")

    def prepared(self, config: TrainConfig, sample_weight=None):
        """The run's splits of this data (``bpnn.prepare.prepare``); sample_weight: (n,)."""
        return prepare(
            self.X,
            self.y,
            self.X_test,
            self.y_test,
            config=config,
            limit=self.limit,
            sample_weight=sample_weight,
            X_val=self.X_val,
            y_val=self.y_val,
        )

    def y_used(self) -> np.ndarray:
        """The training targets the run uses (the first ``limit`` when limited)."""
        return self.y[: self.limit] if self.limit else self.y

    def X_used(self) -> np.ndarray:
        """The training features the run uses (the first ``limit`` rows when limited)."""
        return self.X[: self.limit] if self.limit else self.X


def _as_given(source: str | os.PathLike) -> str:
    """A source as a run records it: a registered name as is, a path made absolute (a run
    resumed from another directory, or by a sweep's worker, finds it again)."""
    from .data.registry import DATASETS

    name = os.fspath(source)
    return name if name in DATASETS else str(Path(name).absolute())


def located(info: dict | Any) -> str | None:
    """The source recorded in ``info`` (a dict or ``DataInfo``), or, for a registered set that
    is no longer on disk where it is looked for, the folder it was found in."""
    from .data.mnist import find_dataset
    from .data.registry import DATASETS

    get = info.get if isinstance(info, dict) else lambda k: getattr(info, k, None)
    source, found = get("source"), get("found")
    if get("test") and isinstance(source, str) and " + " in source and not Path(source).exists():
        source = source.split(" + ")[0]  # bpnn <= 0.3 recorded "SOURCE + TEST" (its display)
    if source in DATASETS and isinstance(found, str) and Path(found).is_dir():
        try:
            find_dataset(source, download=False, progress=False, notice=lambda line: None)
        except (BpnnError, OSError):
            return found
    return source


def _validation_source(
    val, target, width: int, schema=None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(X, y) of every sample of the source ``val`` (None: no validation source); a table is
    encoded by the training data's ``schema``."""
    if val is None:
        return None, None
    from .data.sources import load_source

    data = load_source(val, target=target, schema=schema)
    X, y = data.X_train, data.y_train
    if data.X_test is not None:  # a source with its own test set: all of it validates
        X, y = np.concatenate([X, data.X_test]), np.concatenate([y, data.y_test])
    if X.shape[1] != width:
        raise BpnnError(
            f"{val} (the validation set) has {X.shape[1]} features but the data has {width}"
        )
    return X, y


def find_split(
    model: Model, source: str | None = None, target: str | None = None, split: str = "test"
) -> tuple[np.ndarray, Any, str]:
    """(X, y, source) of ``split`` ("test" or "train") for ``model``: from ``source``, else the
    source the model records; a run that held out part of its data as the test set gets exactly
    the same part again."""
    from .data.sources import load_source

    info = model.info.data
    source = source or (located(info) if info.source else None)
    if source in (None, "arrays"):
        raise BpnnError(
            "the model does not record a data source it can be evaluated on: give --data SOURCE"
        )
    same = source in (info.source, info.found)
    schema = model.schema
    data = load_source(
        source, target=target or info.target, test=info.test if same else None, schema=schema
    )
    if data.X_train.shape[1] != model.n_features:
        raise BpnnError(
            f"the model takes {model.n_features} inputs but {data.source} has "
            f"{data.X_train.shape[1]} features"
        )
    if data.X_test is not None:  # the source's own test set
        if split == "test":
            return data.X_test, data.y_test, data.source
        return data.X_train, data.y_train, data.source
    # The run held out part of the data as its test set: take exactly the same parts again.
    try:
        config = TrainConfig.from_dict(model.info.config) if model.info.config else None
    except (KeyError, TypeError, ValueError):  # settings this bpnn cannot read
        config = None
    if config is None:
        raise BpnnError(
            f"{data.source} has no test set and the model does not record how it split the data"
        )
    run = prepare(data.X_train, data.y_train, config=config, limit=info.limit if same else None)
    part = run.test if split == "test" else run.train
    if part is None:
        raise BpnnError(f"{data.source} has no {split} set")
    return part.X, part.y, data.source
