"""Training a committee (``--ensemble K``): K member runs in one run folder, then their average.

Member k is an ordinary run (a ``Trainer``) in ``OUT/members/k``: its own checkpoints, history,
config.json and model.npz, so Ctrl-C and ``--resume OUT`` continue the member that was
unfinished, exactly (the members before it are finished and are not trained again; those after
it start).  Every member trains on the committee's splits (drawn from the run's seed) with the
committee's preprocessing and targets; member k draws its weights, shuffling and dropout from
seed + k, as a single run of seed + k would (member 0 is the single run of the same seed).
The members train one after the other, each on every core it is given.  The run's callbacks see
one run: its start and end once, the members' epochs numbered on (member 1's first epoch
follows member 0's last), the members' checkpoints.

When the last member is done, ``OUT/model.npz`` holds the committee (``bpnn.committee``: all
members in one file) with its own val and test scores and each member's (``results["members"]``);
``OUT/history.json`` is member 0's, for the report's curves.

Not here: starting or resuming a run from data (``bpnn.runs``, which makes the members), the
averaged network and its file format (``bpnn.committee``, ``bpnn.modelfile``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import evaluation
from .callbacks import Callback, CallbackList
from .committee import Committee
from .errors import BpnnError
from .fileio import LOCK_NAME
from .model import Model
from .runfolder import RunFolder
from .train import Trainer, add_scores, run_model

__all__ = ["MEMBERS", "CommitteeTrainer", "checkpoint_path", "is_committee", "member_dir"]

MEMBERS = "members"  # the folder of the member runs inside a committee's run folder
# what each member's results keep in the committee's results["members"]
MEMBER_RESULTS = (
    "epochs",
    "best_epoch",
    "seconds",
    "stop_reason",
    "val_error",
    "test_error",
    "test_rmse",
    "test_mae",
    "test_r2",
)


def member_dir(out: str | os.PathLike | None, k: int) -> Path | None:
    """Member k's run folder inside the committee's ``out`` (None: no files)."""
    return None if out is None else Path(out) / MEMBERS / str(k)


def is_committee(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir`` holds a committee's member runs."""
    return (Path(run_dir) / MEMBERS).is_dir()


def checkpoint_path(run_dir: str | os.PathLike) -> Path:
    """The checkpoint that says what the run in ``run_dir`` is: its own, or its member 0's."""
    run_dir = Path(run_dir)
    if is_committee(run_dir):
        return RunFolder(run_dir / MEMBERS / "0").checkpoint
    return RunFolder(run_dir).checkpoint


def clear_other_kind(out: Path, ensemble: int) -> None:
    """Before a new run into ``out`` (``--force`` over a saved one): the files that would make
    ``--resume`` take it for the other kind of run, or continue an old member -- an old
    committee's members, and for a committee an old single run's checkpoint."""
    if (out / MEMBERS).is_dir():
        shutil.rmtree(out / MEMBERS)
    if ensemble > 1:
        RunFolder(out).checkpoint.unlink(missing_ok=True)


def finished(trainer: Trainer) -> bool:
    """Whether a member has run all its epochs or stopped early."""
    return trainer.epoch >= trainer.config.epochs or trainer.history.stopped_early


class MemberCallbacks(CallbackList):
    """The committee's callbacks as one member's Trainer calls them: its epochs numbered on from
    the members before it (``offset``), its checkpoints; the run's start and end are the
    committee's own (``CommitteeTrainer.run`` calls them once).  A callback that stops a member
    stops that member (the next one trains)."""

    def __init__(self, callbacks: CallbackList, offset: Callable[[], int]):
        super().__init__(callbacks.callbacks)
        self.offset = offset

    def run_start(self, run: Any) -> None:
        pass

    def epoch_end(self, epoch: int, metrics: dict) -> bool:
        return super().epoch_end(self.offset() + epoch, metrics)

    def run_end(self, results: dict) -> None:
        pass


