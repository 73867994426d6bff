"""One obvious way to train on arrays: ``bpnn.fit(X, y)``.

The run is started (or resumed) by the runs layer (``bpnn.runs``), as every front end's is: the
same settings give the same weights as ``bpnn train`` on the same data.
Not here: the splits and the resolution of settings (``bpnn.prepare``), the epoch loop
(``bpnn.train``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import runs
from .callbacks import Callback
from .model import Model
from .tables.read import is_frame
from .tables.types import TableOptions

__all__ = ["fit"]


def fit(
    X: ArrayLike,
    y: ArrayLike,
    *,
    X_test: ArrayLike | None = None,
    y_test: ArrayLike | None = None,
    X_val: ArrayLike | None = None,
    y_val: ArrayLike | None = None,
    out: str | os.PathLike | None = None,
    preset: str | None = None,
    hidden: Sequence[int] | None = None,
    limit: int | None = None,
    resume: bool = False,
    force: bool = False,
    log: Callable[[str], object] | None = None,
    progress: bool | str = False,
    verbose: bool = False,
    callbacks: Sequence[Callback] | None = None,
    categorical: str | Sequence[str] | None = None,
    numeric: str | Sequence[str] | None = None,
    ignore: str | Sequence[str] | None = None,
    missing: str | Sequence[str] | None = None,
    **settings: Any,
) -> Model:
    """Train a network on features X (n, d) and targets y; returns the trained ``Model``.

    y: class labels (integers or strings) for classification, real values (n,) or (n, k) for
    regression (``task=`` decides, else the documented rule).  ``hidden``: hidden layer sizes;
    any other ``TrainConfig`` setting may be given (``epochs=``, ``lr=``, ``preprocessing=``...).
    ``out``: the run folder (checkpoints, history, model.npz); None: no files at all (the model
    and its history stay in memory; writing a checkpoint and the history every epoch cost a
    small table's run most of its time).  A folder that holds a run already is refused unless
    ``force`` (or ``resume``).
    ``resume=True`` continues the run saved in ``out`` exactly (the same data must be given).
    ``X_val``, ``y_val``: a validation set of your own (early stopping watches it; none is held
    out of X).  ``callbacks``: ``bpnn.callbacks.Callback`` objects that watch the run and may
    stop it.  ``log`` receives the log's lines.  ``verbose=True``: the log printed and the
    progress bar (the epoch's and the whole run's time left) shown, also in a notebook;
    ``progress=True``: the bar on a terminal only.  The model's ``history`` and ``results``
    attributes hold how training went.

    X may be a pandas DataFrame of raw columns (text categories, yes/no, missing values): its
    columns are typed, filled and encoded by a ``bpnn.tables.TableSchema`` fitted on X (and
    X_test, X_val, DataFrames of the same columns, by the same schema), which the model keeps:
    ``model.predict(df)`` takes new raw rows.  ``categorical``, ``numeric``, ``ignore``: column
    names overriding the typing rule; ``missing``: more tokens that mean a missing value.
    """
    if out is None and resume:
        raise ValueError("resume needs the run folder: pass out=")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    for name, targets in (("y", y), ("y_test", y_test), ("y_val", y_val)):
        if (targets is None and name == "y") or (targets is not None and np.ndim(targets) == 0):
            raise ValueError(f"{name} must hold one target per row (an array, list or Series)")
    tables = {"categorical": categorical, "numeric": numeric, "ignore": ignore, "missing": missing}
    if is_frame(X):
        options = TableOptions.of(**tables)
        data = runs.RunData.from_frame(
            X, y, X_test, y_test, X_val, y_val, options=options, limit=limit
        )
    elif any(v is not None for v in tables.values()):
        raise ValueError("categorical=, numeric=, ignore= and missing= are for DataFrames")
    else:
        data = runs.RunData.from_arrays(X, y, X_test, y_test, X_val, y_val, limit=limit)
    cbs = list(callbacks or [])
    if verbose:
        log, progress = log or print, "always"
    if resume:
        assert out is not None  # (refused above)
        trainer = runs.resume(
            out, data, changes=settings, log=log, progress=progress, callbacks=cbs
        )
    else:
        config = runs.configure(data, {"hidden": hidden, **settings}, preset)
        trainer = runs.start(
            data, config, out, force=force, log=log, progress=progress, callbacks=cbs
        )
    results = trainer.run()
    model = trainer.model({"results": results})
    model.history, model.results = trainer.history, results
    return model
