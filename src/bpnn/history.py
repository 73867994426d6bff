"""The record of a training run: ``History``, saved as ``history.json`` and in every checkpoint.

Not here: the loop that fills it (``bpnn.train``), the figures drawn from it (``bpnn.report``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["History", "history_problem"]

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
    return None


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

    def metric_name(self) -> str:
        """ "error" or "RMSE", as the log lines and stop reasons say it."""
        return "error" if self.metric == "error_rate" else "RMSE"

    def describe(self, r: dict, stop_on: str) -> str:
        """One log line for the epoch record ``r``; the selection error is labelled "val"
        unless the run selects on the test set (``stop_on``)."""
        parts = [f"epoch {r['epoch']:3d}", f"loss {r['train_loss']:.5f}"]
        name = "val" if stop_on != "test" else "test"
        for key in ("val_error", "test_error"):
            if r[key] is not None:
                label = name if key == "val_error" else "test"
                value = f"{100 * r[key]:.2f}%" if self.metric == "error_rate" else f"{r[key]:.5g}"
                parts.append(f"{label} {self.metric_name()} {value}")
        parts += [f"lr {r['lr']:.4g}", f"{r['seconds']:.2f}s"]
        return "  ".join(parts)
