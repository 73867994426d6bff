"""Early stopping: ``EarlyStopping``, the rule that says when an error is an improvement and when
a run has gone too long without one.

Not here: computing the error (``bpnn.evaluation``), keeping the best weights (``bpnn.train``),
saving the rule's state (``bpnn.runstate``: the count as ``bad_evals``, the best value as the
history's ``best_error``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EarlyStopping"]


@dataclass
class EarlyStopping:
    """Stop after ``patience`` evaluations in a row without improvement.

    An error improves on the best so far when it is lower by more than ``min_delta``; with
    ``min_delta`` 0 an equal error counts as no worse (the tutorial stops when accuracy *falls*):
    the later weights win the tie and patience starts again, so a small set stuck at 0 errors
    keeps training.  ``best``: the best error so far (None before the first evaluation);
    ``bad_evals``: evaluations since it.
    """

    patience: int
    min_delta: float = 0.0
    best: float | None = None
    bad_evals: int = 0

    def improves(self, value: float) -> bool:
        """Whether ``value`` would count as an improvement (changes nothing)."""
        if self.best is None:
            return True
        if self.min_delta == 0:
            return value <= self.best
        return value < self.best - self.min_delta

    def update(self, value: float) -> bool:
        """Record one evaluation's error; True when it improved (it becomes the best)."""
        if self.improves(value):
            self.best, self.bad_evals = value, 0
            return True
        self.bad_evals += 1
        return False

    @property
    def stop(self) -> bool:
        """Patience has run out: ``patience`` evaluations in a row without improvement."""
        return self.bad_evals >= self.patience
