"""The settings of a training run: one table, ``TrainConfig``, checked when made, and the defaults.

Each ``TrainConfig`` field carries its ``Setting`` (in the field's metadata): its help text, its
constraint, whether it has a ``bpnn train`` option, the scikit-learn estimators' parameter of the
same meaning, and whether ``--resume`` may change it.  The CLI's options, the checks (at
construction: one ValueError naming the setting), a sweep's checks and the estimators' mapping
are all made from that table (``SETTINGS``), in the spirit of scikit-learn's
``_parameter_constraints``.

Where a run's settings come from, in order (nothing is inherited silently):

1. ``defaults(kind, task)``: the documented defaults for the kind of data -- ``image`` (uint8
   pixels: IDX folders, the registered image sets) or ``tabular`` (anything else) -- and the task
   (``classify`` or ``regress``);
2. a preset (``bpnn.presets``), when one is named;
3. the user's own settings.

The network's layer sizes come from the data: input width from the features, output width from
the classes (or the number of target values); ``hidden`` gives the layers in between.

Not here: the training loop (``bpnn.train``), data (``bpnn.data``), starting runs (``bpnn.runs``).
(Past 400 lines on purpose: the table is one row per setting, and a row split from its fellows
would defeat the one place to read them.)
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from .augment import parse_augment, valid_augment
from .constraints import (
    FINITE,
    NON_NEGATIVE,
    POSITIVE,
    Setting,
    at_least,
    dropout_rates,
    int_list,
    is_integral,
    layer_sizes,
    number_in,
    one_of,
    or_none,
    rates,
    split_size,
)
from .device import DEVICES
from .errors import BpnnError
from .init import INITIALISERS
from .limits import MAX_BATCH_ACTIVATIONS
from .losses import LOSSES, get_loss
from .network import Network
from .optim import OPTIMIZERS, SCHEDULES, Optimizer, learning_rate, make_optimizer
from .preprocessing import KINDS as PREPROCESSING_KINDS
from .preprocessing import MAX_BINS
from .presets import PRESETS
from .targets import RANGES, SCALINGS

__all__ = [
    "HIDDEN",
    "MAX_PARAMETERS",
    "RESUMABLE",
    "SETTINGS",
    "Setting",
    "TrainConfig",
    "check_layers",
    "defaults",
]

MAX_PARAMETERS = 200_000_000  # 800 MB of float32 weights, before optimiser state and buffers
MAX_ENSEMBLE = 100  # networks in a committee (--ensemble)
STOP_ON = ("val", "test", "train", "loss")  # what early stopping and the best weights look at
# what they watch on that split: its error (error rate, or RMSE: val_rmse says so) or its loss
MONITORS = ("val_error", "val_loss", "val_rmse")


def _setting(default, help: str, rule: tuple, **extra) -> Any:
    """A dataclass field carrying its Setting (named when the class is made)."""
    check, must = rule
    meta = {"setting": dict(help=help, check=check, must=must, **extra)}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """Every setting of a training run.  ``preset`` records where the defaults came from."""

    preset: str | None = _setting(
        None, "the recipe the defaults came from", or_none(one_of(PRESETS)), parse=None
    )
    task: str = _setting(
        "classify",
        "classify or regress (default: by the targets: integer or text labels with few "
        "distinct values -> classify, else regress)",
        one_of(("classify", "regress")),
    )
    layers: list = _setting(
        [784, 300, 10],
        "all layer sizes, e.g. 784,300,10 (must fit the data)",
        (layer_sizes, "at least two positive sizes"),
        parse=int_list,
    )
    activation: str = _setting(
        "sigmoid",
        f"hidden activation: {', '.join(HIDDEN_ACTIVATIONS)}",
        (
            lambda x: x in ACTIVATIONS and not ACTIVATIONS[x].output_only,
            f"one of {', '.join(HIDDEN_ACTIVATIONS)}",
        ),
        sklearn="activation",
    )
    output: str | None = _setting(
        None,
        f"output activation (default: the loss's): {', '.join(ACTIVATIONS)}",
        or_none(one_of(ACTIVATIONS)),
        sklearn="output",
    )
    loss: str = _setting("squared", f"loss: {', '.join(LOSSES)}", one_of(LOSSES), sklearn="loss")
    init: str = _setting(
        "uniform",
        f"weight initialiser: {', '.join(INITIALISERS)}",
        one_of(INITIALISERS),
        sklearn="init",
    )
    dtype: str = _setting(
        "float32", "float32 or float64", one_of(("float32", "float64")), sklearn="dtype"
    )
    dropout: float | list = _setting(
        0.0,
        "dropout probability of hidden layers' inputs, or one per layer: 0.2,0.5",
        (dropout_rates, "a number in [0, 1), or a list of them"),
        parse=rates,
        sklearn="dropout",
    )
    augment: int | str = _setting(
        0,
        "shift training images by up to N pixels, anew each epoch; or deform them: "
        'elastic,affine,shift with name:key=value strengths (README "Deformations")',
        (
            valid_augment,
            "a whole number of pixels in [0, 4], or deformations: elastic:alpha=A:sigma=S, "
            "affine:rotate=R:scale=F:shear=H, shift:pixels=N, comma-separated",
        ),
        parse=parse_augment,
        sklearn="augment",
    )
    optimizer: str = _setting(
        "sgd", f"optimiser: {', '.join(OPTIMIZERS)}", one_of(OPTIMIZERS)
    )  # the estimators: solver, momentum and nesterovs_momentum
    lr: float = _setting(0.3, "learning rate", POSITIVE, parse=float, sklearn="learning_rate_init")
    momentum: float = _setting(
        0.9,
        "momentum coefficient",
        number_in(0, 1, high_open=True),
        parse=float,
        sklearn="momentum",
    )
    weight_decay: float = _setting(
        0.0, "L2 weight decay", NON_NEGATIVE, parse=float
    )  # the estimators: alpha / batch size
    clip_norm: float | None = _setting(
        None,
        "clip each step's gradient to this global L2 norm when it is larger (default: no clipping)",
        or_none(POSITIVE),
        parse=float,
    )
    schedule: str = _setting(
        "constant",
        f"learning-rate schedule: {', '.join(SCHEDULES)}",
        one_of(SCHEDULES),
        sklearn="schedule",
    )
    lr_gamma: float = _setting(
        0.95,
        "factor of the step and exponential schedules, in (0, 1]",
        number_in(0, 1, low_open=True),
        parse=float,
        sklearn="lr_gamma",
    )
    lr_step: int = _setting(
        10, "epochs per step of the step schedule", at_least(1), parse=int, sklearn="lr_step"
    )
    batch_size: int = _setting(
        1,
        "samples per update, 1 (the tutorial's per-sample SGD) to the training set's size",
        at_least(1),
        parse=int,
    )  # the estimators: batch_size, or "auto"
    epochs: int = _setting(
        10, "maximum number of epochs", at_least(1), parse=int, sklearn="max_iter", resumable=True
    )
    eval_every: int = _setting(
        1, "evaluate every N epochs (the tutorial: 10)", at_least(1), parse=int
    )
    patience: int = _setting(
        1,
        "stop after N evaluations without improvement (tabular defaults: 10 for "
        "classification, and at least 100 batches' worth; 20 for regression and large tables)",
        at_least(1),
        parse=int,
        sklearn="n_iter_no_change",
        resumable=True,
    )
    min_delta: float = _setting(
        0.0,
        "smallest error decrease that counts as an improvement (default: 0.003 for tabular "
        "classification that watches the validation loss and stops on the validation split; "
        "0 otherwise)",
        NON_NEGATIVE,
        parse=float,
        sklearn="tol",
        resumable=True,
    )
    average: float = _setting(
        0.0,
        "average the weights over epochs: after each epoch avg = d * avg + (1 - d) * weights "
        "with this decay d (0: no average; 0.9: about the last 10 epochs); early stopping judges "
        "the averaged weights (with --stop-on loss: their loss on a fixed sample of at most 512 "
        "training rows) and the run keeps the best of them; default: 0.9 for tabular "
        "regression stopping on the validation split, 0 otherwise",
        number_in(0, 1, high_open=True),
        parse=float,
        sklearn="average",  # (0 in the estimators, as scikit-learn's MLP: no average)
        quiet_default=True,  # no average: its files as before, readable by older versions
    )
    stop_on: str = _setting(
        "val",
        "select and stop on 'val' (default), 'test' (the tutorial's way), 'train' or 'loss' "
        "(the training loss)",
        one_of(STOP_ON),
    )  # the estimators: early_stopping (val) or not (loss)
    monitor: str = _setting(
        "val_error",
        "what early stopping and the best weights watch on the selection split: val_error "
        "(the error rate; for regression the RMSE, also called val_rmse) or val_loss (the "
        "loss); default: val_loss for tabular classification, val_error otherwise",
        one_of(MONITORS),
        sklearn="monitor",
    )  # (ignored by stop_on loss, which watches the training loss)
    val_size: float = _setting(
        5000,
        "validation samples held out of the training data: a count, or a fraction < 1",
        (split_size, "a count >= 0 or a fraction in [0, 1)"),
        parse=float,
    )  # the estimators: validation_fraction
    test_fraction: float = _setting(
        0.2,
        "fraction held out as the test set when the data has none (default 0.2)",
        number_in(0, 1, high_open=True),
        parse=float,
    )
    checkpoint_every: int = _setting(
        1, "save a checkpoint every N epochs", at_least(1), parse=int, resumable=True
    )
    preprocessing: str = _setting(
        "auto",
        "what the features go through: auto (uint8 -> scale 1/255, else "
        "standardize), none, scale, standardize (mean and std of the training split; 0/1 "
        "columns kept as they are), quantile (the training split's CDF), "
        "ple (piecewise-linear encoding: --bins inputs per feature; on regression tables whose "
        "numbers are codes or heavy-tailed, often better than standardize)",
        one_of(("auto", *PREPROCESSING_KINDS)),
        sklearn="preprocessing",
    )
    scale: float | None = _setting(
        None, "the factor of --preprocessing scale (default 1/255)", or_none(POSITIVE), parse=float
    )
    bins: int | None = _setting(
        None,
        "quantile bins per feature of --preprocessing ple (default 16) and quantile (default 64)",
        or_none(
            (lambda x: is_integral(x) and 1 <= x <= MAX_BINS, f"a whole number in 1..{MAX_BINS}")
        ),
        parse=int,
    )
    target_scaling: str = _setting(
        "standardize",
        "regression targets: standardize (default) or none",
        one_of(SCALINGS),
    )  # the regressor: targets
    target_range: str = _setting(
        "clip",
        "regression predictions: clip (default: kept within the training targets' range) or none",
        one_of(RANGES),
    )
    target_on: float = _setting(
        0.9,
        "squared-error classification: the target of the true class (0.9)",
        FINITE,
        parse=float,
    )  # the classifier: targets (on, off)
    target_off: float = _setting(
        0.1, "squared-error classification: the target of the others (0.1)", FINITE, parse=float
    )
    seed: int = _setting(
        0,
        "random seed (weights, shuffling, splits)",
        (is_integral, "a whole number"),
        parse=int,
    )  # the estimators: random_state
    ensemble: int = _setting(
        1,
        "train a committee of N networks on the same splits, member k from seed + k, and "
        "average their outputs (probabilities, or values); 1 (default): one network",
        (
            (lambda x: is_integral(x) and 1 <= x <= MAX_ENSEMBLE),
            f"a whole number 1..{MAX_ENSEMBLE}",
        ),
        parse=int,
        sklearn="n_ensemble",
        quiet_default=True,  # one network: its files as before committees
    )
    device: str = _setting(
        "cpu",
        "where to train: cpu (default), cuda (an NVIDIA GPU through JAX: pip install "
        "'bpnn[gpu]'), auto (cuda when usable, else cpu), jax-cpu (the GPU's program on the CPU)",
        one_of(DEVICES),
        sklearn="device",
        resumable=True,
    )
    threads: int | None = _setting(
        None,
        "CPU threads for the compiled kernels and BLAS (default: as the libraries set them, "
        "every core unless OPENBLAS_NUM_THREADS or NUMBA_NUM_THREADS say otherwise)",
        or_none(at_least(1)),
        parse=int,
        sklearn="threads",
        resumable=True,
    )
    parallel_samples: int = _setting(
        1,
        "per-sample SGD (batch size 1, optimizer sgd) on N threads at once, sharing the weights "
        "without locks (Hogwild); not reproducible: the same seed gives slightly different "
        "weights each run.  1 (default): one thread, the same weights every run",
        at_least(1),
        parse=int,
    )

    def __post_init__(self):
        for s in SETTINGS:
            value = getattr(self, s.name)
            reason = s.refuse(value)
            if reason:
                raise ValueError(reason)
            if isinstance(value, float) and s.parse is int:
                setattr(self, s.name, int(value))  # 20.0 epochs (a JSON or sweep value) is 20
        self.layers = [int(n) for n in self.layers]
        if isinstance(self.augment, str):  # its full text; "shift" alone: its number of pixels
            self.augment = parse_augment(self.augment)
        if isinstance(self.val_size, float) and self.val_size >= 1:
            self.val_size = int(self.val_size)
        n_params = sum((a + 1) * b for a, b in zip(self.layers[:-1], self.layers[1:]))
        if n_params > MAX_PARAMETERS:
            raise ValueError(
                f"layers {self.layers} need {n_params:,} parameters; "
                f"at most {MAX_PARAMETERS:,} are allowed"
            )
        self.check_activations(1)  # a batch of one sample: the least any run needs
        get_loss(self.loss).output_activation(self.output)  # a loss refuses outputs it cannot use
        if self.monitor == "val_rmse" and self.task != "regress":
            raise ValueError("monitor val_rmse is for regression: use val_error or val_loss")

    def check_activations(self, n_train: int) -> None:
        """ValueError when one training batch (at most ``n_train`` samples: a larger batch size
        is the whole split) needs more than ``MAX_BATCH_ACTIVATIONS`` activations."""
        batch = min(self.batch_size, max(n_train, 1))
        cells = batch * sum(self.layers)
        if cells > MAX_BATCH_ACTIVATIONS:
            raise ValueError(
                f"layers {self.layers} with batches of {batch} need {cells:,} "
                f"activations per batch; at most {MAX_BATCH_ACTIVATIONS:,} are allowed "
                f"(MAX_BATCH_ACTIVATIONS): a smaller batch or narrower layers"
            )

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict:
        """Every setting by name, but a ``quiet_default`` one at its default."""
        quiet = {s.name for s in SETTINGS if s.quiet_default}
        return {
            k: v
            for k, v in dataclasses.asdict(self).items()
            if k not in quiet or v != _DEFAULT_VALUES[k]
        }

    def describe(self) -> list[str]:
        """Every resolved setting, a few per line, for the first lines of the log."""
        c = self
        drop = c.dropout if c.dropout else "none"
        return [
            f"task {c.task}; layers {'-'.join(map(str, c.layers))}; hidden {c.activation}, output "
            f"{get_loss(c.loss).output_activation(c.output).name}, loss {c.loss}, "
            f"init {c.init}, {c.dtype}, dropout {drop}",
            f"optimizer {c.optimizer} lr {c.lr:g}"
            + (f" momentum {c.momentum:g}" if c.optimizer in ("momentum", "nesterov") else "")
            + f", weight decay {c.weight_decay:g}"
            + (f", clip norm {c.clip_norm:g}" if c.clip_norm else "")
            + f", schedule {c.schedule}"
            + (
                f" (gamma {c.lr_gamma:g}"
                + (f", every {c.lr_step} epochs)" if c.schedule == "step" else ")")
                if c.schedule in ("step", "exponential")
                else ""
            )
            + f", batch {c.batch_size}, epochs {c.epochs}, augment {c.augment}",
            f"evaluate every {c.eval_every}, stop on {c.stop_on}"
            + (f" {c.monitor.removeprefix('val_')}" if c.stop_on != "loss" else "")
            + " "
            f"(patience {c.patience}, min delta {c.min_delta:g}), "
            + (f"weights averaged (decay {c.average:g}), " if c.average else "")
            + f"checkpoint every {c.checkpoint_every}, seed {c.seed}"
            + (f", committee of {c.ensemble}" if c.ensemble > 1 else "")
            + f", device {c.device}, "
            f"threads {c.threads or 'as set'}"
            + (
                f", squared-error targets {c.target_on:g}/{c.target_off:g}"
                if c.task == "classify" and c.loss == "squared"
                else ""
            ),
        ]

    def build_network(self, seed: int | np.random.Generator | None) -> Network:
        return Network(
            self.layers,
            activation=self.activation,
            output=self.output,
            loss=self.loss,
            init=self.init,
            dtype=self.dtype,
            seed=seed,
            dropout=self.dropout,
        )

    def build_optimizer(self) -> Optimizer:
        extra = {"weight_decay": self.weight_decay, "clip_norm": self.clip_norm}
        if self.optimizer in ("momentum", "nesterov"):
            extra["momentum"] = self.momentum
        return make_optimizer(self.optimizer, self.lr, **extra)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``."""
        return learning_rate(
            self.schedule, self.lr, epoch, self.epochs, gamma=self.lr_gamma, step_size=self.lr_step
        )


