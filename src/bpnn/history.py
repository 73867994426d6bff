"""The record of a training run: ``History``, saved as ``history.json`` and in every checkpoint.

Not here: the loop that fills it (``bpnn.train``), the figures drawn from it (``bpnn.report``).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

__all__ = ["History", "format_loss", "history_problem", "plural"]


def format_loss(value: float) -> str:
    """A loss in the log: 5 decimals, or 5 significant digits once it is large (a diverging run's
    1.0339e+20, not 103387540005251104768.00000)."""
    return f"{value:.5f}" if abs(value) < 1e4 else f"{value:.5g}"


def plural(n: int, word: str) -> str:
    """ "1 epoch", "2 epochs"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# What each epoch record holds that is read back as a number (None where not measured).
NUMBERS = ("train_loss", "val_error", "test_error", "lr", "seconds")


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def history_problem(data) -> str | None:
    """What is wrong with ``data`` as a saved History (history.json, a checkpoint's), or None:
    epochs must be a list of records with a whole-number epoch and numbers where numbers
    belong; best_epoch a whole number, best_error a number (or null)."""
    if not isinstance(data, dict) or not isinstance(data.get("epochs"), list):
        return "no list of epochs"
    for i, record in enumerate(data["epochs"]):
        if not isinstance(record, dict):
            return f"epoch record {i} is not an object"
        epoch = record.get("epoch", i + 1)
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            return f"epoch record {i}: epoch must be a whole number, got {epoch!r}"
        for key in NUMBERS:
            if record.get(key) is not None and not _real(record[key]):
                return f"epoch record {i}: {key} must be a number, got {record[key]!r}"
    best = data.get("best_epoch")
    if best is not None and (not isinstance(best, int) or isinstance(best, bool)):
        return f"best_epoch must be a whole number, got {best!r}"
    if data.get("best_error") is not None and not _real(data["best_error"]):
        return f"best_error must be a number, got {data['best_error']!r}"
    if not isinstance(data.get("changes", []), list):
        return "changes must be a list"
    if data.get("untrained_loss") is not None and not _real(data["untrained_loss"]):
        return f"untrained_loss must be a number, got {data['untrained_loss']!r}"
    return None


@dataclass
class History:
    """One record per finished epoch, plus how the run went; saved as ``history.json``.

    ``metric`` names what ``val_error``/``test_error`` hold: the error rate (classify) or the
    mean RMSE in the targets' units (regress).  ``stepper``: the path that trained;
    ``fallback``: why it is not a compiled one (None when it is).  ``changes``: settings changed
    when the run was resumed, with the epoch they apply from.  ``best_error``: the best value
    of what early stopping watched (``TrainConfig.monitor``: an error, or a loss).  Records of a
    run that monitors ``val_loss`` also hold it.  ``untrained_loss``: the network's mean loss on
    the training data before its first step (``bpnn.watch.divergence_bound``; None in runs
    resumed from checkpoints written before it was kept).
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
    untrained_loss: float | None = None  # the mean loss it started from (bpnn.watch's rule)

    def add(self, **record) -> None:
        self.epochs.append(record)

    def to_dict(self) -> dict:
        """A copy as plain data.  (Not ``dataclasses.asdict``: its recursive deep copy of every
        record, once per epoch, made writing the history the bulk of a small run's time.)"""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["epochs"] = [dict(r) for r in self.epochs]  # records hold numbers and None
        data["changes"] = copy.deepcopy(self.changes)
        if self.untrained_loss is None:  # an older run's: its files are written back the same
            del data["untrained_loss"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> History:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def metric_name(self) -> str:
        """ "error" or "RMSE", as the log lines and stop reasons say it."""
        return "error" if self.metric == "error_rate" else "RMSE"

    def format_error(self, value: float) -> str:
        """An error as every line shows it: a percentage (error rate) or 5 digits (RMSE)."""
        return f"{100 * value:.2f}%" if self.metric == "error_rate" else f"{value:.5g}"

    def describe(self, r: dict, stop_on: str) -> str:
        """One log line for the epoch record ``r``; the selection error is labelled "val"
        unless the run selects on the test set (``stop_on``)."""
        parts = [f"epoch {r['epoch']:3d}", f"loss {format_loss(r['train_loss'])}"]
        name = "val" if stop_on != "test" else "test"
        for key in ("val_error", "test_error"):
            if r[key] is not None:
                label = name if key == "val_error" else "test"
                parts.append(f"{label} {self.metric_name()} {self.format_error(r[key])}")
        if r.get("val_loss") is not None:
            parts.append(f"{name} loss {format_loss(r['val_loss'])}")
        parts += [f"lr {r['lr']:.4g}", f"{r['seconds']:.2f}s"]
        return "  ".join(parts)
