"""Training: the tutorial's strategy (train, evaluate every N epochs, stop when the error stops
falling, save every N epochs so a crash loses little, resume) as a small Trainer, for any data.

- ``Trainer``: epochs over shuffled data (a seeded ``numpy.random.Generator``) in batches of
  exactly ``batch_size`` (the last of an epoch may be smaller), evaluation every ``eval_every``
  epochs, early stopping with ``patience`` and ``min_delta`` (the tutorial's "stop when accuracy
  falls" is patience 1), best weights restored at the end however training ended, checkpoints
  every ``checkpoint_every`` epochs, Ctrl-C saves and exits, divergence stops with a clear message.

The trainer takes ``Split``s (``bpnn.data.split``), applies the run's preprocessing
(``bpnn.preprocessing``) and encodes the targets (``bpnn.targets``); both are saved with every
checkpoint and in the model.  The inner loop is a stepper (``bpnn.steppers``), which picks the
fastest path that computes the same thing.
Not here: settings (``bpnn.settings``), the record of the run (``bpnn.history``), the
checkpoint's contents (``bpnn.runstate``), reading data (``bpnn.data``), the CLI (``bpnn.cli``).
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from . import evaluation, runstate
from .augment import random_shifts, shift_images
from .data.split import Split
from .device import limit_threads, resolve_device, threads_in_effect
from .errors import BpnnError
from .fileio import atomic_write
from .history import History
from .model import Model
from .modelinfo import DataInfo, ModelInfo
from .network import Network
from .optim import Optimizer
from .preprocessing import Preprocessing, resolve
from .settings import TrainConfig, check_layers
from .steppers import make_stepper
from .targets import Targets

if TYPE_CHECKING:  # JAX is optional: imported when a device needs it
    from .accel.jax_stepper import DeviceForward

__all__ = ["DivergenceError", "Trainer"]

CHUNK = 4096  # samples per stepper call (rounded to whole batches): progress, Ctrl-C, NaN checks


class DivergenceError(BpnnError):
    """The training loss became NaN or infinite."""


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
    """Trains ``config`` on ``train`` (a Split), selecting on ``val`` (or on ``test`` / ``train``
    as ``config.stop_on`` says), writing everything into ``out_dir``.

    preprocessing: what the features go through (default: ``config.preprocessing`` fitted on
    ``train``); targets: the task's classes or value scaling (default: fitted on ``train.y``);
    data: a JSON-able description of the data (source, checksum, image shape...) recorded in the
    checkpoints and the model.  ``log`` receives human-readable lines; ``progress`` shows a tqdm
    bar per epoch (only on a terminal).  ``Trainer.resume(out_dir, ...)`` continues a saved run.
    ``out_dir=None`` writes no files at all (library use: the scikit-learn estimators).
    net, optimizer: continue training this network from its current weights (and this
    optimiser with its state) instead of fresh ones (warm starts, ``partial_fit``).
    """

    def __init__(
        self,
        config: TrainConfig,
        train: Split,
        val: Split | None,
        test: Split | None,
        out_dir: str | os.PathLike | None,
        *,
        preprocessing: Preprocessing | None = None,
        targets: Targets | None = None,
        data: dict | None = None,
        log: Callable[[str], object] | None = None,
        progress: bool = True,
        net: Network | None = None,
        optimizer: Optimizer | None = None,
    ):
        self.config, self.train, self.val, self.test = config, train, val, test
        self.data = dict(data or {})
        self.preprocessing = preprocessing or resolve(
            config.preprocessing, train.X, config.scale, image_shape=self.data.get("image_shape")
        )
        self.targets = targets or Targets.fit(train.y, config.task, config.target_scaling)
        self._check(config, train)
        self.device = resolve_device(config.device, config.dtype)  # DeviceError: why not
        self._forward: DeviceForward | None = (
            None  # the device's forward pass for evaluation (made when needed)
        )
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.log = log or (lambda line: None)
        self.progress = progress
        init_seq, train_seq = np.random.SeedSequence(config.seed).spawn(2)
        self.net = config.build_network(np.random.default_rng(init_seq)) if net is None else net
        if self.net.sizes != config.layers:
            raise BpnnError(
                f"the network to continue has layers {self.net.sizes}, "
                f"the settings say {config.layers}"
            )
        self.optimizer = config.build_optimizer() if optimizer is None else optimizer
        self.rng = np.random.default_rng(train_seq)  # shuffling and dropout
        self.history = History(metric="error_rate" if config.task == "classify" else "rmse")
        self.epoch = 0  # epochs finished
        self.position: dict | None = None  # an epoch interrupted part-way: its order and progress
        self.best_params: list | None = None
        self.bad_evals = 0
        self.seconds = 0.0

    def _check(self, config: TrainConfig, train: Split) -> None:
        """Everything about the data that the settings must agree with, in one line each."""
        if train.X.ndim != 2 or train.X.dtype.kind not in "biuf":
            raise BpnnError(
                f"features must be a numeric (n_samples, n_features) array, got "
                f"{train.X.shape} {train.X.dtype}"
            )
        if config.task != self.targets.task:
            raise BpnnError(
                f"the settings say task {config.task!r}, the targets are for {self.targets.task!r}"
            )
        check_layers(config.layers, train.X.shape[1], self.targets.n_outputs, config.task)
        if config.augment and (
            self.preprocessing.pixel_scale(train.X) is None or not self._square()
        ):
            raise BpnnError(
                "augment shifts square uint8 images scaled by a factor; these features are not"
            )
        self._selection_split()

    def _selection_split(self) -> Split:
        """The split that ``config.stop_on`` selects on (a BpnnError when there is none)."""
        stop_on, train = self.config.stop_on, self.train
        split = {"val": self.val, "test": self.test, "train": train, "loss": train}[stop_on]
        if split is None or len(split) == 0:
            raise BpnnError(
                f"no {stop_on} split to select on: use a validation split "
                f"(val-size > 0), or stop on the test or training set"
            )
        return split

    def _square(self) -> bool:
        shape = self.preprocessing.image_shape
        n = self.config.layers[0]
        return (shape[0] == shape[1]) if shape else math.isqrt(n) ** 2 == n

    @property
    def run_dir(self) -> Path:
        """The run folder (a BpnnError for a run that writes no files: ``out_dir=None``)."""
        if self.out_dir is None:
            raise BpnnError("this run writes no files: it has no run folder")
        return self.out_dir

    # ---- the loop ----------------------------------------------------------------------
    def run(self) -> dict:
        """Train until the epochs run out, early stopping or Ctrl-C; returns the results.

        A run that fails before its first checkpoint leaves no half-made run folder behind.
        """
        if self.out_dir is None:  # nothing written, nothing to clean up
            with limit_threads(self.config.threads):
                return self._run()
        fresh = not (self.out_dir / "checkpoint.npz").exists()
        created = not self.out_dir.exists()
        try:
            with limit_threads(self.config.threads):
                return self._run()
        except BaseException:
            if fresh and not (self.out_dir / "checkpoint.npz").exists():
                self._discard(self.out_dir, created)
            raise

    @staticmethod
    def _discard(out_dir: Path, created: bool) -> None:
        for name in ("config.json", "history.json"):
            (out_dir / name).unlink(missing_ok=True)
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()

    def _run(self) -> dict:
        cfg = self.config
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self._write_json(
            "config.json",
            {
                **cfg.to_dict(),
                "data": self.data,
                "preprocessing": self.preprocessing.to_dict(),
                "targets": self.targets.to_dict(),
                "runtime": self.runtime(),
            },
        )
        if cfg.batch_size > len(self.train) and self.epoch == 0:
            self.log(
                f"batch size {cfg.batch_size} is more than the {len(self.train)} training samples: "
                f"every batch is the whole training split"
            )
        inputs, scale = self._inputs()
        targets = self._encoded_targets()
        stepper = None if cfg.augment else self._stepper(inputs, scale, targets)
        interrupted = False
        with _InterruptFlag() as flag:
            while self.epoch < cfg.epochs and not self.history.stopped_early:
                if (
                    cfg.augment
                ):  # this epoch's moved images (a resumed epoch gets the same ones back)
                    self._start_epoch()
                    stepper = self._augmented(stepper, inputs, scale, targets)
                if not self._run_epoch(stepper, flag):
                    interrupted = True
                    break
                self._end_of_epoch()
        if interrupted:
            self.save_checkpoint()
            self.log(
                f"interrupted during epoch {self.epoch + 1}: checkpoint saved in "
                f"{self.out_dir}; continue with: bpnn train --resume {self.out_dir}"
            )
            return {"interrupted": True, "epochs": self.epoch, "out": str(self.out_dir)}
        return self._finish()

    def runtime(self) -> dict:
        """Where the run computes: the resolved device and the CPU threads in effect."""
        return {
            "device": self.device.name,
            "device_note": self.device.note,
            "threads": self.config.threads or threads_in_effect(),
        }

    def _augmented(self, stepper, inputs: np.ndarray, scale: float, targets: np.ndarray):
        """The stepper of this epoch's shifted images: a device stepper shifts them itself."""
        shifts = self._current["shifts"]
        if not self.device.uses_jax:
            return self._stepper(shift_images(inputs, shifts), scale, targets)
        stepper = stepper or self._stepper(inputs, scale, targets)
        stepper.set_shifts(shifts, self.config.augment, math.isqrt(inputs.shape[1]))
        return stepper

    def _inputs(self) -> tuple[np.ndarray, float]:
        """The training inputs and the factor the stepper applies to them: uint8 pixels stay
        uint8 (the fast paths scale each batch), anything else is preprocessed once."""
        X = self.train.X
        scale = self.preprocessing.pixel_scale(X)
        if scale is not None:
            return np.ascontiguousarray(X), scale
        return np.ascontiguousarray(self.preprocessing.apply(X, self.net.dtype)), 1.0

    def _encoded_targets(self) -> np.ndarray:
        """Class indices (n,), or value rows (n, k) in the network's dtype."""
        targets = self.targets.encode(self.train.y)
        if targets.dtype.kind == "f":
            targets = np.ascontiguousarray(targets, dtype=self.net.dtype)
        return targets

    def _stepper(self, inputs: np.ndarray, scale: float, targets: np.ndarray):
        cfg = self.config
        stepper = make_stepper(
            self.net,
            self.optimizer,
            inputs,
            targets,
            self._batch_size(),
            self.rng,
            scale=scale,
            on=cfg.target_on,
            off=cfg.target_off,
            weights=self.train.w,
            device=self.device,
        )
        stepper.sync_every_call = False  # a device stepper syncs once an epoch (_run_epoch)
        if self.history.stepper != stepper.name:
            self.history.stepper, self.history.fallback = stepper.name, stepper.fallback
            if stepper.fallback:
                self.log(f"training with the NumPy reference path: {stepper.fallback}")
        return stepper

    def _batch_size(self) -> int:
        return min(self.config.batch_size, len(self.train))

    def _chunk(self) -> int:
        """Samples per stepper call: whole batches, so every batch has ``batch_size`` samples."""
        bs = self._batch_size()
        return bs * max(1, CHUNK // bs)

    @property
    def _current(self) -> dict:
        """The epoch in progress (``_start_epoch`` begins one): order, done, loss, seconds..."""
        if self.position is None:
            raise RuntimeError("no epoch in progress: _start_epoch begins one")
        return self.position

    def _start_epoch(self) -> None:
        """A new epoch's sample order (and image shifts), unless an interrupted one goes on."""
        if self.position is not None:
            return
        n = len(self.train)
        self.position = {"order": self.rng.permutation(n), "done": 0, "loss": 0.0, "seconds": 0.0}
        if self.config.augment:
            self.position["shifts"] = random_shifts(n, self.config.augment, self.rng)

    def _run_epoch(self, stepper, flag) -> bool:
        """One epoch (or the rest of an interrupted one); False if Ctrl-C stopped it."""
        n, chunk_size = len(self.train), self._chunk()
        self.optimizer.lr = self.config.lr_at(self.epoch)
        self._start_epoch()
        pos = self._current
        bar = self._bar(n, pos["done"])
        start = time.perf_counter()
        try:
            while pos["done"] < n:
                if flag.raised:
                    pos["seconds"] += time.perf_counter() - start
                    return False
                chunk = pos["order"][pos["done"] : pos["done"] + chunk_size]
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
            stepper.sync()  # a device's weights back into the network
            if bar is not None:
                bar.close()
        pos["seconds"] += time.perf_counter() - start
        return True

    def _bar(self, total: int, initial: int):
        if not (self.progress and sys.stderr.isatty()):
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(
            total=total,
            initial=initial,
            desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
            unit="sample",
            unit_scale=True,
            leave=False,
            file=sys.stderr,
        )

    def _diverged(self) -> NoReturn:
        # without a run folder (out_dir=None: the scikit-learn estimators) nothing was saved
        saved = self.out_dir is not None and (self.out_dir / "checkpoint.npz").exists()
        kept = (
            f"the last good checkpoint in {self.out_dir} is kept"
            if saved
            else "no checkpoint was saved before it"
        )
        raise DivergenceError(
            f"training diverged in epoch {self.epoch + 1} (loss is NaN or infinite) with learning "
            f"rate {self.optimizer.lr:g}: try a smaller --lr; {kept}"
        )

    def _end_of_epoch(self) -> None:
        cfg, pos = self.config, self._current
        self.epoch += 1
        self.position = None
        self.seconds += pos["seconds"]
        record = {
            "epoch": self.epoch,
            "train_loss": pos["loss"] / self.train.total_weight(),
            "val_error": None,
            "test_error": None,
            "lr": self.optimizer.lr,
            "seconds": round(pos["seconds"], 4),
        }
        if self.epoch % cfg.eval_every == 0 or self.epoch == cfg.epochs:
            self._evaluate(record)
        self.history.add(**record)
        self.log(self.history.describe(record, cfg.stop_on))
        if (
            self.epoch % cfg.checkpoint_every == 0
            or self.history.stopped_early
            or self.epoch == cfg.epochs
        ):
            self.save_checkpoint()
        if (
            self.out_dir is not None
        ):  # (the history of a long run is worth not converting for nothing)
            self._write_json("history.json", self.history.to_dict())

    def error(self, split: Split) -> float:
        """The selection error of the current network on ``split`` (``bpnn.evaluation``)."""
        if self.device.uses_jax and self._forward is None:
            from .accel.jax_stepper import DeviceForward

            self._forward = DeviceForward(self.net, self.device.jax_device())
        return evaluation.selection_error(
            self.net, self.preprocessing, self.targets, split.X, split.y, split.w, self._forward
        )

    def _evaluate(self, record: dict):
        """Evaluate on the selection set (or take the epoch's training loss, ``stop_on="loss"``)
        and apply the early-stopping rule."""
        cfg, h = self.config, self.history
        if cfg.stop_on == "loss":  # scikit-learn's rule without a validation set: no extra pass
            error = record["train_loss"]
        else:
            error = self.error(self._selection_split())
            record["test_error" if cfg.stop_on == "test" else "val_error"] = error
        # An equal error is no worse (the tutorial stops when accuracy *falls*): with min_delta 0
        # the later weights win a tie, so a small set stuck at 0 errors keeps training.
        if h.best_error is None or (
            error <= h.best_error if cfg.min_delta == 0 else error < h.best_error - cfg.min_delta
        ):
            h.best_error, h.best_epoch, self.bad_evals = error, self.epoch, 0
            self.best_params = [p.copy() for p in self.net.params()]
            return
        self.bad_evals += 1
        if self.bad_evals >= cfg.patience:
            h.stopped_early = True
            what = "training loss" if cfg.stop_on == "loss" else f"{cfg.stop_on} {h.metric_name()}"
            h.stop_reason = (
                f"{what} did not improve for {self.bad_evals} "
                f"evaluation(s) (best {h.best_error:.4g} at epoch {h.best_epoch})"
            )

    def _finish(self) -> dict:
        """Restore the best weights, test once, write model.npz; return the results."""
        h = self.history
        if self.best_params is not None:
            self.net.set_params(self.best_params)
        if not h.stopped_early:
            h.stop_reason = f"ran all {self.config.epochs} epochs"
        results = {
            "task": self.config.task,
            "metric": h.metric,
            "epochs": self.epoch,
            "best_epoch": h.best_epoch,
            "seconds": round(self.seconds, 3),
            "stopped_early": h.stopped_early,
            "stop_reason": h.stop_reason,
            "stepper": h.stepper,
            "train_samples": len(self.train),
        }
        for name, split in (("val", self.val), ("test", self.test)):
            if split is not None and len(split):
                results[f"{name}_error"] = self.error(split)
                results[f"{name}_samples"] = len(split)
        if self.test is not None and len(self.test) and self.config.task == "regress":
            s = self.model().score(self.test.X, self.test.y)
            results.update(test_rmse=s["rmse"], test_mae=s["mae"], test_r2=s["r2"])
        if self.out_dir is not None:
            model = self.out_dir / "model.npz"
            self.model({"results": results}).save(model)
            self._write_json("history.json", h.to_dict())
            results["model"] = str(model)
        return results

    def model(self, extra: dict | None = None) -> Model:
        """The current network as a Model (with the run's preprocessing, targets and settings)."""
        info = ModelInfo(
            config=self.config.to_dict(),
            data=DataInfo.from_dict(self.data),
            trained_with="bpnn",
            **(extra or {}),
        )
        return Model(self.net, self.preprocessing, self.targets, info)

    # ---- checkpoints -------------------------------------------------------------------
    def _write_json(self, name: str, data: dict) -> None:
        if self.out_dir is None:
            return
        text = json.dumps(data, indent=1).encode()
        atomic_write(self.out_dir / name, lambda f: f.write(text))

    def save_checkpoint(self) -> None:
        """checkpoint.npz: weights, optimiser state, best weights, generator state, position
        (``bpnn.runstate``)."""
        if self.out_dir is not None:
            runstate.write_checkpoint(self.out_dir / "checkpoint.npz", self)

    @classmethod
    def resume(
        cls,
        out_dir: str | os.PathLike,
        train: Split,
        val: Split | None,
        test: Split | None,
        *,
        changes: dict | None = None,
        log: Callable[[str], object] | None = None,
        progress: bool = True,
    ) -> Trainer:
        """A Trainer in exactly the state its last checkpoint in ``out_dir`` recorded.

        ``changes`` may set the settings in ``bpnn.settings.RESUMABLE`` (more epochs, a new
        patience...); each change is recorded in the history.  Extending a finished run with more
        epochs lays the schedule over the new total (epochs already run keep their rates).
        """
        path = Path(out_dir) / "checkpoint.npz"
        arrays, meta = runstate.read_checkpoint(path)
        changes = runstate.resume_changes(meta, changes)
        config = runstate.checkpoint_config(meta, path, changes)
        prep, targets = runstate.checkpoint_parts(meta, path)
        trainer = cls(
            config,
            train,
            val,
            test,
            out_dir,
            preprocessing=prep,
            targets=targets,
            data=meta.get("data"),
            log=log,
            progress=progress,
        )
        runstate.restore(trainer, arrays, meta, path)
        if changes:
            trainer.history.changes.append({"from_epoch": trainer.epoch + 1, **changes})
        return trainer
