"""A run's training state as one value, ``RunState``, and ``checkpoint.npz``, the file that holds
it between sessions (what ``--resume`` reads).

``RunState`` is everything a run carries from one step to the next: the network (its weights),
the optimiser (its state and current learning rate), the random generator, the history, the
early-stopping count, the best weights so far, the seconds spent, and the position inside an
interrupted epoch (``EpochPosition``).  ``write_checkpoint`` saves one with the run's settings,
preprocessing, targets and data description; ``read_checkpoint`` + ``read_state`` give it back.

The file is a ``bpnn.modelfile`` archive (arrays + JSON, no pickle) of format ``bpnn-checkpoint``,
version ``CHECKPOINT_VERSION``; array names: ``W0, b0, ...`` (weights), ``opt.*`` (optimiser
state), ``best.<i>`` (best weights), ``position.order``, ``position.shifts``.

Not here: the loop that changes the state (``bpnn.train``), the run folder's other files
(``bpnn.runfolder``), model files (``bpnn.modelfile``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BpnnError, FormatError
from .history import History, history_problem
from .modelfile import load_arrays, network_from_arrays, params_to_arrays, save_arrays
from .network import Network
from .optim import Optimizer
from .preprocessing import Preprocessing
from .settings import RESUMABLE, TrainConfig
from .stopping import EarlyStopping
from .targets import Targets

__all__ = [
    "CHECKPOINT_VERSION",
    "EpochPosition",
    "RunState",
    "checkpoint_config",
    "checkpoint_parts",
    "read_checkpoint",
    "read_state",
    "resume_changes",
    "write_checkpoint",
]

CHECKPOINT_FORMAT = "bpnn-checkpoint"
CHECKPOINT_VERSION = 2


@dataclass
class EpochPosition:
    """An epoch in progress: its sample order, image shifts, and how far it got.

    order: (n,) sample indices in this epoch's order; shifts: (n, 2) int8 (rows, columns) of each
    sample's image shift (``--augment N``; None without); seed: the epoch's deformations'
    seed (``--augment elastic,...``: ``bpnn.deform``; None without); done: samples trained so
    far; loss: the sum of their (weighted) losses; seconds: time spent on them.
    """

    order: np.ndarray
    shifts: np.ndarray | None = None
    seed: int | None = None
    done: int = 0
    loss: float = 0.0
    seconds: float = 0.0


@dataclass
class RunState:
    """Where a run stands: enough to go on exactly as if it had never stopped.

    net, optimizer, rng: the objects the steppers change in place (weights; optimiser state and
    learning rate; shuffling and dropout draws), held here so one value says where the run is.
    history: the record of the epochs; stopping: early stopping's rule and count (its ``best``
    is the history's ``best_error``, which is what the file keeps); epoch: epochs finished;
    position: the epoch interrupted part-way (None between epochs); best_params: a copy of the
    best weights so far (laid out as ``net.params()``; None before the first evaluation);
    average: the weights averaged over the epochs so far (``TrainConfig.average``; laid out
    likewise, None without averaging or before the first epoch); seconds: training time of the
    finished epochs.
    """

    net: Network
    optimizer: Optimizer
    rng: np.random.Generator
    history: History
    stopping: EarlyStopping
    epoch: int = 0
    position: EpochPosition | None = None
    best_params: list[np.ndarray] | None = None
    seconds: float = 0.0
    average: list[np.ndarray] | None = None

    @classmethod
    def start(
        cls,
        config: TrainConfig,
        net: Network | None = None,
        optimizer: Optimizer | None = None,
        member: int = 0,
    ) -> RunState:
        """Epoch 0 of a run of ``config``: the network its seed draws (or ``net``, to continue
        from its weights), a new optimiser (or ``optimizer``, with its state), the generator.
        member: committee member k draws from seed + k, as a single run of that seed would."""
        init_seq, train_seq = np.random.SeedSequence(config.seed + member).spawn(2)
        net = config.build_network(np.random.default_rng(init_seq)) if net is None else net
        if net.sizes != config.layers:
            raise BpnnError(
                f"the network to continue has layers {net.sizes}, the settings say {config.layers}"
            )
        return cls(
            net=net,
            optimizer=config.build_optimizer() if optimizer is None else optimizer,
            rng=np.random.default_rng(train_seq),  # shuffling and dropout
            history=History(metric="error_rate" if config.task == "classify" else "rmse"),
            stopping=EarlyStopping(config.patience, config.min_delta),
        )

    def update_average(self, decay: float) -> None:
        """Fold this epoch's weights into ``average``: avg = decay * avg + (1 - decay) * w (the
        first epoch's weights as they are)."""
        params = self.net.params()
        if self.average is None:
            self.average = [p.copy() for p in params]
            return
        for a, p in zip(self.average, params):
            a *= decay
            a += (1 - decay) * p

    @contextlib.contextmanager
    def averaged(self):
        """The network holds the averaged weights inside the block (as it is without an average),
        its own weights again after it."""
        if self.average is None:
            yield
            return
        own = [p.copy() for p in self.net.params()]
        self.net.set_params(self.average)
        try:
            yield
        finally:
            self.net.set_params(own)


