"""scikit-learn estimators on bpnn's own training: ``BPNNClassifier`` and ``BPNNRegressor``.

They train through ``bpnn.train.Trainer`` and its steppers (the compiled fast paths), with the
settings of ``bpnn train`` (``bpnn.settings.TrainConfig``): the same settings give the same
weights.  Parameters are named as in scikit-learn's ``MLPClassifier``/``MLPRegressor`` where the
meaning is the same, plus bpnn's own (``loss``, ``output``, ``targets``, ``dropout``, ``schedule``,
``preprocessing``, ``dtype``).  The fitted model is a ``bpnn.Model`` (``model_``): ``save`` writes
the usual model file, which the CLI evaluates, serves and reports; ``load`` reads one back.

Differences from scikit-learn's MLP, on purpose: ``loss_curve_`` holds the data loss (the L2
term is the optimiser's weight decay, alpha / batch size, as scikit-learn's gradient has it);
without ``early_stopping`` training stops when the training loss has not improved by ``tol`` for
``n_iter_no_change`` epochs, and the weights of the best epoch are kept (as with early stopping);
``sample_weight`` weighs each batch's mean loss (sum w E / sum w), so with ``batch_size=1`` it
has no effect.  A DataFrame of raw columns (text categories, gaps) goes through a table schema
(``bpnn.sklearn.frames``).  Needs scikit-learn (``pip install 'bpnn[sklearn]'``).
"""

from .base import SAME
from .estimators import BPNNClassifier, BPNNRegressor, expected_failed_checks

__all__ = ["SAME", "BPNNClassifier", "BPNNRegressor", "expected_failed_checks"]
