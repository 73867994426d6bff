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
has no effect.  Needs scikit-learn (``pip install 'bpnn[sklearn]'``).
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .activations import ACTIVATIONS as BPNN_ACTIVATIONS
from .activations import HIDDEN_ACTIVATIONS
from .device import DEVICES
from .errors import BpnnError
from .fitting import data_kind, prepare, resolve_settings
from .history import History
from .losses import LOSSES
from .model import Model
from .modelinfo import DataInfo
from .optim import SCHEDULES, Optimizer
from .preprocessing import KINDS
from .settings import TrainConfig
from .targets import Targets
from .train import Trainer

__all__ = ["BPNNClassifier", "BPNNRegressor", "expected_failed_checks"]

# scikit-learn's activation names -> bpnn's (bpnn's own names are accepted as they are)
ACTIVATIONS = {"logistic": "sigmoid", **{name: name for name in HIDDEN_ACTIVATIONS}}
SOLVERS = ("sgd", "adam")
AUTO_BATCH = 200  # batch_size="auto": min(200, n_samples), as scikit-learn
INPUT_DTYPES = (np.float64, np.float32, np.uint8)  # uint8 stays pixels (scaled by 1/255)


PARAMETERS = """
    Parameters (scikit-learn's names):
      hidden_layer_sizes: hidden units per layer, e.g. (100,) or (300, 100).
      activation: hidden activation: 'logistic' (= 'sigmoid') or any of bpnn's hidden
        activations ('relu', 'tanh', 'identity', ...: ``bpnn.activations.HIDDEN_ACTIVATIONS``).
      solver: 'adam' or 'sgd' (with ``momentum``; Nesterov's when ``nesterovs_momentum``).
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
      preprocessing: 'auto' (uint8 pixels: x / 255; else standardize), 'standardize',
        'scale' (x / 255), 'none'; stored in the model.
      dtype: 'float32' (fast) or 'float64'.
      device: 'cpu' (default), 'cuda' (an NVIDIA GPU through JAX, ``bpnn[gpu]``), 'auto'
        (cuda when usable) or 'jax-cpu'; threads: CPU threads (None: every core).
"""