def write_checkpoint(
    path,
    state: RunState,
    *,
    config: TrainConfig,
    preprocessing: Preprocessing,
    targets: Targets,
    data: dict,
) -> None:
    """Save ``state`` and what the run is (settings, preprocessing, targets, data) to ``path``
    (.npz), atomically."""
    arrays = dict(params_to_arrays(state.net))
    arrays.update({f"opt.{k}": v for k, v in state.optimizer.state_dict().items()})
    if state.best_params is not None:
        arrays.update({f"best.{i}": p for i, p in enumerate(state.best_params)})
    if state.average is not None:  # (members older readers pass over)
        arrays.update({f"avg.{i}": p for i, p in enumerate(state.average)})
    pos, position = state.position, None
    if pos is not None:
        position = {"done": pos.done, "loss": pos.loss, "seconds": pos.seconds}
        if pos.seed is not None:  # (a key older readers pass over)
            position["deform_seed"] = pos.seed
        arrays["position.order"] = pos.order
        if pos.shifts is not None:
            arrays["position.shifts"] = pos.shifts
    meta = {  # (this order of keys is the file's since version 2)
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": config.to_dict(),
        "network": state.net.config(),
        "preprocessing": preprocessing.to_dict(),
        "targets": targets.to_dict(),
        "epoch": state.epoch,
        "position": position,
        "rng": state.rng.bit_generator.state,
        "history": state.history.to_dict(),
        "bad_evals": state.stopping.bad_evals,
        "seconds": state.seconds,
        "optimizer_lr": state.optimizer.lr,
        "data": data,
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


def read_state(
    arrays: dict, meta: dict, path, config: TrainConfig, n_train: int | None = None
) -> RunState:
    """The RunState a checkpoint (``read_checkpoint(path)``) recorded, under ``config`` (the
    checkpoint's settings with the resumed run's changes: its patience, its epochs).

    n_train: the training samples the run now has (an interrupted epoch's order must fit them).
    One FormatError line for anything broken.
    """
    try:
        _check_meta(meta)
        state = _state(arrays, meta, path, config)
        _check_state(state, meta)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise FormatError(f"{path}: broken checkpoint ({type(exc).__name__}: {exc})") from None
    pos = state.position
    if pos is not None and n_train is not None and len(pos.order) != n_train:
        raise FormatError(
            f"{path}: the checkpoint was made with {len(pos.order)} "
            f"training samples, the data now has {n_train}"
        )
    # A run that stopped early and is given more epochs goes on from its current weights.
    h = state.history
    if h.stopped_early and state.epoch < config.epochs and meta["config"]["epochs"] < config.epochs:
        h.stopped_early, h.stop_reason = False, None
    return state


def _whole(value, name: str, low: int = 0, high: int | None = None) -> int:
    """``value`` if it is a whole number in [low, high], else ValueError naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} = {value} is out of range ({low} to {high})")
    return value


def _real(value, name: str, low: float = 0.0) -> float:
    """``value`` if it is a finite number >= low, else ValueError naming ``name``."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low:
        raise ValueError(f"{name} = {value} is below {low}")
    return float(value)


def _check_meta(meta: dict) -> None:
    """The numbers of a checkpoint's metadata checked as a model file's are: types, ranges."""
    recorded = meta["config"]
    if not isinstance(recorded, dict):
        raise ValueError("config must be an object")
    _whole(meta["epoch"], "epoch", 0, _whole(recorded.get("epochs"), "config epochs", 1))
    _whole(meta["bad_evals"], "bad_evals")
    _real(meta["seconds"], "seconds")
    _real(meta["optimizer_lr"], "optimizer_lr")
    if not isinstance(meta["rng"], dict):
        raise ValueError("rng must be an object")
    problem = history_problem(meta["history"])
    if problem:
        raise ValueError(f"history: {problem}")
    position = meta["position"]
    if position is not None:
        if not isinstance(position, dict):
            raise ValueError("position must be an object")
        _whole(position["done"], "position.done")
        _real(position["loss"], "position.loss")
        _real(position["seconds"], "position.seconds")


def _check_state(state: RunState, meta: dict) -> None:
    """What the arrays must be for the state to go on: best weights laid out as the network's
    and finite, an interrupted epoch's order a permutation it has not passed the end of."""
    params = state.net.params()
    for what, kept in (("best", state.best_params), ("averaged", state.average)):
        if kept is None:
            continue
        if len(kept) != len(params) or any(b.shape != p.shape for b, p in zip(kept, params)):
            raise ValueError(f"the {what} weights are not laid out as the network's")
        if not all(np.isfinite(b).all() for b in kept):
            raise ValueError(f"the {what} weights hold NaN or infinite values")
    pos = state.position
    if pos is None:
        return
    order = np.asarray(pos.order)
    if order.ndim != 1 or order.dtype.kind not in "iu":
        raise ValueError("position.order must be a list of sample indices")
    if not np.array_equal(np.sort(order), np.arange(len(order))):
        raise ValueError("position.order is not an order of the samples")
    _whole(pos.done, "position.done", 0, len(order))
    if pos.shifts is not None and np.shape(pos.shifts) != (len(order), 2):
        raise ValueError("position.shifts must be one (rows, columns) pair per sample")


def _state(arrays: dict, meta: dict, path, config: TrainConfig) -> RunState:
    net = network_from_arrays(meta["network"], arrays, source=str(path))
    if net.sizes != config.layers:
        raise ValueError(f"the network has layers {net.sizes}, the settings say {config.layers}")
    optimizer = config.build_optimizer()
    optimizer.load_state_dict({k[4:]: v for k, v in arrays.items() if k.startswith("opt.")})
    optimizer.lr = meta["optimizer_lr"]
    rng = np.random.default_rng()
    rng.bit_generator.state = meta["rng"]
    history = History.from_dict(meta["history"])
    n_best = sum(1 for k in arrays if k.startswith("best."))
    n_avg = sum(1 for k in arrays if k.startswith("avg."))
    return RunState(
        net=net,
        optimizer=optimizer,
        rng=rng,
        history=history,
        stopping=EarlyStopping(
            config.patience, config.min_delta, history.best_error, meta["bad_evals"]
        ),
        epoch=meta["epoch"],
        position=_position(meta["position"], arrays),
        best_params=[arrays[f"best.{i}"] for i in range(n_best)] or None,
        seconds=meta["seconds"],
        average=[arrays[f"avg.{i}"] for i in range(n_avg)] or None,
    )


def _position(saved: dict | None, arrays: dict) -> EpochPosition | None:
    if saved is None:
        return None
    return EpochPosition(
        order=arrays["position.order"],
        shifts=arrays.get("position.shifts"),
        seed=saved.get("deform_seed"),
        done=saved["done"],
        loss=saved["loss"],
        seconds=saved["seconds"],
    )
