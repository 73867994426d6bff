"""Training: the tutorial's strategy (train, evaluate every N epochs, stop when the error stops
falling, save every N epochs so a crash loses little, resume) as a small Trainer.

- ``TrainConfig``: every setting of a run, plain data (saved as JSON with each checkpoint).
- ``History``: per epoch the training loss, validation error, learning rate and seconds.
- ``Trainer``: epochs over shuffled data (a seeded ``numpy.random.Generator``), evaluation every
  ``eval_every`` epochs, early stopping with ``patience`` and ``min_delta`` (the tutorial's "stop
  when accuracy falls" is patience 1), best weights restored at the end however training ended,
  checkpoints every ``checkpoint_every`` epochs, Ctrl-C saves and exits, divergence stops with a
  clear message keeping the last good checkpoint.

The inner loop is a stepper (``bpnn.steppers``), which picks the fastest path that computes the
same thing.  Not here: finding and reading data (``bpnn.data``), the command line (``bpnn.cli``).
"""
from __future__ import annotations

import dataclasses
import json
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checkpoint import (MNIST_PREPROCESSING, atomic_write, load_arrays, network_from_arrays,
                         params_to_arrays, save_arrays, save_model)
from .errors import BpnnError, FormatError
from .activations import get_activation
from .augment import random_shifts, shift_images
from .init import INITIALISERS
from .losses import get_loss
from .network import Network
from .optim import OPTIMIZERS, SCHEDULES, learning_rate, make_optimizer
from .steppers import make_stepper

__all__ = ["TrainConfig", "History", "Trainer", "DivergenceError", "Split", "evaluate_error"]

CHECKPOINT_FORMAT = "bpnn-checkpoint"
CHECKPOINT_VERSION = 1
POSITION_ARRAYS = ("order", "shifts")  # an interrupted epoch's sample order and image shifts
CHUNK = 4096  # samples per stepper call: the granularity of progress, Ctrl-C and NaN checks


class DivergenceError(BpnnError):
    """The training loss became NaN or infinite."""


