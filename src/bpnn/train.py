"""Training: the tutorial's strategy (train, evaluate every N epochs, stop when the error stops
falling, save every N epochs so a crash loses little, resume) as a small Trainer, for any data.

``Trainer``: epochs over shuffled data (a seeded generator) in batches of exactly ``batch_size``
(the last of an epoch may be smaller), evaluation every ``eval_every`` epochs, early stopping, the
best weights restored at the end however training ended, checkpoints every ``checkpoint_every``
epochs, Ctrl-C saves and exits, divergence stops with a clear message.  Everything that changes as
it trains is one value, ``trainer.state`` (``bpnn.runstate.RunState``); the inner loop is a
stepper (``bpnn.steppers``), the fastest path that computes the same thing.

Not here: settings (``bpnn.settings``), the data's checks and encoding (``bpnn.trainingdata``),
the run's state and checkpoint (``bpnn.runstate``), early stopping's rule (``bpnn.stopping``), the
run folder's files (``bpnn.runfolder``), Ctrl-C, progress bar and divergence error
(``bpnn.watch``), the record of the run (``bpnn.history``), reading data (``bpnn.data``), the CLI.
Over 400 lines: the loop, its evaluation and its checkpoint/resume read as one story.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import evaluation, runstate
from .augment import deform_epoch, deformation, random_shifts, shift_images
from .callbacks import Callback, CallbackList
from .data.split import Split
from .deform import Deformation
from .device import blas_threads, limit_threads, resolve_device, threads_in_effect
from .errors import BpnnError
from .history import format_loss, plural
from .model import Model
from .modelinfo import DataInfo, ModelInfo
from .network import Network
from .optim import Optimizer
from .preprocessing import Preprocessing, resolve
from .runfolder import RunFolder
from .runstate import EpochPosition, RunState
from .settings import TrainConfig
from .steppers import make_stepper
from .targets import Targets
from .trainingdata import (
    check_data,
    encoded_targets,
    image_shape,
    selection_split,
    stepper_inputs,
)
from .watch import (
    DivergenceError,
    InterruptFlag,
    diverged,
    divergence_bound,
    progress_bar,
    run_eta,
    untrained_loss,
)

if TYPE_CHECKING:  # JAX is optional: imported when a device needs it
    from .accel.jax_stepper import DeviceForward

__all__ = ["DivergenceError", "Trainer", "add_scores", "run_model"]

CHUNK = 4096  # samples per stepper call (rounded to whole batches): progress, Ctrl-C, NaN checks


class Trainer:
    """Trains ``config`` on ``train`` (a Split), selecting on ``val`` (or on ``test`` / ``train``
    as ``config.stop_on`` says), writing everything into ``out_dir``.

    preprocessing: what the features go through (default: ``config.preprocessing`` fitted on
    ``train``); targets: the task's classes or value scaling (default: fitted on ``train.y``);
    data: a JSON-able description of the data (source, checksum, image shape...) recorded in the
    checkpoints and the model.  ``log`` receives human-readable lines; ``progress`` shows a tqdm
    bar per epoch with the whole run's time left (only on a terminal; "always": anywhere).
    ``Trainer.resume(out_dir, ...)`` continues a saved run.
    ``out_dir=None`` writes no files at all (library use: the scikit-learn estimators).
    net, optimizer: continue training this network from its current weights (and this
    optimiser with its state) instead of fresh ones (warm starts, ``partial_fit``).
    member: the run is member k of a committee (``bpnn.committees``): its weights, shuffling
    and dropout are drawn from seed + k (its splits are the committee's, given).
    callbacks: ``bpnn.callbacks.Callback`` objects that watch the run (and may stop it).
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
        progress: bool | str = True,
        net: Network | None = None,
        optimizer: Optimizer | None = None,
        callbacks: list[Callback] | None = None,
        member: int = 0,
    ):
        self.config, self.train, self.val, self.test = config, train, val, test
        self.data = dict(data or {})
        self.preprocessing = preprocessing or resolve(
            config.preprocessing,
            train.X,
            config.scale,
            image_shape=self.data.get("image_shape"),
            bins=config.bins,
        )
        self.targets = targets or Targets.fit(
            train.y, config.task, config.target_scaling, config.target_range
        )
        check_data(config, self.preprocessing, self.targets, (train, val, test))
        self.device = resolve_device(config.device, config.dtype)  # DeviceError: why not
        self._forward: DeviceForward | None = None  # the device's forward pass (made when needed)
        self._selection: evaluation.Selection | None = None  # the split evaluated every epoch
        # (prepared on its first evaluation: ``error``)
        self._pending_loss: float | None = None  # its loss, from the pass that gave its error
        self.final_params: list[np.ndarray] | None = None  # the run's own last weights, where
        # it averages them (the best restored hide them): an estimator's warm start goes on there
        self.folder = None if out_dir is None else RunFolder(out_dir)
        self.log = log or (lambda line: None)
        self.progress = progress
        self.state = RunState.start(config, net, optimizer, member)
        self.callbacks = CallbackList(callbacks)
        self.resume_hint: Path | None = None  # the folder to --resume (a committee's, for members)

    # the parts of the state callers read
    net = property(lambda self: self.state.net, doc="The network being trained.")
    optimizer = property(lambda self: self.state.optimizer, doc="Its optimiser.")
    history = property(lambda self: self.state.history, doc="The run's History.")
    epoch = property(lambda self: self.state.epoch, doc="Epochs finished.")

    @property
    def out_dir(self) -> Path | None:
        """The run folder's path (None: the run writes no files)."""
        return None if self.folder is None else self.folder.path

    @property
    def run_dir(self) -> Path:
        """The run folder (a BpnnError for a run that writes no files: ``out_dir=None``)."""
        if self.folder is None:
            raise BpnnError("this run writes no files: it has no run folder")
        return self.folder.path

    # ---- the loop ----------------------------------------------------------------------
    def run(self) -> dict:
        """Train until the epochs run out, early stopping or Ctrl-C; returns the results.

        A run that fails before its first checkpoint leaves no half-made run folder behind.
        The folder is locked while it runs (a second writer is refused), and freed after.
        """
        with limit_threads(self.config.threads):
            if self.folder is None:  # nothing written, nothing to clean up
                return self._run()
            self.folder.lock()  # (held already when the runs layer made this trainer)
            try:
                with self.folder.kept_once_checkpointed():
                    return self._run()
            finally:
                self.folder.unlock(every=True)

    def _run(self) -> dict:
        cfg, st = self.config, self.state
        if self.folder is not None:
            self.folder.write_config(
                cfg, self.preprocessing, self.targets, self.data, self.runtime()
            )
        if cfg.batch_size > len(self.train) and st.epoch == 0:
            self.log(
                f"batch size {cfg.batch_size} is more than the {len(self.train)} training samples: "
                f"every batch is the whole training split"
            )
        self.callbacks.run_start(self)
        inputs, scale = stepper_inputs(self.train.X, self.preprocessing, st.net.dtype)
        targets = encoded_targets(self.targets, self.train.y, st.net.dtype)
        stepper = None if cfg.augment else self._stepper(inputs, scale, targets)
        if st.epoch == 0 and st.position is None and st.history.untrained_loss is None:
            st.history.untrained_loss = untrained_loss(  # the divergence rule's scale
                st.net, self.preprocessing, self.targets, self.train, cfg.target_on, cfg.target_off
            )
        interrupted = alone = False
        with InterruptFlag() as flag, contextlib.ExitStack() as limits:
            while st.epoch < cfg.epochs and not st.history.stopped_early:
                if cfg.augment:  # this epoch's moved images (a resumed epoch gets the same ones)
                    stepper = self._augmented(stepper, inputs, scale, targets)
                if not alone and cfg.threads is None and getattr(stepper, "one_thread", False):
                    # a one-thread stepper leaves BLAS the evaluations only, small ones, on
                    # which its threads cost more than they give (they spin between calls:
                    # twice the CPU seconds)
                    limits.enter_context(blas_threads(1))
                    alone = True
                interrupted = not self._run_epoch(stepper, flag)
                if interrupted:
                    break
                self._end_of_epoch()
        if interrupted:  # (outside the flag: a second Ctrl-C stops the saving, the old file stays)
            self.save_checkpoint()
            self.log(
                f"interrupted during epoch {st.epoch + 1}: checkpoint saved in "
                f"{self.out_dir}; continue with: "
                f"bpnn train --resume {self.resume_hint or self.out_dir}"
            )
            results = {"interrupted": True, "epochs": st.epoch, "out": str(self.out_dir)}
        else:
            results = self._finish()
        self.callbacks.run_end(results)
        return results

    def runtime(self) -> dict:
        """Where the run computes: the resolved device and the CPU threads in effect."""
        return {
            "device": self.device.name,
            "device_note": self.device.note,
            "threads": self.config.threads or threads_in_effect(),
        }

    def _augmented(self, stepper, inputs: np.ndarray, scale: float, targets: np.ndarray):
        """The stepper of this epoch's shifted or deformed images: a device stepper shifts or
        deforms them itself, per batch."""
        if self._deform is not None:
            d, shape = self._deform
            seed = self._position().seed
            assert seed is not None  # (drawn for every epoch of a run with deformations)
            if not self.device.uses_jax:
                return self._stepper(deform_epoch(inputs, shape, d, seed), scale, targets)
            stepper = stepper or self._stepper(inputs, scale, targets)
            stepper.set_deform(d, seed, shape)
            return stepper
        shifts = self._position().shifts
        assert shifts is not None  # (drawn for every epoch of a run with augment)
        if not self.device.uses_jax:
            return self._stepper(shift_images(inputs, shifts), scale, targets)
        stepper = stepper or self._stepper(inputs, scale, targets)
        stepper.set_shifts(shifts, self.config.augment, math.isqrt(inputs.shape[1]))
        return stepper

    @functools.cached_property
    def _deform(self) -> tuple[Deformation, tuple[int, int]] | None:
        """The run's deformations and image (h, w), parsed once, not every epoch (None: the
        integer shifts, or no augment)."""
        d = deformation(self.config.augment)
        if d is None:
            return None
        shape = image_shape(self.preprocessing, self.config)
        assert shape is not None  # (check_data refused the run otherwise)
        return d, shape

    def _stepper(self, inputs: np.ndarray, scale: float, targets: np.ndarray):
        cfg, st = self.config, self.state
        stepper = make_stepper(
            st.net,
            st.optimizer,
            inputs,
            targets,
            min(cfg.batch_size, len(self.train)),
            st.rng,
            scale=scale,
            on=cfg.target_on,
            off=cfg.target_off,
            weights=self.train.w,
            device=self.device,
            parallel_samples=cfg.parallel_samples,
            ple_bins=self.preprocessing.ple_bins,
        )
        stepper.sync_every_call = False  # a device stepper syncs once an epoch (_run_epoch)
        if st.history.stepper != stepper.name:
            st.history.stepper, st.history.fallback = stepper.name, stepper.fallback
            if stepper.fallback:
                self.log(f"training with the NumPy reference path: {stepper.fallback}")
            else:  # which path runs (README "Speed"): the fallback's line says it otherwise
                self.log(f"training path: {stepper.name}")
            kernels = sys.modules.get("bpnn.fast._kernels")
            note = getattr(kernels, "CACHE_NOTE", None)
            if note:  # where Numba's cache had to go (a read-only install)
                self.log(f"numba: {note}")
            compiled = getattr(stepper, "kernels", ())  # (the Numba steppers name theirs)
            if compiled and kernels is not None and not kernels.compiled_before(compiled):
                self.log("numba: compiling the kernels (first run only: cached for the next)")
        return stepper

    def _position(self) -> EpochPosition:
        """The epoch in progress: an interrupted one goes on, else a new one's sample order (and
        image shifts) is drawn."""
        st = self.state
        if st.position is None:
            n, augment = len(self.train), self.config.augment
            order = st.rng.permutation(n)
            if isinstance(augment, str):  # the deformations' seed, after the order
                st.position = EpochPosition(order, seed=int(st.rng.integers(2**32)))
            else:
                shifts = random_shifts(n, augment, st.rng) if augment else None  # after the order
                st.position = EpochPosition(order, shifts)
        return st.position

    def _run_epoch(self, stepper, flag: InterruptFlag) -> bool:
        """One epoch (or the rest of an interrupted one); False if Ctrl-C stopped it."""
        st, n = self.state, len(self.train)
        batch = min(self.config.batch_size, n)
        chunk_size = batch * max(1, CHUNK // batch)  # whole batches: each has batch_size samples
        st.optimizer.lr = self.config.lr_at(st.epoch)
        pos = self._position()
        desc = f"epoch {st.epoch + 1}/{self.config.epochs}"
        bar = progress_bar(n, pos.done, desc, self.progress)
        start = time.perf_counter()
        epochs_after = self.config.epochs - st.epoch - 1
        mean = st.seconds / st.epoch if st.epoch else None  # (a resumed run's epochs count)
        try:
            while pos.done < n:
                if flag.raised:
                    pos.seconds += time.perf_counter() - start
                    return False
                chunk = pos.order[pos.done : pos.done + chunk_size]
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    loss = stepper(chunk)  # a diverging run is caught below, not by warnings
                if not math.isfinite(loss):
                    raise diverged(st.epoch + 1, st.optimizer.lr, self._kept_checkpoint())
                pos.loss += loss
                pos.done += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
                    spent = pos.seconds + time.perf_counter() - start
                    eta = run_eta(pos.done, n, spent, epochs_after, mean)
                    bar.set_postfix_str(f"loss={pos.loss / pos.done:.4f}, {eta}")
        finally:
            stepper.sync()  # a device's weights back into the network
            if bar is not None:
                bar.close()
        pos.seconds += time.perf_counter() - start
        mean, untrained = pos.loss / self.train.total_weight(), st.history.untrained_loss
        if mean > divergence_bound(untrained):  # finite, but far past where the run began
            raise diverged(st.epoch + 1, st.optimizer.lr, self._kept_checkpoint(), mean, untrained)
        return True

    def _kept_checkpoint(self) -> str | None:
        """The run folder, if it holds a checkpoint (the one a failure leaves in place)."""
        return str(self.out_dir) if self.folder and self.folder.has_checkpoint() else None

    def _end_of_epoch(self) -> None:
        cfg, st, pos = self.config, self.state, self.state.position
        assert pos is not None  # (_run_epoch has just finished it)
        st.epoch += 1
        st.position = None
        st.seconds += pos.seconds
        record = {
            "epoch": st.epoch,
            "train_loss": pos.loss / self.train.total_weight(),
            "val_error": None,
            "test_error": None,
            "lr": st.optimizer.lr,
            "seconds": round(pos.seconds, 4),
        }
        last = st.epoch == cfg.epochs
        if cfg.average:
            st.update_average(cfg.average)
        if st.epoch % cfg.eval_every == 0 or last:
            with st.averaged():  # (early stopping judges and keeps the averaged weights)
                self._evaluate(record)
        st.history.add(**record)
        self.log(st.history.describe(record, cfg.stop_on))
        if self.callbacks.epoch_end(st.epoch, record) and not st.history.stopped_early:
            st.history.stopped_early = True
            st.history.stop_reason = f"stopped by callback {self.callbacks.stopped_by}"
        if st.epoch % cfg.checkpoint_every == 0 or st.history.stopped_early or last:
            self.save_checkpoint()
        if self.folder is not None:  # (a long run's history is not converted for nothing)
            self.folder.write_history(st.history)

    def error(self, split: Split) -> float:
        """The selection error of the current network on ``split`` (``bpnn.evaluation``).

        The split early stopping evaluates every epoch is prepared once, lazily, on its first
        evaluation (``evaluation.Selection``, up to ``evaluation.CACHE_BYTES`` of inputs): a run
        that stops on the training loss prepares none, one that stops on ``train`` prepares the
        training split, and the other splits are evaluated as they are.  With
        ``monitor="val_loss"`` its loss comes from the same forward pass and waits in
        ``_pending_loss`` for ``_evaluate``.
        """
        cfg = self.config
        if cfg.stop_on != "loss" and split is self._selection_split():
            if self._selection is None:
                args = (self.preprocessing, self.targets, split.X, split.y, split.w)
                self._selection = evaluation.Selection(self.net, *args)
            error, self._pending_loss = self._selection.error_and_loss(
                self.net,
                cfg.target_on,
                cfg.target_off,
                loss=cfg.monitor == "val_loss",
                forward=self._device(),
            )
            return error
        return evaluation.selection_error(
            self.net, self.preprocessing, self.targets, split.X, split.y, split.w, self._device()
        )

    def _selection_split(self) -> Split:
        return selection_split(self.config.stop_on, (self.train, self.val, self.test))

    def _device(self) -> DeviceForward | None:
        """The device's forward pass, made on first use (None: NumPy's here)."""
        if self.device.uses_jax and self._forward is None:
            from .accel.jax_stepper import DeviceForward

            self._forward = DeviceForward(self.net, self.device.jax_device())
        return self._forward

    def _evaluate(self, record: dict) -> None:
        """Evaluate on the selection set (or take the epoch's training loss, ``stop_on="loss"``;
        with an average, the averaged weights' loss on a fixed sample: ``_averaged_loss``) and
        apply the early-stopping rule: an improvement keeps a copy of the weights."""
        cfg, st = self.config, self.state
        h = st.history
        if cfg.stop_on == "loss" and st.average is None:  # scikit-learn's rule: no extra pass
            error = record["train_loss"]
        elif cfg.stop_on == "loss":  # the epoch's loss is the raw weights': the kept ones' instead
            error = self._averaged_loss()
        else:
            split = self._selection_split()
            self._pending_loss = None
            error = self.error(split)
            record["test_error" if cfg.stop_on == "test" else "val_error"] = error
            if cfg.monitor == "val_loss":
                if self._pending_loss is None:  # (an error computed elsewhere: a test's)
                    self._pending_loss = evaluation.selection_loss(
                        st.net,
                        self.preprocessing,
                        self.targets,
                        split.X,
                        split.y,
                        split.w,
                        cfg.target_on,
                        cfg.target_off,
                    )
                error = record["val_loss"] = self._pending_loss
        if st.stopping.update(error):
            h.best_error, h.best_epoch = error, st.epoch
            st.best_params = [p.copy() for p in st.net.params()]
        elif st.stopping.stop:
            h.stopped_early = True
            what = "training loss" if cfg.stop_on == "loss" else f"{cfg.stop_on} {h.metric_name()}"
            if cfg.stop_on == "loss" and st.average is not None:
                what = "averaged weights' training loss"
            watches_loss = cfg.stop_on == "loss" or cfg.monitor == "val_loss"
            if cfg.stop_on != "loss" and cfg.monitor == "val_loss":
                what = f"{cfg.stop_on} loss"
            best_value = h.best_error if h.best_error is not None else float("nan")
            best = format_loss(best_value) if watches_loss else h.format_error(best_value)
            h.stop_reason = (
                f"{what} did not improve for {plural(st.stopping.bad_evals, 'evaluation')} "
                f"(best {best} at epoch {h.best_epoch})"
            )

    def _averaged_loss(self) -> float:
        """The loss ``stop_on="loss"`` judges averaged weights by (the network holds them): their
        mean loss on the fixed spread of training samples the divergence rule's untrained loss
        is measured on (``bpnn.watch.untrained_loss``, at most ``UNTRAINED_ROWS``); infinity
        where it is not finite, so it never counts as an improvement."""
        cfg, st = self.config, self.state
        args = (self.preprocessing, self.targets, self.train, cfg.target_on, cfg.target_off)
        loss = untrained_loss(st.net, *args)
        return math.inf if loss is None else loss

    def _finish(self) -> dict:
        """Restore the best weights, test once, write model.npz; return the results."""
        st = self.state
        h = st.history
        if st.average is not None:
            self.final_params = [p.copy() for p in st.net.params()]
        if st.best_params is not None:
            st.net.set_params(st.best_params)
        if not h.stopped_early:
            h.stop_reason = f"ran all {plural(self.config.epochs, 'epoch')}"
        results = {
            "task": self.config.task,
            "metric": h.metric,
            "epochs": st.epoch,
            "best_epoch": h.best_epoch,
            "seconds": round(st.seconds, 3),
            "stopped_early": h.stopped_early,
            "stop_reason": h.stop_reason,
            "stepper": h.stepper,
            "train_samples": len(self.train),
        }
        add_scores(results, self)
        if self.folder is not None:
            model = self.folder.write_model(self.model({"results": results}))
            self.folder.write_history(h)
            results["model"] = str(model)
        return results

    def model(self, extra: dict | None = None) -> Model:
        """The current network as a Model (with the run's preprocessing, targets and settings)."""
        return run_model(self, self.net, extra)

    # ---- checkpoints -------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        """checkpoint.npz: the run's state with what the run is (``bpnn.runstate``)."""
        if self.folder is not None:
            self.folder.write_checkpoint(
                self.state, self.config, self.preprocessing, self.targets, self.data
            )
            self.callbacks.checkpoint(self.folder.checkpoint)

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
        progress: bool | str = True,
        checkpoint: tuple[dict, dict] | None = None,
        callbacks: list[Callback] | None = None,
    ) -> Trainer:
        """A Trainer in exactly the state its last checkpoint in ``out_dir`` recorded.

        ``changes`` may set the settings in ``bpnn.settings.RESUMABLE`` (more epochs, a new
        patience...); each change is recorded in the history.  Extending a finished run with more
        epochs lays the schedule over the new total (epochs already run keep their rates).
        checkpoint: the (arrays, meta) of ``runstate.read_checkpoint``, when already read.
        """
        path = RunFolder(out_dir).checkpoint
        arrays, meta = checkpoint or runstate.read_checkpoint(path)
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
            callbacks=callbacks,
        )
        trainer.state = runstate.read_state(arrays, meta, path, config, len(train))
        if changes:
            trainer.history.changes.append({"from_epoch": trainer.epoch + 1, **changes})
        return trainer


