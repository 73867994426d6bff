"""A run's saved training state: ``checkpoint.npz`` in the run folder, what ``--resume`` reads.

A checkpoint holds everything a ``Trainer`` needs to go on exactly where it stopped: the weights,
the optimiser's state, the best weights so far, the generator's state, the history, and the
position inside an interrupted epoch (its sample order and image shifts).  It is a
``bpnn.modelfile`` archive (arrays + JSON, no pickle) of format ``bpnn-checkpoint``, version
``CHECKPOINT_VERSION``; array names: ``W0, b0, ...`` (weights), ``opt.*`` (optimiser state),
``best.<i>`` (best weights), ``position.order``, ``position.shifts``.

Not here: the loop (``bpnn.train``), model files (``bpnn.modelfile``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BpnnError, FormatError
from .history import History
from .modelfile import load_arrays, network_from_arrays, params_to_arrays, save_arrays
from .preprocessing import Preprocessing
from .settings import RESUMABLE, TrainConfig
from .targets import Targets

if TYPE_CHECKING:
    from .train import Trainer

__all__ = [
    "CHECKPOINT_VERSION",
    "checkpoint_config",
    "checkpoint_parts",
    "read_checkpoint",
    "restore",
    "resume_changes",
    "write_checkpoint",
]

CHECKPOINT_FORMAT = "bpnn-checkpoint"
CHECKPOINT_VERSION = 2
POSITION_ARRAYS = ("order", "shifts")  # an interrupted epoch's sample order and image shifts


def write_checkpoint(path, trainer: Trainer) -> None:
    """Save ``trainer``'s whole state to ``path`` (.npz), atomically."""
    arrays = dict(params_to_arrays(trainer.net))
    arrays.update({f"opt.{k}": v for k, v in trainer.optimizer.state_dict().items()})
    if trainer.best_params is not None:
        arrays.update({f"best.{i}": p for i, p in enumerate(trainer.best_params)})
    position = None
    if trainer.position is not None:
        position = {k: v for k, v in trainer.position.items() if k not in POSITION_ARRAYS}
        arrays.update(
            {f"position.{k}": trainer.position[k] for k in POSITION_ARRAYS if k in trainer.position}
        )
    meta = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": trainer.config.to_dict(),
        "network": trainer.net.config(),
        "preprocessing": trainer.preprocessing.to_dict(),
        "targets": trainer.targets.to_dict(),
        "epoch": trainer.epoch,
        "position": position,
        "rng": trainer.rng.bit_generator.state,
        "history": trainer.history.to_dict(),
        "bad_evals": trainer.bad_evals,
        "seconds": trainer.seconds,
        "optimizer_lr": trainer.optimizer.lr,
        "data": trainer.data,
    }
    save_arrays(path, arrays, meta)


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


def checkpoint_config(meta: dict, path, changes: dict | None = None) -> TrainConfig:
    """The TrainConfig a checkpoint records (with ``changes``), or one FormatError line."""
    try:
        return TrainConfig.from_dict({**meta["config"], **(changes or {})})
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: broken checkpoint settings ({exc})") from None


def resume_changes(meta: dict, changes: dict | None) -> dict:
    """The settings in ``changes`` that differ from the checkpoint's; BpnnError unless each is
    one a resumed run may change (``bpnn.settings.RESUMABLE``)."""
    recorded = meta.get("config")
    if not isinstance(recorded, dict):
        recorded = {}
    changes = {k: v for k, v in (changes or {}).items() if v is not None and recorded.get(k) != v}
    refused = sorted(set(changes) - set(RESUMABLE))
    if refused:
        raise BpnnError(
            f"{', '.join(refused)} cannot change on a resumed run (it shapes the run); "
            f"only {', '.join(RESUMABLE)} can"
        )
    return changes


def checkpoint_parts(meta: dict, path) -> tuple[Preprocessing, Targets]:
    """The preprocessing and targets a checkpoint records, or one FormatError line."""
    try:
        n_outputs = meta["network"]["sizes"][-1]
        prep = Preprocessing.from_dict(meta["preprocessing"], source=str(path))
        targets = Targets.from_dict(meta["targets"], n_outputs, source=str(path))
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{path}: broken checkpoint metadata ({exc})") from None
    return prep, targets


def restore(trainer: Trainer, arrays: dict, meta: dict, path: Path) -> None:
    """Put ``trainer`` in the state the checkpoint (``read_checkpoint(path)``) recorded."""
    try:
        _restore_state(trainer, arrays, meta, path)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise FormatError(f"{path}: broken checkpoint ({type(exc).__name__}: {exc})") from None
    if trainer.position is not None and len(trainer.position["order"]) != len(trainer.train):
        raise FormatError(
            f"{path}: the checkpoint was made with {len(trainer.position['order'])} "
            f"training samples, the data now has {len(trainer.train)}"
        )
    # A run that stopped early and is given more epochs goes on from its current weights.
    h, epochs = trainer.history, trainer.config.epochs
    if h.stopped_early and trainer.epoch < epochs and meta["config"]["epochs"] < epochs:
        h.stopped_early, h.stop_reason = False, None


def _restore_state(trainer: Trainer, arrays: dict, meta: dict, path: Path) -> None:
    net = network_from_arrays(meta["network"], arrays, source=str(path))
    trainer.net.set_params(net.params())
    trainer.optimizer.load_state_dict({k[4:]: v for k, v in arrays.items() if k.startswith("opt.")})
    trainer.optimizer.lr = meta["optimizer_lr"]
    n_best = sum(1 for k in arrays if k.startswith("best."))
    trainer.best_params = [arrays[f"best.{i}"] for i in range(n_best)] or None
    trainer.rng.bit_generator.state = meta["rng"]
    trainer.history = History.from_dict(meta["history"])
    trainer.epoch, trainer.bad_evals = meta["epoch"], meta["bad_evals"]
    trainer.seconds = meta["seconds"]
    if meta["position"] is not None:
        saved = {k: arrays[f"position.{k}"] for k in POSITION_ARRAYS if f"position.{k}" in arrays}
        trainer.position = {**meta["position"], **saved}
