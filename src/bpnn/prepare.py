"""Preparing a run: its settings resolved from the data, and its three Splits.

``resolve_settings`` and ``prepare`` turn data (features, targets, an optional test set) and
settings into a ``TrainConfig`` and the three Splits, the same way for every front end (the runs
layer, ``bpnn.runs``, calls them):

1. the task: named, or by the documented rule (``bpnn.targets.infer_task``);
2. settings: ``bpnn.settings.defaults`` for the kind of data, then a preset, then the user's;
   layer sizes from the data (``hidden`` gives the layers in between); the tabular defaults'
   from ``LARGE_TABLE_ROWS`` rows the tabular defaults are ``LARGE_TABLE``'s; ``ple`` gives
   way to ``standardize`` beyond ``PLE_MAX_INPUTS`` inputs; tabular classification's patience
   is at least ``MIN_PATIENCE_STEPS`` batches' worth;
3. the first ``limit`` training samples, when asked;
4. the test set: the data's own, else a seeded ``test_fraction`` of the training data;
5. the validation set: the user's own (``X_val``, ``y_val``), else a seeded ``val_size`` (a
   count or a fraction) of what is left.  When that would hold fewer than ``MIN_VAL`` samples, a
   small data set selects on its training split instead (and the log says so).

Seeds: the test split uses ``SeedSequence([seed, 2])`` and the validation split
``SeedSequence([seed, 1])``, so a resumed run (library or CLI) gets exactly the same splits.
Not here: starting and resuming runs (``bpnn.runs``), the training loop (``bpnn.train``),
reading files (``bpnn.data``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .constraints import at_least
from .data.csvread import beyond_float32
from .data.sources import split_indices
from .data.split import Split
from .errors import BpnnError
from .losses import get_loss
from .preprocessing import input_width
from .presets import preset as preset_settings
from .settings import TrainConfig, defaults
from .targets import Targets, check_classes, infer_task

__all__ = [
    "LARGE_TABLE",
    "LARGE_TABLE_ROWS",
    "MIN_PATIENCE_STEPS",
    "MIN_VAL",
    "PLE_MAX_INPUTS",
    "Prepared",
    "class_sample_weights",
    "data_kind",
    "is_large_table",
    "n_outputs",
    "prepare",
    "resolve_settings",
]

MIN_VAL = 10  # fewer validation samples than this select nothing reliably
# The tabular defaults' ple (d features -> d * bins inputs) gives way to standardize beyond
# this input width: the encoded training set and first layer grow with it.
PLE_MAX_INPUTS = 4096
# From this many rows a table is large, and these defaults replace the tabular ones (per task;
# settings given stay).  No dropout: a large table is its own regulariser (dropout 0.2 cost
# diamonds' 40,000 rows 0.02 R^2); classification keeps a patience of 20 (10, the small tables'
# default, was measured on small tables only).  Regression: ple inputs, whose clipped bins bound
# outliers a standardized input extrapolates from (R^2 on diamonds 0.978 -> 0.982, on movies 0.776
# -> 0.790; checked on three more), and 100 units, wide enough there (200: the same R^2 on diamonds
# and movies within 0.0003, 1.6-1.8x the seconds).  README "Large tables", three seeds.  Regression
# in batches of 128 at a rate of 0.002: the same R^2 on five large tables (within -0.0003..+0.0007,
# three seeds) in 0.6-0.8x the seconds (the loop's update of the ple layer is shared by 4x the
# rows); and a patience of 15 (regression's 20 elsewhere): diamonds' R^2 0.9813 -> 0.9811 over
# five seeds in 0.72x the seconds, the four other large tables the same to four digits (README
# "Large tables").  Rows: those given to training (after a limit), before bpnn's own test split.
LARGE_TABLE_ROWS = 20_000
# The tabular classification default's patience (10 evaluations) is at least this many batches'
# worth: a tiny table's epoch is a batch or two, and 10 of them stopped XOR's 4 rows (tanh, rate
# 0.05) while its error still fell (README "The defaults").  Batches of the rows given to
# training, before bpnn's own test and validation splits (so 70-100 of the training split's).
MIN_PATIENCE_STEPS = 100
LARGE_TABLE: dict[str, dict] = {
    "classify": {"dropout": 0.0, "patience": 20},
    "regress": {
        "dropout": 0.0,
        "preprocessing": "ple",
        "hidden": [100],
        "batch_size": 128,
        "lr": 0.002,
        "patience": 15,
    },
}


@dataclass
class Prepared:
    """What a run needs: its settings, splits and notes for the log."""

    config: TrainConfig
    train: Split
    val: Split | None
    test: Split | None
    notes: list = field(default_factory=list)

    def targets(self, y_all) -> Targets:
        """The run's Targets: classes from all the training targets ``y_all`` (so a class held out
        in validation is still known), regression scaling and range from the training split
        alone."""
        cfg = self.config
        return Targets.fit(
            y_all if cfg.task == "classify" else self.train.y,
            cfg.task,
            cfg.target_scaling,
            cfg.target_range,
        )

    def sizes(self) -> str:
        n = [len(s) if s is not None else 0 for s in (self.train, self.val, self.test)]
        return f"{n[0]} training, {n[1]} validation, {n[2]} test samples"


def data_kind(X: np.ndarray) -> str:
    """ "image" for uint8 features (pixels), else "tabular": which defaults apply."""
    return "image" if np.asarray(X).dtype == np.uint8 else "tabular"


def resolve_settings(
    X, y, *, preset: str | None = None, kind: str | None = None, **settings
) -> dict:
    """Defaults for the data, then the preset, then ``settings`` (None values are ignored);
    ``hidden`` becomes ``layers`` from the data's width and outputs."""
    settings = {k: v for k, v in settings.items() if v is not None}
    task = settings.get("task") or infer_task(y)
    given = {**(preset_settings(preset) if preset else {}), **settings}  # (a preset's, then yours)
    merged = {
        **defaults(kind or data_kind(X), task),
        **given,
        "task": task,
        "preset": preset,
    }
    if settings.get("optimizer") in ("adam", "adamw") and "lr" not in settings:
        merged["lr"] = 1e-3  # an SGD rate (a preset's, the image defaults') is far too large
    if "loss" in settings and "output" not in settings:  # the output the named loss goes with
        merged["output"] = "identity" if task == "regress" and merged["loss"] == "squared" else None
    merged["output"] = (
        merged.get("output") or get_loss(merged.get("loss", "squared")).default_output
    )
    if not preset:
        _large_tables(merged, settings, X, kind or data_kind(X))
    _patience_floor(merged, given, len(X), kind or data_kind(X))
    _validation_defaults(merged, given)
    hidden = merged.pop("hidden", None)
    if "layers" not in settings:
        n_out = n_outputs(y, task)
        width = input_width(merged["preprocessing"], X.shape[1], merged.get("bins"))
        merged["layers"] = [width, *(hidden or []), n_out]
    return merged