class _BPNNBase(BaseEstimator):
    """What both estimators share: parameters (``PARAMETERS``), checking them, training, files."""

    _task = "classify"

    # fitted (by fit, partial_fit or load; absent before: check_is_fitted looks for model_)
    model_: Model
    history_: History
    loss_curve_: list[float]
    n_iter_: int
    t_: int
    best_loss_: float | None
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    _optimizer: Optimizer | None
    _seed_: int
    _calls: int

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate_init=0.001,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        momentum=0.9,
        nesterovs_momentum=True,
        random_state=None,
        warm_start=False,
        verbose=False,
        loss=None,
        output=None,
        targets=None,
        dropout=0.0,
        schedule="constant",
        preprocessing="auto",
        dtype="float32",
        device="cpu",
        threads=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.loss = loss
        self.output = output
        self.targets = targets
        self.dropout = dropout
        self.schedule = schedule
        self.preprocessing = preprocessing
        self.dtype = dtype
        self.device = device
        self.threads = threads

    # ---- checking the parameters ------------------------------------------------------
    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if not all(isinstance(s, numbers.Integral) and int(s) >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _check_params(self) -> None:
        """A ValueError naming the first parameter that is wrong."""

        def number(x, low, high=np.inf, low_open=False):
            return (
                isinstance(x, numbers.Real)
                and not isinstance(x, bool)
                and np.isfinite(x)
                and (x > low if low_open else x >= low)
                and x <= high
            )

        def integer(x, low):
            return isinstance(x, numbers.Integral) and not isinstance(x, bool) and x >= low

        checks = [
            (self.activation in ACTIVATIONS, "activation", f"one of {', '.join(ACTIVATIONS)}"),
            (self.solver in SOLVERS, "solver", "'adam' or 'sgd' (lbfgs is not supported)"),
            (number(self.alpha, 0), "alpha", "a number >= 0"),
            (
                self.batch_size == "auto" or integer(self.batch_size, 1),
                "batch_size",
                "'auto' or an integer >= 1",
            ),
            (
                number(self.learning_rate_init, 0, low_open=True),
                "learning_rate_init",
                "a number > 0",
            ),
            (integer(self.max_iter, 1), "max_iter", "an integer >= 1"),
            (number(self.tol, 0), "tol", "a number >= 0"),
            (integer(self.n_iter_no_change, 1), "n_iter_no_change", "an integer >= 1"),
            (isinstance(self.early_stopping, (bool, np.bool_)), "early_stopping", "True or False"),
            (
                number(self.validation_fraction, 0, 1, low_open=True)
                and self.validation_fraction < 1,
                "validation_fraction",
                "a number in (0, 1)",
            ),
            (number(self.momentum, 0, 1), "momentum", "a number in [0, 1]"),
            (
                isinstance(self.nesterovs_momentum, (bool, np.bool_)),
                "nesterovs_momentum",
                "True or False",
            ),
            (
                self.loss is None or self.loss in LOSSES,
                "loss",
                f"None or one of {', '.join(LOSSES)}",
            ),
            (
                self.output is None or self.output in (*ACTIVATIONS, *BPNN_ACTIVATIONS),
                "output",
                "None or an activation name",
            ),
            (number(self.dropout, 0, 1) and self.dropout < 1, "dropout", "a number in [0, 1)"),
            (self.schedule in SCHEDULES, "schedule", f"one of {', '.join(SCHEDULES)}"),
            (
                self.preprocessing in ("auto", *KINDS),
                "preprocessing",
                f"one of auto, {', '.join(KINDS)}",
            ),
            (self.dtype in ("float32", "float64"), "dtype", "'float32' or 'float64'"),
            (self.device in DEVICES, "device", f"one of {', '.join(DEVICES)}"),
            (
                self.threads is None or (integer(self.threads, 1)),
                "threads",
                "None or an integer >= 1",
            ),
        ]
        for ok, name, what in checks:
            if not ok:
                raise ValueError(
                    f"{type(self).__name__}: {name} must be {what}, got {getattr(self, name)!r}"
                )
        self._hidden()
        self._check_targets_param()

    def _optimizer_name(self) -> str:
        if self.solver == "adam":
            return "adam"
        if self.momentum == 0:
            return "sgd"
        return "nesterov" if self.nesterovs_momentum else "momentum"

    def _seed(self) -> int:
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    # ---- training ---------------------------------------------------------------------
    def _config(
        self, X, n_outputs: int, n_samples: int, *, epochs: int, incremental: bool, seed: int
    ) -> TrainConfig:
        batch = min(AUTO_BATCH, n_samples) if self.batch_size == "auto" else int(self.batch_size)
        early = self.early_stopping and not incremental
        settings = dict(
            task=self._task,
            layers=[X.shape[1], *self._hidden(), n_outputs],
            activation=ACTIVATIONS[self.activation],
            loss=self._loss(),
            output=ACTIVATIONS.get(self.output, self.output),
            optimizer=self._optimizer_name(),
            lr=float(self.learning_rate_init),
            momentum=float(self.momentum),
            weight_decay=float(self.alpha) / min(batch, n_samples),
            batch_size=batch,
            epochs=epochs,
            patience=int(self.n_iter_no_change),
            min_delta=float(self.tol),
            stop_on="val" if early else "loss",
            val_size=float(self.validation_fraction),
            test_fraction=0.0,
            eval_every=1,
            checkpoint_every=epochs,
            dropout=float(self.dropout),
            schedule=self.schedule,
            preprocessing=self.preprocessing,
            dtype=self.dtype,
            seed=seed,
            device=self.device,
            threads=self.threads,
        )
        settings.update(self._target_settings())
        return TrainConfig.from_dict(resolve_settings(X, np.zeros(len(X)), **settings))

    def _train(self, X, y, sample_weight, targets: Targets, *, incremental: bool) -> None:
        """Fit (or continue: ``incremental`` = one epoch of partial_fit, or a warm start)."""
        fitted = hasattr(self, "model_")
        warm = fitted and (incremental or self.warm_start)
        calls = getattr(self, "_calls", 0) if warm else 0
        base_seed = self._seed_ if warm else self._seed()
        config = self._config(
            X,
            targets.n_outputs,
            len(X),
            epochs=1 if incremental else self.max_iter,
            incremental=incremental,
            seed=(base_seed + calls) % 2**32,
        )
        try:
            run = prepare(X, y, config=config, sample_weight=sample_weight)
            model = self.model_ if warm else None
            trainer = Trainer(
                run.config,
                run.train,
                run.val,
                None,
                None,
                targets=targets,
                preprocessing=model.preprocessing if model else None,
                data=DataInfo("scikit-learn", kind=data_kind(X), **self._feature_names()).to_dict(),
                log=print if self.verbose else None,
                progress=False,
                net=model.net if model else None,
                optimizer=self._optimizer if warm and incremental else None,
            )
            results = trainer.run()
        except BpnnError as exc:  # scikit-learn reports bad data as ValueError
            raise ValueError(str(exc)) from None
        self._record(trainer, results, warm, len(run.train))
        self._seed_, self._calls = base_seed, calls + 1

    def _record(self, trainer: Trainer, results: dict, warm: bool, n_train: int) -> None:
        h = trainer.history
        self.model_ = trainer.model({"results": results})
        self._optimizer = trainer.optimizer
        losses = [e["train_loss"] for e in h.epochs]
        self.loss_curve_ = (self.loss_curve_ if warm else []) + losses
        self.n_iter_ = (self.n_iter_ if warm else 0) + len(losses)
        self.t_ = (self.t_ if warm else 0) + len(losses) * n_train
        self.best_loss_ = min(self.loss_curve_)
        if trainer.config.stop_on == "val":
            self.validation_scores_ = [
                self._score_from_error(e["val_error"], trainer) for e in h.epochs
            ]
            self.best_validation_score_ = max(self.validation_scores_)
        else:
            self.validation_scores_ = self.best_validation_score_ = None
        self.history_ = h

    def _feature_names(self) -> dict:
        names = getattr(self, "feature_names_in_", None)
        return {} if names is None else {"feature_names": [str(n) for n in names]}

    def _validate_X(self, X, reset: bool):
        return validate_data(self, X, reset=reset, dtype=INPUT_DTYPES)

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.outputs(self._validate_X(X, reset=False))

    # ---- files and attributes ---------------------------------------------------------
    def expected_failed_checks(self) -> dict:
        """{check name: reason}: scikit-learn's conformance checks this estimator cannot pass."""
        return expected_failed_checks(self)

    @property
    def coefs_(self) -> list:
        """Weight matrices (n_in, n_out) per layer, as scikit-learn's MLP holds them."""
        check_is_fitted(self, "model_")
        return [layer.W.T for layer in self.model_.net.layers]

    @property
    def intercepts_(self) -> list:
        check_is_fitted(self, "model_")
        return [layer.b for layer in self.model_.net.layers]

    def save(self, path) -> None:
        """Write the fitted model as a bpnn model file (``bpnn evaluate/serve/report/info``)."""
        check_is_fitted(self, "model_")
        self.model_.save(path)

    @classmethod
    def load(cls, path):
        """A fitted estimator from a bpnn model file (written by ``save`` or ``bpnn train``)."""
        model = Model.load(path)
        net, config = model.net, model.meta.get("config") or {}
        est = cls(
            hidden_layer_sizes=tuple(net.sizes[1:-1]),
            activation=net.activation,
            loss=net.loss_name,
            output=net.output,
            dtype=net.dtype.name,
            **cls._params_from_config(config),
        )
        est.model_, est.n_features_in_ = model, net.n_inputs
        names = (model.meta.get("data") or {}).get("feature_names")
        if names is not None:
            est.feature_names_in_ = np.asarray(names, dtype=object)
        results = model.meta.get("results") or {}
        est.n_iter_, est.t_, est.loss_curve_ = int(results.get("epochs") or 0), 0, []
        est.best_loss_ = est.validation_scores_ = est.best_validation_score_ = None
        est._optimizer, est._seed_, est._calls = None, int(config.get("seed", 0)), 1
        est._loaded(model)
        return est

    @staticmethod
    def _params_from_config(config: dict) -> dict:
        """Estimator parameters that a bpnn training configuration records."""
        out: dict = {}
        if config.get("optimizer") in ("sgd", "momentum", "nesterov", "adam"):
            out["solver"] = "adam" if config["optimizer"] == "adam" else "sgd"
            out["momentum"] = 0.0 if config["optimizer"] == "sgd" else config.get("momentum", 0.9)
            out["nesterovs_momentum"] = config["optimizer"] == "nesterov"
        for key, name in (
            ("lr", "learning_rate_init"),
            ("batch_size", "batch_size"),
            ("epochs", "max_iter"),
            ("seed", "random_state"),
            ("schedule", "schedule"),
        ):
            if key in config:
                out[name] = config[key]
        return out


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
        self.classes_ = classes
        return y, Targets("classify", classes=classes)

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
        X, y = validate_data(self, X, y, reset=not warm, dtype=INPUT_DTYPES, multi_output=True)
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
        X, y = validate_data(self, X, y, reset=first, dtype=INPUT_DTYPES, multi_output=True)
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
    units) or 'none'.  y: (n,) or (n, k) values.  Fitted: as ``BPNNClassifier`` without
    ``classes_``; ``validation_scores_`` are R^2 (1 - MSE / variance, pooled over targets).
    """

    _task = "regress"

    def _check_targets_param(self) -> None:
        if self.targets not in (None, "standardize", "none"):
            raise ValueError(
                "BPNNRegressor: targets must be None, 'standardize' or 'none', "
                f"got {self.targets!r}"
            )

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
        X, y = validate_data(
            self, X, y, reset=reset, dtype=INPUT_DTYPES, multi_output=True, y_numeric=True
        )
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


# scikit-learn conformance checks that cannot pass, and why (README "scikit-learn and ONNX").
_FAILS = {
    "check_sample_weight_equivalence_on_dense_data": "sample weights weigh each shuffled "
    "mini-batch's mean loss: repeating a sample changes the "
    "batches (and the epoch length), so weight 2 is not the same as the sample twice",
}


_FLOAT32_FAILS = {
    "check_methods_subset_invariance": "float32 matrix products round differently for "
    "different numbers of rows (BLAS blocking), "
    "so a prediction may differ from the same row's in a larger batch by 1e-7 relative, "
    "more than the check's 1e-7 absolute tolerance; with dtype='float64' it passes",
}


for _cls in (BPNNClassifier, BPNNRegressor):  # both document the shared parameters
    _cls.__doc__ = (_cls.__doc__ or "") + PARAMETERS


def expected_failed_checks(estimator) -> dict:
    """{check name: reason} for ``parametrize_with_checks(..., expected_failed_checks=...)``."""
    fails = dict(_FAILS)
    if isinstance(estimator, BPNNRegressor) and estimator.dtype == "float32":
        fails.update(_FLOAT32_FAILS)
    return fails