class CommitteeTrainer:
    """A committee's member ``Trainer`` objects, trained one after the other by ``run``.

    first: member 0's Trainer (new, or resumed from its checkpoint); make(k): member k's,
    resumed from its checkpoint when it has one, else new -- all on the same splits,
    preprocessing and targets.  A member is made when its turn comes (one not yet trained takes
    no memory), and ``resumed`` makes the finished ones up to the first
    unfinished.  out: the committee's run folder (None: no files).  What callers read of a
    Trainer (``history``, ``epoch``, ``net``, ``optimizer``) is the current member's: the first
    unfinished one, else member 0 (whose history a finished committee shows).
    """

    def __init__(
        self,
        first: Trainer,
        make: Callable[[int], Trainer],
        out: str | os.PathLike | None,
        *,
        log=None,
        callbacks: list[Callback] | None = None,
    ):
        self.config, self._make = first.config, make
        self.train, self.val, self.test = first.train, first.val, first.test
        self.preprocessing, self.targets, self.data = first.preprocessing, first.targets, first.data
        self.device = first.device
        self.folder = None if out is None else RunFolder(out)
        self.log: Callable[[str], object] = log or (lambda line: None)
        self.callbacks = CallbackList(callbacks)
        self.members: list[Trainer] = []
        self._add(first)

    def _add(self, member: Trainer) -> Trainer:
        done = list(self.members)  # the members before this one, finished when it trains
        member.callbacks = MemberCallbacks(self.callbacks, lambda: sum(t.epoch for t in done))
        member.resume_hint = self.out_dir  # an interrupted member: continue the committee
        self.members.append(member)
        return member

    def member(self, k: int) -> Trainer:
        """Member k's Trainer (made now if it is not yet)."""
        while len(self.members) <= k:
            self._add(self._make(len(self.members)))
        return self.members[k]

    def resumed(self) -> CommitteeTrainer:
        """Make the members up to the first unfinished one (all, when every one is finished)."""
        while finished(self.members[-1]) and len(self.members) < self.config.ensemble:
            self.member(len(self.members))
        return self

    @property
    def current(self) -> Trainer:
        return next((t for t in self.members if not finished(t)), self.members[0])

    history = property(lambda self: self.current.history, doc="The current member's History.")
    epoch = property(lambda self: self.current.epoch, doc="The current member's epochs done.")
    net = property(lambda self: self.current.net, doc="The current member's network.")
    optimizer = property(lambda self: self.current.optimizer, doc="Its optimiser.")

    @property
    def out_dir(self) -> Path | None:
        return None if self.folder is None else self.folder.path

    def runtime(self) -> dict:
        return self.members[0].runtime()

    def run(self) -> dict:
        """Train each unfinished member (a finished one only restores its best weights and is
        scored again), then score and save the committee; the results.  A failure before
        member 0's first checkpoint leaves no half-made committee folder behind."""
        if self.folder is not None:
            self.folder.lock()  # (held already when the runs layer made this trainer)
        try:
            results = self._run()
        except BaseException:
            self._discard_unbegun()
            raise
        finally:
            if self.folder is not None:
                self.folder.unlock(every=True)
        self.callbacks.run_end(results)
        return results

    def _run(self) -> dict:
        self.callbacks.run_start(self)
        done = []
        for k in range(self.config.ensemble):
            member = self.member(k)
            self.log(
                f"committee member {k + 1} of {self.config.ensemble} (seed {self.config.seed + k})"
            )
            results = member.run()
            if results.get("interrupted"):
                return {**results, "member": k, "out": str(self.out_dir)}
            done.append(results)
        return self._finish(done)

    def _discard_unbegun(self) -> None:
        """After a failure before member 0's first checkpoint: the empty members folder, and
        the committee's folder when nothing else is in it."""
        if self.folder is None or RunFolder(member_dir(self.out_dir, 0) or "").has_checkpoint():
            return
        members = self.folder.path / MEMBERS
        if members.is_dir() and not any(members.iterdir()):
            members.rmdir()
        if {p.name for p in self.folder.path.iterdir()} <= {LOCK_NAME}:
            self.folder.discard_lock()

    def error(self, split) -> float:
        """The committee's selection error on ``split`` (``bpnn.evaluation``)."""
        return evaluation.selection_error(
            self.committee(), self.preprocessing, self.targets, split.X, split.y, split.w
        )

    def committee(self) -> Committee:
        return Committee([t.net for t in self.members])

    def _finish(self, done: list[dict]) -> dict:
        """The committee's results (scores of the average; each member's), its model saved."""
        first = done[0]
        results = {
            "task": first["task"],
            "metric": first["metric"],
            "epochs": sum(r["epochs"] for r in done),
            "best_epoch": None,
            "seconds": round(sum(r["seconds"] for r in done), 3),
            "stopped_early": any(r["stopped_early"] for r in done),
            "stop_reason": f"committee of {len(done)} networks (member 0: {first['stop_reason']})",
            "stepper": first["stepper"],
            "train_samples": first["train_samples"],
            "ensemble": len(done),
        }
        add_scores(results, self)
        results["members"] = [{k: r[k] for k in MEMBER_RESULTS if k in r} for r in done]
        if self.folder is not None:
            model = self.folder.write_model(self.model({"results": results}))
            self.folder.write_history(self.members[0].history)
            results["model"] = str(model)
        return results

    def model(self, extra: dict | None = None) -> Model:
        """The committee as a Model (the members' networks as they are now)."""
        return run_model(self, self.committee(), extra)


def refuse_warm_start(resumed_from: dict) -> None:
    """A committee trains its members from their seeds: no network to continue from."""
    given = [name for name in ("net", "optimizer") if resumed_from.get(name) is not None]
    if given:
        raise BpnnError(
            "a committee (ensemble > 1) trains each member from its own seed: it cannot "
            "continue from a given network (warm starts, partial_fit)"
        )