@dataclass
class TrainConfig:
    """Every setting of a training run.  ``preset`` records where the defaults came from."""

    preset: str | None = None
    layers: list = field(default_factory=lambda: [784, 300, 10])
    activation: str = "sigmoid"
    output: str | None = None
    loss: str = "squared"
    init: str = "uniform"
    dtype: str = "float32"
    dropout: float | list = 0.0
    augment: int = 0                # shift each training image by up to N pixels, anew every epoch
    optimizer: str = "sgd"
    lr: float = 0.3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    lr_gamma: float = 0.95          # the factor of the step and exponential schedules
    lr_step: int = 10               # epochs per step of the step schedule
    batch_size: int = 1
    epochs: int = 10
    eval_every: int = 1
    patience: int = 1
    min_delta: float = 0.0
    stop_on: str = "val"            # "val": a split carved from training; "test": the tutorial's way
    val_size: int = 5000
    checkpoint_every: int = 1
    target_on: float = 0.9          # squared-error targets (the tutorial's 0.9 / 0.1)
    target_off: float = 0.1
    seed: int = 0

    def __post_init__(self):
        self.layers = [int(n) for n in self.layers]
        checks = [
            (len(self.layers) >= 2 and min(self.layers) >= 1, f"layers must be at least two positive sizes, got {self.layers}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (self.eval_every >= 1, f"eval-every must be >= 1, got {self.eval_every}"),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
            (self.checkpoint_every >= 1, f"checkpoint-every must be >= 1, got {self.checkpoint_every}"),
            (self.lr > 0 and math.isfinite(self.lr), f"learning rate must be a positive number, got {self.lr}"),
            (self.stop_on in ("val", "test"), f"stop-on must be 'val' or 'test', got {self.stop_on!r}"),
            (self.val_size >= 0, f"val-size must be >= 0, got {self.val_size}"),
            (0 <= self.augment <= 4, f"augment must be 0..4 pixels, got {self.augment}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        self._check_names()

    def _check_names(self) -> None:
        """Unknown component names fail here, before any data is read."""
        loss = get_loss(self.loss)
        output = self.output or ("softmax" if loss.name == "cross_entropy" else "sigmoid")
        loss.check_output(get_activation(output))
        get_activation(self.activation)
        for kind, name, known in (("init", self.init, INITIALISERS), ("optimizer", self.optimizer, OPTIMIZERS),
                                  ("schedule", self.schedule, SCHEDULES),
                                  ("dtype", self.dtype, ("float32", "float64"))):
            if name not in known:
                raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(known)}")

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def build_network(self, seed) -> Network:
        return Network(self.layers, activation=self.activation, output=self.output, loss=self.loss,
                       init=self.init, dtype=self.dtype, seed=seed, dropout=self.dropout)

    def build_optimizer(self):
        extra = {"weight_decay": self.weight_decay}
        if self.optimizer in ("momentum", "nesterov"):
            extra["momentum"] = self.momentum
        return make_optimizer(self.optimizer, self.lr, **extra)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``."""
        return learning_rate(self.schedule, self.lr, epoch, self.epochs, gamma=self.lr_gamma,
                             step_size=self.lr_step)


@dataclass
class History:
    """One record per finished epoch, plus how the run went; saved as ``history.json``."""

    epochs: list = field(default_factory=list)
    best_epoch: int | None = None
    best_error: float | None = None
    stopped_early: bool = False
    stop_reason: str | None = None

    def add(self, **record) -> None:
        self.epochs.append(record)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(**data)


@dataclass
class Split:
    """Images (n, 784) uint8 and labels (n,) of one part of the data."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def evaluate_error(net: Network, split: Split, scale: float = 1 / 255, batch: int = 10000) -> float:
    """Error rate = wrong / total (the tutorial's definition), in batches to bound memory."""
    return float(np.mean(predict_classes(net, split.images, scale, batch) != split.labels))


def image_outputs(net: Network, images: np.ndarray, scale: float = 1 / 255,
                  batch: int = 10000) -> np.ndarray:
    """The network's outputs (n, n_outputs) for uint8 images (n, n_inputs), scaled as in
    training, in batches so no float copy of the whole set is made."""
    out = np.empty((len(images), net.n_outputs), dtype=net.dtype)
    for start in range(0, len(images), batch):
        X = images[start:start + batch].astype(net.dtype) * net.dtype.type(scale)
        out[start:start + batch] = net.forward(X).outputs[-1]
    return out


def predict_classes(net: Network, images: np.ndarray, scale: float = 1 / 255,
                    batch: int = 10000) -> np.ndarray:
    """The predicted class of each uint8 image: the argmax of its outputs, (n,)."""
    return np.argmax(image_outputs(net, images, scale, batch), axis=1)


class _InterruptFlag:
    """First Ctrl-C sets a flag (checked between chunks); a second one interrupts at once."""

    def __init__(self):
        self.raised = False

    def __enter__(self):
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self._old = None
        return self

    def _handle(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


class Trainer:
    """Trains ``config`` on ``train`` (a Split), selecting on ``val`` (or on ``test`` when
    ``config.stop_on == "test"``), writing everything into ``out_dir``.

    ``log`` receives human-readable lines; ``progress`` shows a tqdm bar per epoch (only on a
    terminal).  Use ``Trainer.resume(out_dir, ...)`` to continue a saved run.
    """

    def __init__(self, config: TrainConfig, train: Split, val: Split | None, test: Split | None,
                 out_dir, *, log=None, progress: bool = True, data_dir: str | None = None):
        if config.layers[0] != train.images.shape[1]:
            raise ValueError(f"the first layer has {config.layers[0]} inputs but the images have "
                             f"{train.images.shape[1]} pixels")
        if config.augment and math.isqrt(config.layers[0]) ** 2 != config.layers[0]:
            raise ValueError(f"augment shifts square images; {config.layers[0]} inputs are not one")
        if config.stop_on == "val" and (val is None or len(val) == 0):
            raise ValueError("no validation split: use val-size > 0 or stop on the test set")
        self.config, self.train, self.val, self.test = config, train, val, test
        self.out_dir = Path(out_dir)
        self.log = log or (lambda line: None)
        self.progress = progress
        self.data_dir = data_dir
        init_seq, train_seq = np.random.SeedSequence(config.seed).spawn(2)
        self.net = config.build_network(np.random.default_rng(init_seq))
        self.optimizer = config.build_optimizer()
        self.rng = np.random.default_rng(train_seq)   # shuffling and dropout
        self.history = History()
        self.epoch = 0                # epochs finished
        self.position: dict | None = None  # an epoch interrupted part-way: its order and progress
        self.best_params: list | None = None
        self.bad_evals = 0
        self.seconds = 0.0

    # ---- the loop ----------------------------------------------------------------------
    def run(self) -> dict:
        """Train until the epochs run out, early stopping or Ctrl-C; returns the results."""
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._write_json("config.json", cfg.to_dict())
        stepper = None if cfg.augment else self._stepper(self.train.images)
        interrupted = False
        with _InterruptFlag() as flag:
            while self.epoch < cfg.epochs and not self.history.stopped_early:
                finished = self._run_epoch(stepper, flag)
                if not finished:
                    interrupted = True
                    break
                self._end_of_epoch()
        if interrupted:
            self.save_checkpoint()
            self.log(f"interrupted during epoch {self.epoch + 1}: checkpoint saved in "
                     f"{self.out_dir}; continue with: bpnn train --resume {self.out_dir}")
            return {"interrupted": True, "epochs": self.epoch, "out": str(self.out_dir)}
        return self._finish()

    def _run_epoch(self, stepper, flag) -> bool:
        """One epoch (or the rest of an interrupted one); False if Ctrl-C stopped it."""
        cfg, n = self.config, len(self.train)
        self.optimizer.lr = cfg.lr_at(self.epoch)
        if self.position is None:
            self.position = {"order": self.rng.permutation(n), "done": 0, "loss": 0.0, "seconds": 0.0}
            if cfg.augment:
                self.position["shifts"] = random_shifts(n, cfg.augment, self.rng)
        pos = self.position
        if cfg.augment:  # this epoch's moved images (a resumed epoch gets the same ones back)
            stepper = self._stepper(shift_images(self.train.images, pos["shifts"]))
        bar = self._bar(n, pos["done"])
        start = time.perf_counter()
        try:
            while pos["done"] < n:
                if flag.raised:
                    pos["seconds"] += time.perf_counter() - start
                    return False
                chunk = pos["order"][pos["done"]:pos["done"] + CHUNK]
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    loss = stepper(chunk)  # a diverging run is caught below, not by warnings
                if not math.isfinite(loss):
                    self._diverged()
                pos["loss"] += loss
                pos["done"] += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
                    bar.set_postfix(loss=f"{pos['loss'] / pos['done']:.4f}")
        finally:
            if bar is not None:
                bar.close()
        pos["seconds"] += time.perf_counter() - start
        return True

    def _stepper(self, images: np.ndarray):
        cfg = self.config
        return make_stepper(self.net, self.optimizer, images, self.train.labels, cfg.batch_size,
                            self.rng, cfg.target_on, cfg.target_off)

    def _bar(self, total: int, initial: int):
        if not (self.progress and sys.stderr.isatty()):
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(total=total, initial=initial, desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
                    unit="img", unit_scale=True, leave=False, file=sys.stderr)

    def _diverged(self):
        raise DivergenceError(
            f"training diverged in epoch {self.epoch + 1} (loss is NaN or infinite) with learning "
            f"rate {self.optimizer.lr:g}: try a smaller --lr; the last good checkpoint in "
            f"{self.out_dir} is kept")

    def _end_of_epoch(self):
        cfg, pos = self.config, self.position
        self.epoch += 1
        self.position = None
        self.seconds += pos["seconds"]
        record = {"epoch": self.epoch, "train_loss": pos["loss"] / len(self.train),
                  "val_error": None, "test_error": None, "lr": self.optimizer.lr,
                  "seconds": round(pos["seconds"], 4)}
        if self.epoch % cfg.eval_every == 0 or self.epoch == cfg.epochs:
            self._evaluate(record)
        self.history.add(**record)
        self.log(self._describe(record))
        if self.epoch % cfg.checkpoint_every == 0 or self.history.stopped_early or self.epoch == cfg.epochs:
            self.save_checkpoint()
        self._write_json("history.json", self.history.to_dict())

    def _evaluate(self, record: dict):
        """Evaluate on the selection set and apply the early-stopping rule."""
        cfg, h = self.config, self.history
        key, split = ("test_error", self.test) if cfg.stop_on == "test" else ("val_error", self.val)
        error = evaluate_error(self.net, split)
        record[key] = error
        if h.best_error is None or error < h.best_error - cfg.min_delta:
            h.best_error, h.best_epoch, self.bad_evals = error, self.epoch, 0
            self.best_params = [p.copy() for p in self.net.params()]
            return
        self.bad_evals += 1
        if self.bad_evals >= cfg.patience:
            h.stopped_early = True
            h.stop_reason = (f"{key.replace('_', ' ')} did not improve for {self.bad_evals} "
                             f"evaluation(s) (best {h.best_error:.4f} at epoch {h.best_epoch})")

    def _describe(self, r: dict) -> str:
        parts = [f"epoch {r['epoch']:3d}", f"loss {r['train_loss']:.5f}"]
        for key in ("val_error", "test_error"):
            if r[key] is not None:
                parts.append(f"{key.split('_')[0]} error {100 * r[key]:.2f}%")
        parts += [f"lr {r['lr']:.4g}", f"{r['seconds']:.2f}s"]
        return "  ".join(parts)

    def _finish(self) -> dict:
        """Restore the best weights, test once, write model.npz; return the results."""
        h = self.history
        if self.best_params is not None:
            self.net.set_params(self.best_params)
        if not h.stopped_early:
            h.stop_reason = f"ran all {self.config.epochs} epochs"
        results = {"epochs": self.epoch, "best_epoch": h.best_epoch, "seconds": round(self.seconds, 3),
                   "stopped_early": h.stopped_early, "stop_reason": h.stop_reason}
        if self.val is not None and len(self.val):
            results["val_error"] = evaluate_error(self.net, self.val)
        if self.test is not None and len(self.test):
            results["test_error"] = evaluate_error(self.net, self.test)
            results["test_samples"] = len(self.test)
        model = self.out_dir / "model.npz"
        meta = {"config": {**self.config.to_dict(), "data": self.data_dir}, "results": results,
                "trained_with": "bpnn"}
        save_model(model, self.net, meta, MNIST_PREPROCESSING)
        self._write_json("history.json", h.to_dict())
        results["model"] = str(model)
        return results

    # ---- checkpoints -------------------------------------------------------------------
    def _write_json(self, name: str, data: dict) -> None:
        text = json.dumps(data, indent=1).encode()
        atomic_write(self.out_dir / name, lambda f: f.write(text))

    def save_checkpoint(self) -> None:
        """checkpoint.npz: weights, optimiser state, best weights, generator state, position."""
        arrays = dict(params_to_arrays(self.net))
        arrays.update({f"opt.{k}": v for k, v in self.optimizer.state_dict().items()})
        if self.best_params is not None:
            arrays.update({f"best.{i}": p for i, p in enumerate(self.best_params)})
        position = None
        if self.position is not None:
            position = {k: v for k, v in self.position.items() if k not in POSITION_ARRAYS}
            arrays.update({f"position.{k}": self.position[k] for k in POSITION_ARRAYS
                           if k in self.position})
        meta = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                "config": self.config.to_dict(), "network": self.net.config(),
                "epoch": self.epoch, "position": position, "rng": self.rng.bit_generator.state,
                "history": self.history.to_dict(), "bad_evals": self.bad_evals,
                "seconds": self.seconds, "optimizer_lr": self.optimizer.lr,
                "data": self.data_dir}
        save_arrays(self.out_dir / "checkpoint.npz", arrays, meta)

    @classmethod
    def resume(cls, out_dir, train: Split, val: Split | None, test: Split | None, *,
               epochs: int | None = None, log=None, progress: bool = True) -> "Trainer":
        """A Trainer in exactly the state its last checkpoint in ``out_dir`` recorded.

        ``epochs`` may raise the total number of epochs (to continue a finished run).
        """
        path = Path(out_dir) / "checkpoint.npz"
        arrays, meta = read_checkpoint(path)
        config = meta["config"]
        if epochs is not None:
            config = {**config, "epochs": epochs}
        trainer = cls(TrainConfig.from_dict(config), train, val, test, out_dir, log=log,
                      progress=progress, data_dir=meta.get("data"))
        trainer._restore(arrays, meta, path)
        return trainer

    def _restore(self, arrays: dict, meta: dict, path: Path) -> None:
        net = network_from_arrays(meta["network"], arrays, source=str(path))
        self.net.set_params(net.params())
        self.optimizer.load_state_dict({k[4:]: v for k, v in arrays.items() if k.startswith("opt.")})
        self.optimizer.lr = meta["optimizer_lr"]
        n_best = sum(1 for k in arrays if k.startswith("best."))
        self.best_params = [arrays[f"best.{i}"] for i in range(n_best)] or None
        self.rng.bit_generator.state = meta["rng"]
        self.history = History.from_dict(meta["history"])
        self.epoch, self.bad_evals, self.seconds = meta["epoch"], meta["bad_evals"], meta["seconds"]
        if meta["position"] is not None:
            self.position = {**meta["position"], **{k: arrays[f"position.{k}"] for k in POSITION_ARRAYS
                                                     if f"position.{k}" in arrays}}
            if len(self.position["order"]) != len(self.train):
                raise FormatError(f"{path}: the checkpoint was made with {len(self.position['order'])} "
                                  f"training samples, the data now has {len(self.train)}")
        # A run that stopped early and is given more epochs goes on from its current weights.
        if self.history.stopped_early and self.epoch < self.config.epochs and meta["config"]["epochs"] < self.config.epochs:
            self.history.stopped_early, self.history.stop_reason = False, None


def read_checkpoint(path) -> tuple[dict, dict]:
    """(arrays, meta) of a checkpoint file, or FormatError."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no checkpoint to resume from")
    arrays, meta = load_arrays(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise FormatError(f"{path}: not a bpnn checkpoint")
    if meta.get("version") != CHECKPOINT_VERSION:
        raise FormatError(f"{path}: checkpoint version {meta.get('version')!r} is not supported")
    return arrays, meta
