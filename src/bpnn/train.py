"""Training: the tutorial's strategy (train, evaluate every N epochs, stop when the error stops
falling, save every N epochs so a crash loses little, resume) as a small Trainer, for any data.

- ``History``: per epoch the training loss, selection error, learning rate and seconds, and how
  the run went (which stepper ran, and why not a compiled one; settings changed on resume).
- ``Split``: raw features X (n, d) and the user's targets y of one part of the data.
- ``Trainer``: epochs over shuffled data (a seeded ``numpy.random.Generator``) in batches of
  exactly ``batch_size`` (the last of an epoch may be smaller), evaluation every ``eval_every``
  epochs, early stopping with ``patience`` and ``min_delta`` (the tutorial's "stop when accuracy
  falls" is patience 1), best weights restored at the end however training ended, checkpoints
  every ``checkpoint_every`` epochs, Ctrl-C saves and exits, divergence stops with a clear message.

The trainer applies the run's preprocessing (``bpnn.preprocessing``) and encodes the targets
(``bpnn.targets``); both are saved with every checkpoint and in the model.  The inner loop is a
stepper (``bpnn.steppers``), which picks the fastest path that computes the same thing.
Not here: settings (``bpnn.settings``), reading data (``bpnn.data``), the CLI (``bpnn.cli``).
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

from . import evaluation
from .augment import random_shifts, shift_images
from .checkpoint import load_arrays, network_from_arrays, params_to_arrays, save_arrays
from .device import default_threads, limit_threads, resolve_device
from .errors import BpnnError, FormatError
from .fileio import atomic_write
from .model import Model
from .network import Network, sample_weights
from .optim import Optimizer
from .preprocessing import Preprocessing, resolve
from .settings import RESUMABLE, TrainConfig
from .steppers import make_stepper
from .targets import Targets

__all__ = [
    "DivergenceError",
    "History",
    "Split",
    "TrainConfig",
    "Trainer",
    "checkpoint_config",
    "read_checkpoint",
]

CHECKPOINT_FORMAT = "bpnn-checkpoint"
CHECKPOINT_VERSION = 2
POSITION_ARRAYS = ("order", "shifts")  # an interrupted epoch's sample order and image shifts
CHUNK = 4096  # samples per stepper call (rounded to whole batches): progress, Ctrl-C, NaN checks


class DivergenceError(BpnnError):
    """The training loss became NaN or infinite."""


@dataclass
class History:
    """One record per finished epoch, plus how the run went; saved as ``history.json``.

    ``metric`` names what ``val_error``/``test_error`` hold: the error rate (classify) or the
    mean RMSE in the targets' units (regress).  ``stepper``: the path that trained;
    ``fallback``: why it is not a compiled one (None when it is).  ``changes``: settings changed
    when the run was resumed, with the epoch they apply from.
    """

    epochs: list = field(default_factory=list)
    best_epoch: int | None = None
    best_error: float | None = None
    stopped_early: bool = False
    stop_reason: str | None = None
    metric: str = "error_rate"
    stepper: str | None = None
    fallback: str | None = None
    changes: list = field(default_factory=list)

    def add(self, **record) -> None:
        self.epochs.append(record)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> History:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Split:
    """Raw features X (n, d) (uint8 or float), the user's targets y (n,) or (n, k) and
    optional sample weights w (n,): training then minimises each batch's weighted mean loss,
    and evaluation weighs each sample's error."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray | None = None

    def __post_init__(self):
        if len(self.X) != len(self.y):
            raise BpnnError(f"{len(self.X)} samples but {len(self.y)} targets")
        if self.w is not None:
            self.w = sample_weights(self.w, len(self.y))

    def take(self, idx: np.ndarray) -> Split:
        """The samples ``idx`` (with their weights)."""
        return Split(self.X[idx], self.y[idx], None if self.w is None else self.w[idx])

    def total_weight(self) -> float:
        return float(len(self.y) if self.w is None else self.w.sum())

    def __len__(self) -> int:
        return len(self.y)


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
        out_dir,
        *,
        preprocessing: Preprocessing | None = None,
        targets: Targets | None = None,
        data: dict | None = None,
        log=None,
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
        self._forward = None  # the device's forward pass for evaluation (made when needed)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.log = log or (lambda line: None)
        self.progress = progress
        init_seq, train_seq = np.random.SeedSequence(config.seed).spawn(2)
        self.net = config.build_network(np.random.default_rng(init_seq)) if net is None else net
        if self.net.sizes != config.layers:
            raise BpnnError(
                f"the network to continue has layers {self.net.sizes}, the settings say {config.layers}"
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
        split = {"val": self.val, "test": self.test, "train": train, "loss": train}[config.stop_on]
        if split is None or len(split) == 0:
            raise BpnnError(
                f"no {config.stop_on} split to select on: use a validation split "
                f"(val-size > 0), or stop on the test or training set"
            )

    def _square(self) -> bool:
        shape = self.preprocessing.image_shape
        n = self.config.layers[0]
        return (shape[0] == shape[1]) if shape else math.isqrt(n) ** 2 == n

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
                self._discard(created)
            raise

    def _discard(self, created: bool) -> None:
        for name in ("config.json", "history.json"):
            (self.out_dir / name).unlink(missing_ok=True)
        if created and self.out_dir.is_dir() and not any(self.out_dir.iterdir()):
            self.out_dir.rmdir()

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
            "threads": self.config.threads or default_threads(),
        }

    def _augmented(self, stepper, inputs: np.ndarray, scale: float, targets: np.ndarray):
        """The stepper of this epoch's shifted images: a device stepper shifts them itself."""
        shifts = self.position["shifts"]
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
        if hasattr(stepper, "sync"):  # a device stepper: synced once an epoch (_run_epoch)
            stepper.sync_every_call = False
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
        pos = self.position
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
            if hasattr(stepper, "sync"):  # the device's weights back into the network
                stepper.sync()
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

    def _diverged(self):
        kept = (
            f"the last good checkpoint in {self.out_dir} is kept"
            if (self.out_dir / "checkpoint.npz").exists()
            else "no checkpoint was saved before it"
        )
        raise DivergenceError(
            f"training diverged in epoch {self.epoch + 1} (loss is NaN or infinite) with learning "
            f"rate {self.optimizer.lr:g}: try a smaller --lr; {kept}"
        )

    def _end_of_epoch(self):
        cfg, pos = self.config, self.position
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
        self.log(self._describe(record))
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
            split = {"val": self.val, "test": self.test, "train": self.train}[cfg.stop_on]
            error = self.error(split)
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
            what = (
                "training loss" if cfg.stop_on == "loss" else f"{cfg.stop_on} {self._metric_name()}"
            )
            h.stop_reason = (
                f"{what} did not improve for {self.bad_evals} "
                f"evaluation(s) (best {h.best_error:.4g} at epoch {h.best_epoch})"
            )

    def _metric_name(self) -> str:
        return "error" if self.history.metric == "error_rate" else "RMSE"

    def _describe(self, r: dict) -> str:
        parts = [f"epoch {r['epoch']:3d}", f"loss {r['train_loss']:.5f}"]
        name = "val" if self.config.stop_on != "test" else "test"
        for key in ("val_error", "test_error"):
            if r[key] is not None:
                label = name if key == "val_error" else "test"
                value = (
                    f"{100 * r[key]:.2f}%"
                    if self.history.metric == "error_rate"
                    else f"{r[key]:.5g}"
                )
                parts.append(f"{label} {self._metric_name()} {value}")
        parts += [f"lr {r['lr']:.4g}", f"{r['seconds']:.2f}s"]
        return "  ".join(parts)

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
        meta = {
            "config": self.config.to_dict(),
            "data": self.data,
            "trained_with": "bpnn",
            **(extra or {}),
        }
        return Model(self.net, self.preprocessing, self.targets, meta)

    # ---- checkpoints -------------------------------------------------------------------
    def _write_json(self, name: str, data: dict) -> None:
        if self.out_dir is None:
            return
        text = json.dumps(data, indent=1).encode()
        atomic_write(self.out_dir / name, lambda f: f.write(text))

    def save_checkpoint(self) -> None:
        """checkpoint.npz: weights, optimiser state, best weights, generator state, position."""
        if self.out_dir is None:
            return
        arrays = dict(params_to_arrays(self.net))
        arrays.update({f"opt.{k}": v for k, v in self.optimizer.state_dict().items()})
        if self.best_params is not None:
            arrays.update({f"best.{i}": p for i, p in enumerate(self.best_params)})
        position = None
        if self.position is not None:
            position = {k: v for k, v in self.position.items() if k not in POSITION_ARRAYS}
            arrays.update(
                {f"position.{k}": self.position[k] for k in POSITION_ARRAYS if k in self.position}
            )
        meta = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": self.config.to_dict(),
            "network": self.net.config(),
            "preprocessing": self.preprocessing.to_dict(),
            "targets": self.targets.to_dict(),
            "epoch": self.epoch,
            "position": position,
            "rng": self.rng.bit_generator.state,
            "history": self.history.to_dict(),
            "bad_evals": self.bad_evals,
            "seconds": self.seconds,
            "optimizer_lr": self.optimizer.lr,
            "data": self.data,
        }
        save_arrays(self.out_dir / "checkpoint.npz", arrays, meta)

    @classmethod
    def resume(
        cls,
        out_dir,
        train: Split,
        val: Split | None,
        test: Split | None,
        *,
        changes: dict | None = None,
        log=None,
        progress: bool = True,
    ) -> Trainer:
        """A Trainer in exactly the state its last checkpoint in ``out_dir`` recorded.

        ``changes`` may set the settings in ``bpnn.settings.RESUMABLE`` (more epochs, a new
        patience...); each change is recorded in the history.  Extending a finished run with more
        epochs lays the schedule over the new total (epochs already run keep their rates).
        """
        path = Path(out_dir) / "checkpoint.npz"
        arrays, meta = read_checkpoint(path)
        recorded = meta.get("config") if isinstance(meta.get("config"), dict) else {}
        changes = {
            k: v for k, v in (changes or {}).items() if v is not None and recorded.get(k) != v
        }
        refused = sorted(set(changes) - set(RESUMABLE))
        if refused:
            raise BpnnError(
                f"{', '.join(refused)} cannot change on a resumed run (it shapes the run); "
                f"only {', '.join(RESUMABLE)} can"
            )
        config = checkpoint_config(meta, path, changes)
        try:
            n_outputs = meta["network"]["sizes"][-1]
            prep = Preprocessing.from_dict(meta["preprocessing"], source=str(path))
            targets = Targets.from_dict(meta["targets"], n_outputs, source=str(path))
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{path}: broken checkpoint metadata ({exc})") from None
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
        trainer._restore(arrays, meta, path)
        if changes:
            trainer.history.changes.append({"from_epoch": trainer.epoch + 1, **changes})
        return trainer

    def _restore(self, arrays: dict, meta: dict, path: Path) -> None:
        try:
            net = network_from_arrays(meta["network"], arrays, source=str(path))
            self.net.set_params(net.params())
            self.optimizer.load_state_dict(
                {k[4:]: v for k, v in arrays.items() if k.startswith("opt.")}
            )
            self.optimizer.lr = meta["optimizer_lr"]
            n_best = sum(1 for k in arrays if k.startswith("best."))
            self.best_params = [arrays[f"best.{i}"] for i in range(n_best)] or None
            self.rng.bit_generator.state = meta["rng"]
            self.history = History.from_dict(meta["history"])
            self.epoch, self.bad_evals, self.seconds = (
                meta["epoch"],
                meta["bad_evals"],
                meta["seconds"],
            )
            if meta["position"] is not None:
                self.position = {
                    **meta["position"],
                    **{
                        k: arrays[f"position.{k}"]
                        for k in POSITION_ARRAYS
                        if f"position.{k}" in arrays
                    },
                }
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise FormatError(f"{path}: broken checkpoint ({type(exc).__name__}: {exc})") from None
        if self.position is not None and len(self.position["order"]) != len(self.train):
            raise FormatError(
                f"{path}: the checkpoint was made with {len(self.position['order'])} "
                f"training samples, the data now has {len(self.train)}"
            )
        # A run that stopped early and is given more epochs goes on from its current weights.
        if (
            self.history.stopped_early
            and self.epoch < self.config.epochs
            and meta["config"]["epochs"] < self.config.epochs
        ):
            self.history.stopped_early, self.history.stop_reason = False, None


def check_layers(layers: list, width: int, n_out: int, task: str, name: str = "layers") -> None:
    """One line, naming the option, when layer sizes do not fit the data's width and outputs."""
    if layers[0] != width or layers[-1] != n_out:
        what = f"{n_out} classes" if task == "classify" else f"{n_out} target value(s)"
        raise BpnnError(
            f"{name} {','.join(map(str, layers))} does not fit the data: it has "
            f"{width} features and {what}, so {name} must be {width},...,{n_out}"
        )


def checkpoint_config(meta: dict, path, changes: dict | None = None) -> TrainConfig:
    """The TrainConfig a checkpoint records (with ``changes``), or one FormatError line."""
    try:
        return TrainConfig.from_dict({**meta["config"], **(changes or {})})
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: broken checkpoint settings ({exc})") from None


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