def add_scores(results: dict, run: Any) -> None:
    """Add a finished run's scores to ``results``: ``val_error``, ``val_samples``,
    ``test_error``, ``test_samples`` (the splits it has), a regressor's ``test_rmse``,
    ``test_mae``, ``test_r2``.  run: a ``Trainer`` or a ``bpnn.committees.CommitteeTrainer``
    (its ``error``, ``model``, ``val``, ``test``, ``config``)."""
    for name, split in (("val", run.val), ("test", run.test)):
        if split is not None and len(split):
            results[f"{name}_error"] = run.error(split)
            results[f"{name}_samples"] = len(split)
    if run.test is not None and len(run.test) and run.config.task == "regress":
        s = run.model().score(run.test.X, run.test.y)
        results.update(test_rmse=s["rmse"], test_mae=s["mae"], test_r2=s["r2"])


def run_model(run: Any, net: Network, extra: dict | None = None) -> Model:
    """``net`` as a Model with ``run``'s preprocessing, targets, settings and data (a Trainer or
    a CommitteeTrainer); extra: more ``ModelInfo`` fields (the results)."""
    info = ModelInfo(
        config=run.config.to_dict(),
        data=DataInfo.from_dict(run.data),
        trained_with="bpnn",
        **(extra or {}),
    )
    return Model(net, run.preprocessing, run.targets, info)
