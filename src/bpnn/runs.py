"""The runs layer: starting, resuming and finding the data of a training run, for every front end.

``bpnn train``, ``bpnn.fit``, the scikit-learn estimators, a sweep's trials, ``bpnn evaluate``
and the report all come through here, so a run is started one way:

- ``RunData`` (``bpnn.rundata``): a run's data (arrays) and the record of where it came from;
- ``configure``: data + settings (+ a preset) -> the run's ``TrainConfig``;
- ``start``: a new run of a config on data, into a run folder (or none) -> a ``Trainer``;
- ``resume``: the run saved in a folder, with the changes ``--resume`` allows -> a ``Trainer``;
- ``train``: a new or resumed run from a data source, trained: ``bpnn train`` and each trial of
  a sweep;
- ``find_split`` (``bpnn.rundata``): the data a saved model was tested on, split again exactly
  as its run did.

A committee (``ensemble`` K > 1) is started and resumed here too: K member Trainers on one
split, in ``OUT/members/k``, run by a ``bpnn.committees.CommitteeTrainer`` (which has the
Trainer's ``run``, ``model``, ``history``...).

Not here: parsing options (``bpnn.commands``), settings (``bpnn.settings``), the splits
(``bpnn.prepare``), the epoch loop (``bpnn.train``).  Over 400 lines: each front end's way into
a run (new, resumed, its validation source and class weights) is kept side by side on purpose.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from . import committees
from .callbacks import Callback
from .committees import MEMBERS, CommitteeTrainer
from .errors import BpnnError
from .prepare import (
    LARGE_TABLE_ROWS,
    class_sample_weights,
    is_large_table,
    n_outputs,
    resolve_settings,
)
from .preprocessing import input_width
from .rundata import DATA_OPTIONS, TABLE_OPTIONS, RunData, find_split, located
from .runfolder import RunFolder
from .runstate import checkpoint_config, read_checkpoint
from .settings import RESUMABLE, TrainConfig, check_layers
from .tables.types import TableOptions
from .train import Trainer

__all__ = [
    "DATA_OPTIONS",
    "RunData",
    "configure",
    "find_split",
    "located",
    "resume",
    "start",
    "train",
]

Log = Callable[[str], object]


def _quiet(line: str) -> None:
    pass


def configure(
    data: RunData, settings: dict, preset: str | None = None, *, check: bool = True
) -> TrainConfig:
    """The run's settings: the defaults for the data, then ``preset``, then ``settings``
    (``bpnn.prepare.resolve_settings``); explicit ``layers`` must fit the data (``check``:
    unless the caller made them from its own targets)."""
    y = data.y_used()
    config = TrainConfig.from_dict(
        resolve_settings(data.X_used(), y, preset=preset, kind=data.kind, **settings)
    )
    if check and settings.get("layers") is not None:
        width = input_width(config.preprocessing, data.X.shape[1], config.bins)
        check_layers(config.layers, width, n_outputs(y, config.task), config.task)
    return config


def start(
    data: RunData,
    config: TrainConfig,
    out: str | os.PathLike | None,
    *,
    force: bool = False,
    sample_weight=None,
    log: Log | None = None,
    progress: bool | str = True,
    callbacks: list[Callback] | None = None,
    **resumed_from: Any,
) -> Trainer | CommitteeTrainer:
    """A new run of ``config`` on ``data`` into the run folder ``out`` (None: no files).

    A folder that already holds a run is refused unless ``force``.  ``resumed_from``: the
    Trainer's ``net``, ``optimizer``, ``preprocessing`` or ``targets`` to continue from (the
    estimators' warm starts; refused for a committee).  ``config.ensemble`` > 1: a committee
    (``bpnn.committees.CommitteeTrainer``), else a ``Trainer``.  callbacks:
    ``bpnn.callbacks.Callback`` objects watching the run.
    """
    log = log or _quiet
    with _holding(out):
        if out is not None:
            _check_free(Path(out), force)
            committees.clear_other_kind(Path(out), config.ensemble)
        return _start(data, config, out, sample_weight, log, progress, callbacks, resumed_from)


def _start(
    data, config, out, sample_weight, log, progress, callbacks, resumed_from
) -> Trainer | CommitteeTrainer:
    prepared = data.prepared(config, sample_weight)
    targets = resumed_from.pop("targets", None) or prepared.targets(data.y_used())
    if data.description:
        log(f"data: {data.description}")
    for note in data.notes:
        log(note)
    for note in prepared.notes:
        log(note)
    log(f"splits: {prepared.sizes()}")
    if config.preset:
        origin = f"preset {config.preset}"
    elif is_large_table(data.X_used(), data.kind):
        origin = (
            f"defaults for a large table ({LARGE_TABLE_ROWS:,} rows or more: README 'The defaults')"
        )
    else:
        origin = f"defaults for {data.kind} data"
    log(f"settings: {origin} -> {out if out is not None else 'no run folder'}")
    if config.ensemble > 1:
        committees.refuse_warm_start(resumed_from)

    def member(k: int, prep=None) -> Trainer:
        committee = config.ensemble > 1  # (its callbacks are the committee's)
        return Trainer(
            config,
            prepared.train,
            prepared.val,
            prepared.test,
            committees.member_dir(out, k) if committee else out,
            targets=targets,
            data=data.info,
            log=log,
            progress=progress,
            callbacks=None if committee else callbacks,
            member=k,
            **({"preprocessing": prep} if prep is not None else resumed_from),
        )

    trainer = member(0)
    log(f"targets: {targets.describe()}")
    log(f"preprocessing: {trainer.preprocessing.describe()}")
    log(_where(trainer))
    for line in config.describe():
        log(f"  {line}")
    if config.ensemble == 1:
        return trainer
    return CommitteeTrainer(
        trainer,
        lambda k: member(k, trainer.preprocessing),
        out,
        log=log,
        callbacks=callbacks,
    )


def resume(
    run_dir: str | os.PathLike,
    data: RunData | None = None,
    *,
    changes: dict | None = None,
    log: Log | None = None,
    progress: bool | str = True,
    checkpoint: tuple[dict, dict] | None = None,
    callbacks: list[Callback] | None = None,
) -> Trainer | CommitteeTrainer:
    """The run saved in ``run_dir``, exactly where its checkpoint left it (``checkpoint``: its
    contents, when the caller has read them already: the file is read once).

    data: the run's data (None: read again from the source the run records, which must hold
    the same data: checked by its checksum).  ``changes`` may set the settings in
    ``bpnn.settings.RESUMABLE`` (None values are ignored); the others are fixed by the checkpoint.
    """
    log = log or _quiet
    run_dir = Path(run_dir)
    with _holding(run_dir):
        return _resume(run_dir, data, changes, log, progress, checkpoint, callbacks)


def _resume(
    run_dir: Path, data, changes, log, progress, checkpoint, callbacks
) -> Trainer | CommitteeTrainer:
    path = committees.checkpoint_path(run_dir)
    checkpoint = checkpoint or read_checkpoint(path)
    meta = checkpoint[1]
    recorded = meta.get("data")
    info: dict = recorded if isinstance(recorded, dict) else {}
    if data is None:
        if "source" not in info or info["source"] == "arrays":
            raise BpnnError(f"{run_dir}: the checkpoint does not record a data source to resume on")
        data = RunData.recorded(info)
    if info.get("checksum") and data.info.get("checksum") not in (None, info["checksum"]):
        raise BpnnError(
            f"{data.info.get('source')}: the data differs from the data the run in {run_dir} "
            f"was trained on (checksum mismatch)"
        )
    data.info["limit"] = info.get("limit")
    config = checkpoint_config(meta, path)
    prepared = data.prepared(config, _class_weights(data, info.get("class_weight"), config.task))
    changes = {k: v for k, v in (changes or {}).items() if v is not None}
    splits = (prepared.train, prepared.val, prepared.test)
    kw = dict(changes=changes, log=log, progress=progress, callbacks=callbacks)
    trainer: Trainer | CommitteeTrainer
    if committees.is_committee(run_dir):
        trainer = _resume_committee(run_dir, config, splits, checkpoint, kw)
    else:
        trainer = Trainer.resume(run_dir, *splits, checkpoint=checkpoint, **kw)
    log(_where(trainer))
    last = trainer.history.changes[-1] if trainer.history.changes else {}
    # (options given with their recorded values, `--device cpu` on a CPU run, change nothing)
    now = changes and last.get("from_epoch") == trainer.epoch + 1
    changed = f" (changed: {last})" if now else ""
    log(f"resuming {run_dir} after epoch {trainer.epoch} of {trainer.config.epochs}{changed}")
    h = trainer.history
    if trainer.epoch >= trainer.config.epochs or h.stopped_early:
        log(
            f"nothing to train: the run has finished "
            f"({h.stop_reason if h.stopped_early else f'ran all {trainer.epoch} epochs'}); "
            f"to train on, give --epochs N (epochs=N) with N more than {trainer.config.epochs}"
        )
    return trainer


def _resume_committee(
    run_dir: Path, config: TrainConfig, splits: tuple, checkpoint, kw: dict
) -> CommitteeTrainer:
    """The committee in ``run_dir``: each member resumed from its checkpoint, or new (member
    0's preprocessing and targets, the recorded settings with the resumable ``changes``)."""
    train, val, test = splits
    callbacks = kw.pop("callbacks")  # (the committee's: it gives each member its view)
    first = Trainer.resume(run_dir / MEMBERS / "0", *splits, checkpoint=checkpoint, **kw)
    new = TrainConfig.from_dict({**config.to_dict(), **kw["changes"]})

    def member(k: int) -> Trainer:
        where = run_dir / MEMBERS / str(k)
        if RunFolder(where).has_checkpoint():
            return Trainer.resume(where, *splits, **kw)
        return Trainer(
            new,
            train,
            val,
            test,
            where,
            preprocessing=first.preprocessing,
            targets=first.targets,
            data=first.data,
            log=kw["log"],
            progress=kw["progress"],
            member=k,
        )

    committee = CommitteeTrainer(first, member, run_dir, log=kw["log"], callbacks=callbacks)
    committee.resumed()
    current = committee.members.index(committee.current)
    if not committees.finished(committee.current):
        kw["log"](f"committee of {config.ensemble}: continuing with member {current + 1}")
    return committee


def train(
    source: dict,
    settings: dict,
    *,
    preset: str | None = None,
    out: str | os.PathLike | None = None,
    force: bool = False,
    resume_dir: str | os.PathLike | None = None,
    report: bool = True,
    log: Log | None = None,
    callbacks: list[Callback] | None = None,
) -> tuple[dict, bool]:
    """A run from a data source, trained and its model saved: what ``bpnn train`` and each trial
    of a sweep do.  Returns the results (with ``out``, the run folder) and whether the run wants
    its report written (``report``, as recorded when it started).

    source: {source, target, test, val, limit, class_weight} (``DATA_OPTIONS``; None values: the
    defaults; class_weight: "balanced" or {label: weight}, recorded in the run).
    settings: TrainConfig settings by name (and ``hidden``); with ``resume_dir`` only those in
    ``RESUMABLE`` may be given, and ``source`` may only say where the same data now is.
    """
    log = log or _quiet
    if settings.get("device") not in (None, "cpu", "auto"):  # no GPU: say so before reading data
        from .device import resolve_device

        resolve_device(settings["device"], settings.get("dtype") or "float32")
    if resume_dir is not None:
        _check_resumable(settings, source, preset=preset, out=out, force=force)
        run_dir = Path(resume_dir)
        with _holding(run_dir):
            checkpoint = read_checkpoint(committees.checkpoint_path(run_dir))
            recorded = _recorded_data(run_dir, checkpoint[1])
            data = RunData.recorded(recorded, source.get("source"))
            trainer = resume(
                run_dir,
                data,
                changes=settings,
                log=log,
                checkpoint=checkpoint,
                callbacks=callbacks,
            )
        report = report and recorded.get("report", True)
    else:
        data = RunData.from_source(
            source.get("source"),
            source.get("target"),
            source.get("test"),
            source.get("limit"),
            val=source.get("val"),
            tables=TableOptions.of(**{k: source.get(k) for k in TABLE_OPTIONS}),
        )
        data.info["report"] = report
        config = configure(data, settings, preset)
        out = out or f"runs/{config.preset or Path(str(data.info['source'])).stem or 'run'}"
        weights = _class_weights(data, source.get("class_weight"), config.task)
        data.info["class_weight"] = source.get("class_weight")
        trainer = start(
            data, config, out, force=force, log=log, callbacks=callbacks, sample_weight=weights
        )
    results = trainer.run()
    if results.get("interrupted"):
        return results, False
    return {**results, "out": str(trainer.out_dir)}, report


def _class_weights(data: RunData, class_weight, task: str) -> np.ndarray | None:
    """The sample weights (n,) of ``class_weight`` ("balanced" or {label: weight}) for the
    run's training targets, counted over those it uses (``limit``); None for no weights."""
    if class_weight is None:
        return None
    if task != "classify":
        raise BpnnError("--class-weight is for classification (this run regresses)")
    return class_sample_weights(data.y, class_weight, data.y_used())


def _check_resumable(settings: dict, source: dict, **others) -> None:
    given = [n for n, v in settings.items() if v is not None and n not in RESUMABLE]
    given += [n for n in DATA_OPTIONS if n != "source" and source.get(n) is not None]
    given += [n for n, v in others.items() if v]
    if given:
        names = ", ".join("--" + n.replace("_", "-") for n in given)
        raise BpnnError(
            f"{names} cannot be given with --resume (the run's settings are fixed by its "
            f"checkpoint); only --{', --'.join(n.replace('_', '-') for n in RESUMABLE)} may change"
        )


def _recorded_data(run_dir: Path, meta: dict) -> dict:
    """The data record of the run in ``run_dir`` (its checkpoint's ``meta``)."""
    info = meta.get("data")
    if not isinstance(info, dict) or "source" not in info:
        raise BpnnError(
            f"{run_dir}: the checkpoint does not record its data (made by an older bpnn?)"
        )
    return info


@contextmanager
def _holding(folder: str | os.PathLike | None) -> Iterator[None]:
    """A block that makes a trainer for ``folder``, holding the folder's lock from before its
    files are looked at: kept for the trainer's run (``Trainer.run`` frees it), given up if the
    block fails."""
    if folder is None:
        yield
        return
    run, created = RunFolder(folder), not Path(folder).exists()
    run.lock()
    try:
        yield
    except BaseException:
        if created:  # leave no folder behind that only the lock made
            run.discard_lock()
        run.unlock()
        raise


def _where(trainer: Trainer | CommitteeTrainer) -> str:
    """The log line saying where the run computes."""
    return f"device: {trainer.device.describe()}; threads: {trainer.runtime()['threads']}"


def _check_free(run_dir: Path, force: bool) -> None:
    """Refuse to start a new run over a saved one unless ``force``."""
    if force or not run_dir.exists():
        return
    if any((run_dir / name).exists() for name in ("checkpoint.npz", "model.npz", "members")):
        raise BpnnError(
            f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
            f"choose another --out, or overwrite it with --force"
        )
