"""What watches the epoch loop from outside its arithmetic: Ctrl-C, the progress bar, divergence.

- ``InterruptFlag``: the first Ctrl-C sets a flag the loop checks between chunks (so the run can
  save a checkpoint); a second one interrupts at once.
- ``progress_bar``: a tqdm bar for one epoch, or None (not a terminal, no tqdm, not wanted);
  ``run_eta``: the whole run's time left, shown on it beside the epoch's.
- ``DivergenceError`` / ``diverged``: the loss became NaN or infinite, or an epoch's training
  loss rose above ``DIVERGENCE_FACTOR`` times the loss the run started from (``divergence_bound``),
  said in one line; ``untrained_loss``: the scale it is measured against.

Not here: the loop (``bpnn.train``), what is saved when it stops (``bpnn.runstate``).
"""

from __future__ import annotations

import math
import signal
import sys
from typing import Any

import numpy as np

from . import evaluation
from .errors import BpnnError

__all__ = [
    "DIVERGENCE_FACTOR",
    "DivergenceError",
    "InterruptFlag",
    "diverged",
    "divergence_bound",
    "progress_bar",
    "run_eta",
    "untrained_loss",
]

# An epoch's mean training loss above this many times the untrained network's (never less than
# 1: a warm start's near-perfect loss is no scale) is divergence, finite or not.  The untrained
# loss is in the loss's own units (ln K for K classes, the targets' units squared for unscaled
# regression), so the rule is too.  Measured (README "Errors and limits"): healthy runs at most
# 1.2 times it, diverged ones 6,000 to 1e22 times it, often for many epochs without overflowing.
DIVERGENCE_FACTOR = 1000.0
UNTRAINED_ROWS = 512  # samples the untrained loss is measured on: the rule needs no precision
# (2048 took 0.1 s for MNIST's 784-300-10, 2.5% of the `fast` preset's time; 512 a quarter)


class DivergenceError(BpnnError):
    """The training loss became NaN or infinite, or rose past ``divergence_bound``."""


def untrained_loss(net, preprocessing, targets, train, on: float, off: float) -> float | None:
    """The network's mean loss on an even spread of at most ``UNTRAINED_ROWS`` samples of the
    ``train`` split (a ``Split``: X (n, d), y (n,) or (n, k), weights w (n,) or None): every
    k-th, so a table sorted by its target is spread too, and no random numbers are drawn.
    Weighted as training weighs them (unweighted where the picked weights are all 0); None
    when it is not finite (inputs past float32)."""
    step = -(-len(train) // UNTRAINED_ROWS)  # ceil
    w = None if train.w is None or not train.w[::step].sum() > 0 else train.w[::step]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss = evaluation.selection_loss(
            net, preprocessing, targets, train.X[::step], train.y[::step], w, on, off
        )
    return loss if math.isfinite(loss) else None


def divergence_bound(untrained_loss: float | None) -> float:
    """The highest mean training loss of an epoch that is not divergence, for a run that
    started from ``untrained_loss`` (None, a run resumed from an older checkpoint: only NaN
    and infinity are divergence)."""
    if untrained_loss is None or not math.isfinite(untrained_loss):
        return math.inf
    return DIVERGENCE_FACTOR * max(untrained_loss, 1.0)


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


def diverged(
    epoch: int,
    lr: float,
    kept_in: str | None,
    loss: float | None = None,
    untrained_loss: float | None = None,
) -> DivergenceError:
    """The error for a loss gone NaN or infinite in 1-based ``epoch`` at learning rate ``lr``,
    or (``loss`` given) an epoch's mean loss past ``divergence_bound(untrained_loss)``;
    ``kept_in``: the folder whose last good checkpoint survives (None: none was saved)."""
    kept = (
        f"the last good checkpoint in {kept_in} is kept"
        if kept_in is not None
        else "no checkpoint was saved before it"
    )
    why = "loss is NaN or infinite"
    if loss is not None and untrained_loss is not None:
        why = (
            f"loss {loss:.4g}, over {DIVERGENCE_FACTOR:g} times the untrained network's "
            f"{untrained_loss:.4g}"
        )
    return DivergenceError(
        f"training diverged in epoch {epoch} ({why}) with learning rate {lr:g}: try a smaller "
        f"--lr; {kept}"
    )