def is_large_table(X, kind: str) -> bool:
    """Whether the tabular defaults' large-table exceptions apply to data X of ``kind``."""
    return kind == "tabular" and len(X) >= LARGE_TABLE_ROWS


def _large_tables(merged: dict, settings: dict, X, kind: str) -> None:
    """The tabular defaults' exceptions (settings the user gave stay): ``LARGE_TABLE`` from
    ``LARGE_TABLE_ROWS`` rows, then ple gives way to standardize beyond ``PLE_MAX_INPUTS``
    inputs."""
    # given layers fix the input width and the hidden ones: their preprocessing stays
    shaped = ("preprocessing", "hidden") if "layers" in settings else ()
    # the rate goes with the batch size and Adam it was measured with: not with yours
    tied = ("lr",) if "batch_size" in settings or "optimizer" in settings else ()
    if is_large_table(X, kind):
        for name, value in LARGE_TABLE[merged["task"]].items():
            if name not in settings and name not in shaped + tied:
                merged[name] = copy.deepcopy(value)
    if merged["preprocessing"] == "ple" and "preprocessing" not in settings:
        if input_width("ple", X.shape[1], merged.get("bins")) > PLE_MAX_INPUTS:
            merged["preprocessing"] = "standardize"


def _patience_floor(merged: dict, given: dict, rows: int, kind: str) -> None:
    """The tabular classification default's patience, raised to ``MIN_PATIENCE_STEPS`` batches'
    worth of evaluations for ``rows`` rows (a patience given, the user's or a preset's, stays)."""
    if "patience" in given or kind != "tabular" or merged["task"] != "classify":
        return
    whole, _ = at_least(1)  # (the rule TrainConfig checks batch_size and eval_every by)
    batch, every = merged["batch_size"], merged["eval_every"]
    if not (whole(batch) and whole(every)):
        return  # (TrainConfig refuses them with their names)
    steps = -(-rows // int(batch)) * int(every)
    merged["patience"] = max(merged["patience"], -(-MIN_PATIENCE_STEPS // max(1, steps)))


def _validation_defaults(merged: dict, given: dict) -> None:
    """The defaults chosen for a run judged on its validation split, 0 for any other run (the
    settings in ``given``, the user's or a preset's, stay): ``average`` (0.9 on regression
    tables) needs ``stop_on="val"``, ``min_delta`` (0.003 on classification tables, a step of
    the validation loss) also ``monitor="val_loss"``."""
    on_val = merged["stop_on"] == "val"
    if "average" not in given and not on_val:
        merged["average"] = 0.0
    if "min_delta" not in given and not (on_val and merged["monitor"] == "val_loss"):
        merged["min_delta"] = 0.0


def n_outputs(y, task: str) -> int:
    y = np.asarray(y)
    if task == "classify":
        n_classes = len(np.unique(y))
        check_classes(n_classes)
        return n_classes
    return 1 if y.ndim == 1 else y.shape[1]


def prepare(
    X,
    y,
    X_test=None,
    y_test=None,
    *,
    config: TrainConfig,
    limit: int | None = None,
    sample_weight=None,
    X_val=None,
    y_val=None,
) -> Prepared:
    """The Splits of a run with ``config`` (see the module docstring for the order of steps).

    sample_weight: (n,) weights of the training samples; each split keeps its samples' weights.
    X_val, y_val: the validation set (none is held out of the training data).
    """
    X, y = _arrays(X, y, "training")
    data = Split(X, y, sample_weight)
    notes = []
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        data = data.take(np.arange(min(limit, len(y))))
    if X_test is not None:
        test = Split(*_arrays(X_test, y_test, "test"))
        if config.task == "classify":
            _check_test_classes(data.y, test.y)
    elif config.test_fraction > 0:
        keep, held = split_indices(len(data), config.test_fraction, _rng(config.seed, 2))
        test, data = data.take(held), data.take(keep)
        notes.append(
            f"test set: {len(held)} samples held out "
            f"(test fraction {config.test_fraction:g}, seeded)"
        )
    else:
        test = None
    val = None
    if X_val is not None:
        val = Split(*_arrays(X_val, y_val, "validation"))
        if val.X.shape[1] != X.shape[1]:
            raise BpnnError(
                f"the validation set has {val.X.shape[1]} features but the training data has "
                f"{X.shape[1]}"
            )
    elif config.stop_on == "val":
        n = len(data)
        n_val = _val_count(n, config.val_size)
        if n_val != _asked_count(n, config.val_size):  # a count or a fraction: say it changed
            notes.append(
                f"val-size {config.val_size:g} is too large for {n} samples: "
                f"holding out 10% ({n_val})"
            )
        if n_val < MIN_VAL:
            config.stop_on = "train"
            notes.append(
                f"only {n} training samples: no validation split; selecting on the training set"
            )
        else:
            keep, held = split_indices(n, n_val, _rng(config.seed, 1))
            val, data = data.take(held), data.take(keep)
    try:
        config.check_activations(len(data))
    except ValueError as exc:
        raise BpnnError(str(exc)) from None
    return Prepared(config, data, val, test, notes)


def class_sample_weights(y, class_weight, counted=None) -> np.ndarray:
    """Sample weights (n,) of the labels y (n,) for ``class_weight``: "balanced" (scikit-learn's
    rule, n / (k * count of the class), counted over ``counted``: default y) or {label: weight}
    (labels matched as text; unnamed classes weigh 1)."""
    y = np.asarray(y)
    if class_weight == "balanced":
        counted = y if counted is None else np.asarray(counted)
        labels, counts = np.unique(counted, return_counts=True)
        table = {str(c): len(counted) / (len(labels) * n) for c, n in zip(labels, counts)}
    elif isinstance(class_weight, dict):
        table = {str(k): v for k, v in class_weight.items()}
        bad = [k for k, v in table.items() if not _weight(v)]
        if bad:
            raise BpnnError(f"class weights must be numbers >= 0: {', '.join(bad)}")
        unknown = sorted(set(table) - {str(c) for c in np.unique(y)})
        if unknown:
            raise BpnnError(f"class weights name unknown class(es): {', '.join(unknown)}")
    else:
        raise BpnnError(f"class weight must be 'balanced' or a table, got {class_weight!r}")
    return np.array([table.get(str(label), 1.0) for label in y], dtype=np.float64)


def _weight(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < np.inf


def _check_test_classes(y_train: np.ndarray, y_test: np.ndarray) -> None:
    """BpnnError, before any training, when the test set holds a class the training data lacks
    (the model could never predict it, and the test set could not be scored)."""
    unknown = np.setdiff1d(np.unique(y_test), np.unique(y_train))
    if len(unknown):
        shown = ", ".join(map(str, unknown[:5].tolist())) + (", ..." if len(unknown) > 5 else "")
        raise BpnnError(
            f"the test set holds {len(unknown)} class(es) the training data lacks ({shown}): "
            f"the model could not learn them"
        )


def _val_count(n: int, size) -> int:
    """Validation samples for ``size`` (a count or a fraction) of n; a count that would leave less
    than half for training (a preset's 5,000 on a small set) becomes 10%."""
    count = _asked_count(n, size)
    return count if count <= n // 2 else int(n * 0.1)


def _asked_count(n: int, size) -> int:
    """The validation samples ``size`` asks for out of n: a count (>= 1), or a fraction."""
    return int(size) if size >= 1 else int(n * size)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def _arrays(X, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2:
        raise BpnnError(
            f"{what} features must be a 2-D (n_samples, n_features) array, got shape {X.shape}"
        )
    if X.dtype.kind not in "biuf":
        raise BpnnError(f"{what} features must be numeric, got dtype {X.dtype}")
    for problem in (beyond_float32(X, f"{what} features"), beyond_float32(y, f"{what} targets")):
        if problem:
            raise BpnnError(problem)
    if len(X) != len(y):
        raise BpnnError(f"{what} data has {len(X)} samples but {len(y)} targets")
    if len(X) == 0:
        raise BpnnError(f"no {what} samples")
    return X, y