# The table, in the order of the fields.
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(name=f.name, **f.metadata["setting"]) for f in dataclasses.fields(TrainConfig)
)
_DEFAULT_VALUES = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
# Not a field: the hidden layers between the data's input and output widths (-> ``layers``).
HIDDEN = Setting(
    "hidden",
    "hidden layer sizes, e.g. 300,100 (input and output widths come from the data)",
    *(
        lambda x: isinstance(x, list) and all(is_integral(n) and n >= 1 for n in x),
        "a list of positive sizes",
    ),
    parse=int_list,
    sklearn="hidden_layer_sizes",
)
# Settings a resumed run may change (the rest shape the run and are fixed by its checkpoint).
# Device and threads change where it runs, not what is computed (beyond float rounding).
RESUMABLE = tuple(s.name for s in SETTINGS if s.resumable)


# Documented defaults (README "Train on your own data"): a ReLU net with early stopping.
_COMMON = dict(
    activation="relu",
    momentum=0.9,  # used by the momentum optimiser only
    init="he",
    dtype="float32",
    schedule="constant",
    eval_every=1,
    checkpoint_every=1,
    stop_on="val",
    val_size=0.1,
    augment=0,
    weight_decay=0.0,
)
_BY_TASK: dict[str, dict[str, Any]] = {
    "classify": dict(loss="cross_entropy", output=None),  # softmax, the loss's own output
    "regress": dict(loss="squared", output="identity"),
}
# monitor: a small tabular validation set's error rate moves in steps of 5-8% and ties for
# hundreds of epochs (equal counts as no worse: patience restarts), so runs never stopped early;
# its loss falls while the model improves and rises when it overfits (README "Early stopping").
# preprocessing, width and dropout on tables: measured on the suite of real tables
# (benchmarks/tabular_suite.py, README "The defaults" and "Real tables"); large tables have
# their own (``bpnn.prepare.LARGE_TABLE``), and ple falls back to standardize on wide tables
# (``bpnn.prepare.PLE_MAX_INPUTS``).  average (regression) and min_delta
# (classification: the validation loss must fall by 0.003 to count, so a small table's run stops
# when it only creeps down, the same accuracy in fewer epochs): measured on the same suite, and
# zeroed for a run not judged on the validation split (``bpnn.prepare._validation_defaults``).
# patience (classification tables): 10, the same scores as 20 on the suite's four in 0.55-0.8x
# the seconds (their runs stop on min_delta), and at least ``bpnn.prepare.MIN_PATIENCE_STEPS``
# batches' worth, so a tiny table's run is not stopped while it still learns.
_FIELDS = (
    "hidden",
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
    "patience",
    "monitor",
    "preprocessing",
    "dropout",
    "average",
    "min_delta",
)
_DEFAULTS: dict[tuple[str, str], tuple] = {
    ("image", "classify"): ([300], "momentum", 0.1, 128, 20, 5, "val_error", "auto", 0.0, 0.0, 0.0),
    ("tabular", "classify"): (
        [100],
        "adam",
        0.001,
        32,
        300,
        10,
        "val_loss",
        "ple",
        0.2,
        0.0,
        0.003,
    ),
    ("image", "regress"): ([300], "adam", 0.001, 128, 50, 10, "val_error", "auto", 0.0, 0.0, 0.0),
    ("tabular", "regress"): ([200], "adam", 0.001, 32, 300, 20, "val_error", "auto", 0.3, 0.9, 0.0),
}


def defaults(kind: str, task: str) -> dict:
    """The documented default settings for ``kind`` ("image" or "tabular") and ``task``;
    ``hidden`` lists the hidden layer sizes (the caller adds the input and output widths)."""
    row = dict(zip(_FIELDS, copy.deepcopy(_DEFAULTS[(kind, task)])))
    return {**_COMMON, **_BY_TASK[task], **row}


def check_layers(layers: list, width: int, n_out: int, task: str, name: str = "layers") -> None:
    """One line, naming the option, when layer sizes do not fit the data's width and outputs."""
    if layers[0] != width or layers[-1] != n_out:
        what = f"{n_out} classes" if task == "classify" else f"{n_out} target value(s)"
        raise BpnnError(
            f"{name} {','.join(map(str, layers))} does not fit the data: it has "
            f"{width} features and {what}, so {name} must be {width},...,{n_out}"
        )
