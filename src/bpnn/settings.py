"""The settings of a training run: ``TrainConfig``, checked when made, and the documented defaults.

Where a run's settings come from, in order (nothing is inherited silently):

1. ``defaults(kind, task)``: the documented defaults for the kind of data -- ``image`` (uint8
   pixels: IDX folders, the registered image sets) or ``tabular`` (anything else) -- and the task
   (``classify`` or ``regress``);
2. a preset (``bpnn.presets``), when one is named;
3. the user's own settings.

The network's layer sizes come from the data: input width from the features, output width from
the classes (or the number of target values); ``hidden`` gives the layers in between.

Not here: the training loop (``bpnn.train``), data (``bpnn.data``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .activations import hidden_activation
from .device import DEVICES, check_threads
from .errors import BpnnError
from .init import INITIALISERS
from .losses import get_loss
from .network import Network
from .optim import OPTIMIZERS, SCHEDULES, Optimizer, learning_rate, make_optimizer
from .preprocessing import KINDS as PREPROCESSING_KINDS

__all__ = ["MAX_PARAMETERS", "RESUMABLE", "TrainConfig", "check_layers", "defaults"]

MAX_PARAMETERS = 200_000_000  # 800 MB of float32 weights, before optimiser state and buffers
# Settings a resumed run may change (the rest shape the run and are fixed by its checkpoint).
# Device and threads change where it runs, not what is computed (beyond float rounding).
RESUMABLE = ("epochs", "patience", "min_delta", "checkpoint_every", "device", "threads")
STOP_ON = ("val", "test", "train", "loss")  # what early stopping and the best weights look at


@dataclass
class TrainConfig:
    """Every setting of a training run.  ``preset`` records where the defaults came from."""

    preset: str | None = None
    task: str = "classify"
    layers: list = field(default_factory=lambda: [784, 300, 10])
    activation: str = "sigmoid"
    output: str | None = None  # None: the loss's default output (bpnn.losses)
    loss: str = "squared"
    init: str = "uniform"
    dtype: str = "float32"
    dropout: float | list = 0.0
    augment: int = 0  # shift each training image by up to N pixels, anew every epoch
    optimizer: str = "sgd"
    lr: float = 0.3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    lr_gamma: float = 0.95  # the factor of the step and exponential schedules
    lr_step: int = 10  # epochs per step of the step schedule
    batch_size: int = 1
    epochs: int = 10
    eval_every: int = 1
    patience: int = 1
    min_delta: float = 0.0
    stop_on: str = "val"  # "val": a held-out split; "test": the tutorial's way; "train";
    # "loss": the training loss (scikit-learn's rule, no extra pass)
    val_size: float = 5000  # a count (>= 1) or a fraction (< 1) of the training data
    test_fraction: float = 0.2  # held out as the test set when the data has none
    checkpoint_every: int = 1
    preprocessing: str = "auto"  # auto (uint8 -> scale, else standardize), none, scale, standardize
    scale: float | None = None  # the factor of "scale" (default 1/255)
    target_scaling: str = "standardize"  # regression targets: standardize or none
    target_on: float = 0.9  # squared-error classification targets (the tutorial's 0.9 / 0.1)
    target_off: float = 0.1
    seed: int = 0
    device: str = "cpu"  # cpu, cuda, auto (cuda when usable), jax-cpu (bpnn.device)
    threads: int | None = None  # CPU threads for Numba and BLAS; None: leave them (all cores)

    def __post_init__(self):
        self.layers = [int(n) for n in self.layers]
        n_params = sum((a + 1) * b for a, b in zip(self.layers[:-1], self.layers[1:]))
        checks = [
            (
                self.task in ("classify", "regress"),
                f"task must be classify or regress, got {self.task!r}",
            ),
            (
                len(self.layers) >= 2 and min(self.layers) >= 1,
                f"layers must be at least two positive sizes, got {self.layers}",
            ),
            (
                n_params <= MAX_PARAMETERS,
                f"layers {self.layers} need {n_params:,} parameters; "
                f"at most {MAX_PARAMETERS:,} are allowed",
            ),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (self.eval_every >= 1, f"eval-every must be >= 1, got {self.eval_every}"),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
            (
                math.isfinite(self.min_delta) and self.min_delta >= 0,
                f"min-delta must be a number >= 0, got {self.min_delta}",
            ),
            (
                self.checkpoint_every >= 1,
                f"checkpoint-every must be >= 1, got {self.checkpoint_every}",
            ),
            (
                self.lr > 0 and math.isfinite(self.lr),
                f"learning rate must be a positive number, got {self.lr}",
            ),
            (0 < self.lr_gamma <= 1, f"lr-gamma must be in (0, 1], got {self.lr_gamma}"),
            (self.lr_step >= 1, f"lr-step must be >= 1, got {self.lr_step}"),
            (
                self.stop_on in STOP_ON,
                f"stop-on must be 'val', 'test', 'train' or 'loss', got {self.stop_on!r}",
            ),
            (
                _size_ok(self.val_size),
                f"val-size must be a count >= 0 or a fraction in [0, 1), got {self.val_size}",
            ),
            (
                0 <= self.test_fraction < 1,
                f"test-fraction must be in [0, 1), got {self.test_fraction}",
            ),
            (0 <= self.augment <= 4, f"augment must be 0..4 pixels, got {self.augment}"),
            (
                self.preprocessing in ("auto", *PREPROCESSING_KINDS),
                f"preprocessing must be auto, {', '.join(PREPROCESSING_KINDS)}; "
                f"got {self.preprocessing!r}",
            ),
            (
                self.scale is None or (math.isfinite(self.scale) and self.scale > 0),
                f"scale must be a positive number, got {self.scale}",
            ),
            (
                self.target_scaling in ("standardize", "none"),
                f"target-scaling must be standardize or none, got {self.target_scaling!r}",
            ),
            (
                math.isfinite(self.target_on) and math.isfinite(self.target_off),
                "target on/off values must be finite",
            ),
            (
                self.device in DEVICES,
                f"device must be one of {', '.join(DEVICES)}, got {self.device!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        self.threads = check_threads(self.threads)
        self._check_names()

    def _check_names(self) -> None:
        """Unknown component names fail here, before any data is read."""
        get_loss(self.loss).output_activation(self.output)
        hidden_activation(self.activation)
        for kind, name, known in (
            ("init", self.init, INITIALISERS),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
            ("dtype", self.dtype, ("float32", "float64")),
        ):
            if name not in known:
                raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(known)}")

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

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
            + f", weight decay {c.weight_decay:g}, schedule {c.schedule}"
            + (
                f" (gamma {c.lr_gamma:g}"
                + (f", every {c.lr_step} epochs)" if c.schedule == "step" else ")")
                if c.schedule in ("step", "exponential")
                else ""
            )
            + f", batch {c.batch_size}, epochs {c.epochs}, augment {c.augment}",
            f"evaluate every {c.eval_every}, stop on {c.stop_on} "
            f"(patience {c.patience}, min delta {c.min_delta:g}), "
            f"checkpoint every {c.checkpoint_every}, seed {c.seed}, device {c.device}, "
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
        extra = {"weight_decay": self.weight_decay}
        if self.optimizer in ("momentum", "nesterov"):
            extra["momentum"] = self.momentum
        return make_optimizer(self.optimizer, self.lr, **extra)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``."""
        return learning_rate(
            self.schedule, self.lr, epoch, self.epochs, gamma=self.lr_gamma, step_size=self.lr_step
        )


def _size_ok(size) -> bool:
    return (
        isinstance(size, (int, float))
        and math.isfinite(size)
        and ((size >= 1 and size == int(size)) or 0 <= size < 1)
    )


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
    preprocessing="auto",
    dropout=0.0,
    augment=0,
    weight_decay=0.0,
)
_BY_TASK: dict[str, dict[str, Any]] = {
    "classify": dict(loss="cross_entropy", output=None),  # softmax, the loss's own output
    "regress": dict(loss="squared", output="identity"),
}
_FIELDS = ("hidden", "optimizer", "lr", "batch_size", "epochs", "patience")
_DEFAULTS: dict[tuple[str, str], tuple] = {
    ("image", "classify"): ([300], "momentum", 0.1, 128, 20, 5),
    ("tabular", "classify"): ([100], "adam", 0.001, 32, 300, 20),
    ("image", "regress"): ([300], "adam", 0.001, 128, 50, 10),
    ("tabular", "regress"): ([100], "adam", 0.001, 32, 300, 20),
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
