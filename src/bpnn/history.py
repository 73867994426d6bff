"""The record of a training run: ``History``, saved as ``history.json`` and in every checkpoint.

Not here: the loop that fills it (``bpnn.train``), the figures drawn from it (``bpnn.report``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["History"]


@dataclass
class History:
    """One record per finished epoch, plus how the run went; saved as ``history.json``.

    ``metric`` names what ``val_error``/``test_error`` hold: the error rate (classify) or the
    mean RMSE in the targets' units (regress).  ``stepper``: the path that trained;
    ``fallback``: why it is not a compiled one (None when it is).  ``changes``: settings changed
    when the run was resumed, with the epoch they apply from.  ``best_error``: the best value
    of what early stopping watched (``TrainConfig.monitor``: an error, or a loss).  Records of a
    run that monitors ``val_loss`` also hold it.
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
        if r.get("val_loss") is not None:
            parts.append(f"{name} loss {r['val_loss']:.5f}")
        parts += [f"lr {r['lr']:.4g}", f"{r['seconds']:.2f}s"]
        return "  ".join(parts)
