"""Callbacks: code of your own that watches a run, and may stop it, at four moments.

``Callback`` is the protocol (subclass it and override what you need; every method does nothing
by default):

- ``on_run_start(run)``: before the first epoch (of a new or a resumed run); ``run`` is the
  ``bpnn.train.Trainer`` (read ``run.config``, ``run.out_dir``, ``run.epoch``, ``run.history``,
  ``run.data``; call nothing that changes it);
- ``on_epoch_end(epoch, metrics) -> stop?``: after each epoch; ``metrics`` is a copy of the
  epoch's record (``epoch``, ``train_loss``, ``val_error``, ``test_error``, ``val_loss`` when
  the run monitors it, ``lr``, ``seconds``; None where the epoch was not evaluated).  A true
  return value asks the run to stop: it stops as early stopping does (best weights restored,
  checkpoint and model written, ``stop_reason`` names the callback);
- ``on_checkpoint(path)``: after ``checkpoint.npz`` is written (runs with a run folder only);
- ``on_run_end(results)``: after the run ends (all epochs, early stopping, a callback's stop,
  or Ctrl-C: ``results["interrupted"]``); not called when the run fails with an error.

Callbacks only watch: they draw no random numbers and see copies, so a run with callbacks
computes exactly the weights it computes without them.  ``CallbackList`` calls a list of them in
order.  Ready-made callbacks: ``bpnn.tracking`` (MLflow, TensorBoard, history.csv is written by
the run folder itself).

Not here: the loop that calls them (``bpnn.train``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["Callback", "CallbackList"]


class Callback:
    """The protocol a run calls (every method is optional: the defaults do nothing)."""

    def on_run_start(self, run: Any) -> None:
        """Before the first epoch; ``run``: the Trainer (read it, do not change it)."""

    def on_epoch_end(self, epoch: int, metrics: dict) -> bool | None:
        """After epoch ``epoch`` (1-based) with its metrics; return True to stop the run."""
        return None

    def on_checkpoint(self, path: Path) -> None:
        """After the checkpoint ``path`` was written."""

    def on_run_end(self, results: dict) -> None:
        """After the run ended, with its results (the dict ``Trainer.run`` returns)."""


class CallbackList:
    """Callbacks called in order; ``stopped_by`` names the first that asked to stop."""

    def __init__(self, callbacks: Iterable[Callback] | None = None):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not any(hasattr(cb, m) for m in _METHODS):
                raise TypeError(
                    f"{cb!r} is not a callback: it has none of {', '.join(_METHODS)} "
                    f"(subclass bpnn.callbacks.Callback)"
                )
        self.stopped_by: str | None = None

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def run_start(self, run: Any) -> None:
        self._call("on_run_start", run)

    def epoch_end(self, epoch: int, metrics: dict) -> bool:
        """True when a callback asked to stop (every callback still sees the epoch)."""
        for cb in self.callbacks:
            method = getattr(cb, "on_epoch_end", None)
            if method is not None and method(epoch, dict(metrics)) and self.stopped_by is None:
                self.stopped_by = type(cb).__name__
        return self.stopped_by is not None

    def checkpoint(self, path: Path) -> None:
        self._call("on_checkpoint", path)

    def run_end(self, results: dict) -> None:
        self._call("on_run_end", dict(results))

    def _call(self, name: str, *args: Any) -> None:
        for cb in self.callbacks:
            method = getattr(cb, name, None)
            if method is not None:
                method(*args)


_METHODS = ("on_run_start", "on_epoch_end", "on_checkpoint", "on_run_end")
