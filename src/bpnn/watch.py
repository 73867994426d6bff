"""What watches the epoch loop from outside its arithmetic: Ctrl-C, the progress bar, divergence.

- ``InterruptFlag``: the first Ctrl-C sets a flag the loop checks between chunks (so the run can
  save a checkpoint); a second one interrupts at once.
- ``progress_bar``: a tqdm bar for one epoch, or None (not a terminal, no tqdm, not wanted);
  ``run_eta``: the whole run's time left, shown on it beside the epoch's.
- ``DivergenceError`` / ``diverged``: the loss became NaN or infinite, said in one line.

Not here: the loop (``bpnn.train``), what is saved when it stops (``bpnn.runstate``).
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from .errors import BpnnError

__all__ = ["DivergenceError", "InterruptFlag", "diverged", "progress_bar", "run_eta"]


class DivergenceError(BpnnError):
    """The training loss became NaN or infinite."""


class InterruptFlag:
    """First Ctrl-C sets ``raised`` (checked between chunks); a second one interrupts at once.

    Outside the main thread signals cannot be caught: the flag stays down and Ctrl-C is left as
    it is.
    """

    def __init__(self) -> None:
        self.raised = False
        self._old: Any = None

    def __enter__(self) -> InterruptFlag:
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


def progress_bar(total: int, initial: int, desc: str, wanted: bool | str = True):
    """A tqdm bar over ``total`` samples starting at ``initial`` (stderr, gone when closed); None
    unless wanted, stderr is a terminal (or ``wanted == "always"``: a notebook's, a log's) and
    tqdm is installed."""
    if not wanted or (wanted != "always" and not sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="sample",
        unit_scale=True,
        leave=False,
        file=sys.stderr,
    )


def run_eta(done: int, total: int, seconds: float, epochs_after: int, epoch_seconds: float | None):
    """The whole run's time left, e.g. "run 3:05 left": the rest of this epoch (``done`` of
    ``total`` samples in ``seconds``) and ``epochs_after`` more epochs of ``epoch_seconds``
    each (None: as long as this one).  Early stopping may end the run sooner."""
    if done <= 0:
        return "run ?"
    this_epoch = seconds * total / done
    left = this_epoch - seconds + epochs_after * (epoch_seconds or this_epoch)
    minutes, secs = divmod(round(left), 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"run {text} left"


def diverged(epoch: int, lr: float, kept_in: str | None) -> DivergenceError:
    """The error for a loss gone NaN or infinite in 1-based ``epoch`` at learning rate ``lr``;
    ``kept_in``: the folder whose last good checkpoint survives (None: none was saved)."""
    kept = (
        f"the last good checkpoint in {kept_in} is kept"
        if kept_in is not None
        else "no checkpoint was saved before it"
    )
    return DivergenceError(
        f"training diverged in epoch {epoch} (loss is NaN or infinite) with learning "
        f"rate {lr:g}: try a smaller --lr; {kept}"
    )
