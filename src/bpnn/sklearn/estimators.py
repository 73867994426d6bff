"""The two scikit-learn estimators: ``BPNNClassifier`` (labels, class weights, multi-label 0/1
targets, probabilities) and ``BPNNRegressor`` (values in the user's units), and the documentation
of the parameters they share.

Not here: the parameters, training and files both share (``bpnn.sklearn.base``).
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
)

from ..errors import BpnnError
from ..model import Model
from ..targets import Targets
from .base import _BPNNBase, expected_failed_checks

__all__ = ["BPNNClassifier", "BPNNRegressor", "expected_failed_checks"]

PARAMETERS = """
    Parameters (scikit-learn's names):
      hidden_layer_sizes: hidden units per layer, e.g. (100,) or (300, 100).
      activation: hidden activation: 'logistic' (= 'sigmoid') or any of bpnn's hidden
        activations ('relu', 'tanh', 'identity', ...: ``bpnn.activations.HIDDEN_ACTIVATIONS``).
      solver: 'adam' or 'sgd' (with ``momentum``; Nesterov's when ``nesterovs_momentum``);
        bpnn's 'adamw': Adam with decoupled weight decay (the decay alpha / batch_size, as
        ``--weight-decay``).
      alpha: L2 penalty; its gradient alpha * W / batch_size (scikit-learn's) is applied as
        weight decay on the weight matrices.
      batch_size: samples per step, or 'auto' (min(200, n_samples)).
      learning_rate_init: the learning rate (``schedule`` changes it per epoch).
      max_iter: epochs.  tol, n_iter_no_change: stop when the validation score (with
        ``early_stopping``) or else the training loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; the best epoch's weights are kept.
      early_stopping, validation_fraction: hold out this fraction (seeded) to select on.
      momentum, nesterovs_momentum: for solver 'sgd'.
      random_state: None, an int (bpnn's ``--seed``) or a RandomState.
      warm_start: ``fit`` continues from the current weights.  verbose: print each epoch.
    bpnn's own:
      loss: 'cross_entropy', 'squared' or 'binary_cross_entropy' (None: the task's default).
      output: the output activation (None: the loss's own).
      targets: see each estimator.  dropout: input dropout of each hidden layer, in [0, 1).
      schedule: learning-rate schedule per epoch: 'constant', 'step', 'exponential', 'cosine'.
      preprocessing: 'auto' (uint8 pixels: x / 255; else standardize), 'standardize' (0/1
        columns kept as they are), 'scale' (x / 255), 'none'; stored in the model.
      dtype: 'float32' (fast) or 'float64'.  init: the weight initialiser ('he', 'xavier',
        'uniform').  lr_gamma, lr_step: the step and exponential schedules' factor and step.
      augment: shift training images (uint8 pixels) by up to N pixels, anew each epoch; or
        deform them: 'elastic,affine,shift' with strengths (``bpnn.augment``; README
        "Deformations").
      device: 'cpu' (default), 'cuda' (an NVIDIA GPU through JAX, ``bpnn[gpu]``), 'auto'
        (cuda when usable) or 'jax-cpu'; threads: CPU threads (None: every core).
      monitor: what ``early_stopping`` watches on the validation fraction: 'val_error'
        (default, scikit-learn's validation score), 'val_loss', or 'val_rmse' (regressor).
      n_ensemble: train a committee of N networks (seeds random_state, +1, ...) on the same
        split and average their outputs (``--ensemble``); not with warm_start or partial_fit.
        The curves (``loss_curve_``, ``history_``...) are member 0's.
      callbacks: ``bpnn.callbacks.Callback`` objects that watch each fit (and may stop it).
      average: keep the weights averaged over the epochs with this decay (``--average``; 0,
        the default: none, as scikit-learn's MLP); the kept weights are the best average: judged
        on the validation fraction with ``early_stopping``, else by its loss on a fixed spread
        of at most 512 training rows (``loss_curve_`` stays the training weights' own losses).
        partial_fit and warm_start go on with the average and the last fit's own weights.
"""


def _signature_with(func, name: str, default) -> inspect.Signature:
    """``func``'s signature with one more keyword-only parameter ``name=default`` at its end."""
    signature = inspect.signature(func)
    extra = inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
    return signature.replace(parameters=[*signature.parameters.values(), extra])


class BPNNClassifier(ClassifierMixin, _BPNNBase):
    """A fully connected network classifier trained by bpnn (``MLPClassifier``'s parameters).

    targets: for ``loss='squared'``, the (on, off) values the true and the other classes are
    trained towards (default (0.9, 0.1), the tutorial's).  Labels may be any integers or
    strings; a 2-D 0/1 indicator ``y`` is multi-label (binary cross-entropy, sigmoid outputs).
    ``class_weight``: None, 'balanced' or {label: weight}, multiplying ``sample_weight``.

    Fitted: ``classes_``, ``n_features_in_``, ``feature_names_in_`` (DataFrames), ``n_iter_``,
    ``loss_curve_``, ``best_loss_``, ``validation_scores_`` / ``best_validation_score_``
    (accuracy on the validation split, with ``early_stopping``), ``t_`` (samples seen),
    ``coefs_``, ``intercepts_``, ``model_`` (the ``bpnn.Model``), ``history_``.
    """

    _task = "classify"
    classes_: np.ndarray
    _is_multilabel: bool

    def __init__(self, *args, class_weight=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weight = class_weight

    # scikit-learn reads an estimator's parameters from its signature: the shared ones, and this
    # (mypy: a function's __signature__ is read by inspect, not declared by typeshed)
    __init__.__signature__ = _signature_with(_BPNNBase.__init__, "class_weight", None)  # type: ignore[attr-defined]

    def _check_targets_param(self) -> None:
        t = self.targets
        if t is not None and not (
            isinstance(t, (tuple, list))
            and len(t) == 2
            # (numpy's ufunc stubs take no numbers.Real; np.isfinite does)
            and all(isinstance(v, numbers.Real) and np.isfinite(v) for v in t)  # type: ignore[call-overload]
        ):
            raise ValueError(
                f"BPNNClassifier: targets must be None or an (on, off) pair of numbers, got {t!r}"
            )
        cw = self.class_weight
        if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
            raise ValueError(
                f"BPNNClassifier: class_weight must be None, 'balanced' or a dict, got {cw!r}"
            )

    _default_loss = "cross_entropy"

    @staticmethod
    def _targets_from_config(config: dict):
        on, off = config.get("target_on", 0.9), config.get("target_off", 0.1)
        return None if (on, off) == (0.9, 0.1) else (on, off)

    def _multilabel(self) -> bool:
        return getattr(self, "_is_multilabel", False)

    def _loss(self):
        if self._multilabel():
            return "binary_cross_entropy"
        return self.loss or "cross_entropy"

    def _target_settings(self) -> dict:
        if self._multilabel():
            return {"task": "regress", "target_scaling": "none"}
        on, off = self.targets or (0.9, 0.1)
        return {"target_on": float(on), "target_off": float(off)}

    def _score_from_error(self, error, trainer) -> float:
        return 1.0 - error  # accuracy (multi-label: 1 - RMSE of the probabilities)

    def _labels(self, y, reset: bool, classes=None):
        """(y, Targets) for the training labels; sets ``classes_`` on the first fit."""
        if np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if not reset:
            if self._multilabel() != (kind == "multilabel-indicator"):
                raise ValueError("the targets changed between single-label and multi-label")
            if not self._multilabel():
                unknown = np.setdiff1d(np.unique(y), self.classes_)
                if len(unknown):
                    raise ValueError(
                        f"labels {unknown.tolist()} are not in classes_ {self.classes_.tolist()}"
                    )
            return (
                np.asarray(y, dtype=np.float64) if self._multilabel() else y
            ), self.model_.targets
        self._is_multilabel = kind == "multilabel-indicator"
        if self._multilabel():
            y = np.asarray(y, dtype=np.float64)
            self.classes_ = np.arange(y.shape[1])
            return y, Targets("regress", n_values=y.shape[1])
        classes = np.unique(y if classes is None else classes)
        if len(classes) < 2:
            raise ValueError(
                "BPNNClassifier needs samples of at least 2 classes in the data, "
                f"got 1 class: {classes.tolist()}"
            )
        try:
            targets = Targets("classify", classes=classes)  # MAX_CLASSES
        except BpnnError as exc:  # scikit-learn reports bad targets as ValueError
            raise ValueError(str(exc)) from None
        self.classes_ = classes
        return y, targets

    def _weights(self, y, sample_weight, X):
        w = (
            None
            if sample_weight is None
            else _check_sample_weight(sample_weight, X, dtype=np.float64)
        )
        if self.class_weight is not None and not self._multilabel():
            cw = compute_sample_weight(self.class_weight, y)
            w = cw if w is None else w * cw
        return w

    def fit(self, X, y, sample_weight=None):
        """Train on X (n, d) and labels y (n,) (or a 0/1 indicator matrix (n, k)); returns self."""
        self._check_params()
        warm = self.warm_start and hasattr(self, "model_")
        X, y = self._validate_Xy(X, y, reset=not warm, multi_output=True)
        y, targets = self._labels(y, reset=not warm)
        self._train(X, y, self._weights(y, sample_weight, X), targets, incremental=False)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y) from the current weights and optimiser state; the first call
        needs ``classes`` (every label that will ever be seen)."""
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
            if classes is None and type_of_target(y) != "multilabel-indicator":
                raise ValueError("partial_fit needs classes= (all labels) on its first call")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes {np.unique(classes).tolist()} differ from "
                f"classes_ {self.classes_.tolist()}"
            )
        X, y = self._validate_Xy(X, y, reset=first, multi_output=True)
        y, targets = self._labels(y, reset=first, classes=classes)
        self._train(X, y, self._weights(y, sample_weight, X), targets, incremental=True)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, n_classes) in the order of ``classes_`` (multi-label: each
        label's probability)."""
        check_is_fitted(self, "model_")
        X = self._validate_X(X, reset=False)
        if self._multilabel():
            return self.model_.outputs(X).astype(np.float64)
        return self.model_.predict_proba(X)

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """Labels (n,) (multi-label: a 0/1 matrix (n, k))."""
        if self._multilabel():
            return (self._outputs(X) > 0.5).astype(np.int64)
        check_is_fitted(self, "model_")
        return self.model_.predict(self._validate_X(X, reset=False))

    def _loaded(self, model: Model) -> None:
        self._is_multilabel = (
            model.task == "regress" and model.net.loss_name == "binary_cross_entropy"
        )
        if self._multilabel():
            self.classes_ = np.arange(model.net.n_outputs)
        elif model.task != "classify":  # (was loaded with classes_ None, predicting values)
            raise ValueError("this model file holds a regressor: use BPNNRegressor.load")
        else:
            self.classes_ = model.targets.labels

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class BPNNRegressor(RegressorMixin, _BPNNBase):
    """A fully connected network regressor trained by bpnn (``MLPRegressor``'s parameters).

    targets: 'standardize' (default: train on standardised targets, predict in the user's
    units) or 'none'.  Predictions are kept within the range of every target the estimator was
    fit on (``bpnn.targets.Targets.widen``; ``--target-range none`` has no parameter here).
    y: (n,) or (n, k) values.  Fitted: as ``BPNNClassifier`` without
    ``classes_``; ``validation_scores_`` are R^2 (1 - MSE / variance, pooled over targets).
    """

    _task = "regress"

    def _check_targets_param(self) -> None:
        if self.targets not in (None, "standardize", "none"):
            raise ValueError(
                "BPNNRegressor: targets must be None, 'standardize' or 'none', "
                f"got {self.targets!r}"
            )

    _default_loss = "squared"

    @staticmethod
    def _targets_from_config(config: dict):
        scaling = config.get("target_scaling", "standardize")
        return None if scaling == "standardize" else scaling

    def _loss(self):
        return self.loss or "squared"

    def _target_settings(self) -> dict:
        return {"target_scaling": self.targets or "standardize"}

    def _score_from_error(self, rmse, trainer) -> float:
        y, w = (
            np.asarray(trainer.val.y, dtype=np.float64).reshape(len(trainer.val), -1),
            trainer.val.w,
        )
        variance = np.average(
            np.average((y - np.average(y, axis=0, weights=w)) ** 2, axis=0, weights=w)
        )
        return float(1 - rmse**2 / variance) if variance > 0 else 0.0

    def _values(self, y, reset: bool) -> tuple[np.ndarray, Targets]:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if reset:
            return y, Targets.fit(y, "regress", self.targets or "standardize")
        self.model_.targets.widen(y)  # (the range of every target trained on)
        return y, self.model_.targets

    def fit(self, X, y, sample_weight=None):
        """Train on X (n, d) and values y (n,) or (n, k); returns self."""
        self._check_params()
        warm = self.warm_start and hasattr(self, "model_")
        self._train(*self._checked(X, y, sample_weight, reset=not warm), incremental=False)
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y) from the current weights and optimiser state."""
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        self._train(*self._checked(X, y, sample_weight, reset=first), incremental=True)
        return self

    def _checked(self, X, y, sample_weight, reset: bool) -> tuple:
        """(X (n, d), y, sample weights (n,) or None, Targets), checked as scikit-learn does;
        ``reset``: a fresh fit (new features and value scaling)."""
        X, y = self._validate_Xy(X, y, reset=reset, multi_output=True, y_numeric=True)
        y, targets = self._values(y, reset=reset)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return X, y, sample_weight, targets

    def predict(self, X) -> np.ndarray:
        """Values (n,) (or (n, k) for several targets), in the units of y."""
        check_is_fitted(self, "model_")
        return self.model_.predict(self._validate_X(X, reset=False))

    def _loaded(self, model: Model) -> None:
        if model.task != "regress":
            raise ValueError("this model file holds a classifier: use BPNNClassifier.load")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


for _cls in (BPNNClassifier, BPNNRegressor):  # both document the shared parameters
    _cls.__doc__ = (_cls.__doc__ or "") + PARAMETERS
