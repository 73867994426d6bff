"""What both scikit-learn estimators share (``_BPNNBase``): their parameters, checked by the
settings table (``bpnn.settings``) and mapped onto a ``TrainConfig``, training through the runs
layer (``bpnn.runs``), and model files (``save``/``load``, with the parameters recorded).

Not here: the classifier and the regressor themselves (``bpnn.sklearn.estimators``).
(Past 400 lines: the parameters' checks and their mapping to settings both ways read as one;
DataFrames of raw columns are encoded in ``bpnn.sklearn.frames``.)
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from .. import runs
from ..activations import HIDDEN_ACTIVATIONS
from ..committees import CommitteeTrainer
from ..errors import BpnnError
from ..history import History
from ..model import Model
from ..optim import Optimizer
from ..preprocessing import input_width
from ..settings import SETTINGS, TrainConfig
from ..targets import Targets
from ..train import Trainer
from . import frames

__all__ = [
    "AUTO_BATCH",
    "INPUT_DTYPES",
    "SAME",
    "_BPNNBase",
    "expected_failed_checks",
]

# scikit-learn's activation name -> bpnn's (bpnn's own names are accepted as they are)
ALIASES = {"logistic": "sigmoid"}
ACTIVATIONS = {**ALIASES, **{name: name for name in HIDDEN_ACTIVATIONS}}  # the hidden ones
# The settings whose estimator parameter means the same (the settings table's ``sklearn``):
# setting name -> parameter name.  The others are made from several parameters (``_config``).
SAME = {s.name: s.sklearn for s in SETTINGS if s.sklearn}
SOLVERS = ("sgd", "adam", "adamw")
AUTO_BATCH = 200  # batch_size="auto": min(200, n_samples), as scikit-learn
INPUT_DTYPES = (np.float64, np.float32, np.uint8)  # uint8 stays pixels (scaled by 1/255)


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
        init="he",
        augment=0,
        lr_gamma=0.95,
        lr_step=10,
        monitor="val_error",
        n_ensemble=1,
        callbacks=None,
        average=0.0,
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
        self.init = init
        self.augment = augment
        self.lr_gamma = lr_gamma
        self.lr_step = lr_step
        self.monitor = monitor
        self.n_ensemble = n_ensemble
        self.callbacks = callbacks
        self.average = average

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
        """A ValueError naming the first parameter that is wrong: the settings table's checks for
        the parameters that are settings (``SAME``), then the estimator's own."""
        name = type(self).__name__
        for setting, value in self._same_settings().items():
            if setting in ("loss", "output") and value is None:
                continue  # the task's default
            reason = _setting(setting).refuse(value)
            if reason:
                raise ValueError(
                    f"{name}: {SAME[setting]} must be {_setting(setting).must}, "
                    f"got {getattr(self, SAME[setting])!r}"
                )

        def number(x, low, high=np.inf, low_open=False):
            return (
                isinstance(x, numbers.Real)
                and not isinstance(x, bool)
                and np.isfinite(x)
                and (x > low if low_open else x >= low)
                and x <= high
            )

        checks = [
            (
                self.solver in SOLVERS,
                "solver",
                "'adam', 'adamw' or 'sgd' (lbfgs is not supported)",
            ),
            (number(self.alpha, 0), "alpha", "a number >= 0"),
            (
                self.batch_size == "auto"
                or (isinstance(self.batch_size, numbers.Integral) and int(self.batch_size) >= 1),
                "batch_size",
                "'auto' or an integer >= 1",
            ),
            (isinstance(self.early_stopping, (bool, np.bool_)), "early_stopping", "True or False"),
            (
                number(self.validation_fraction, 0, 1, low_open=True)
                and self.validation_fraction < 1,
                "validation_fraction",
                "a number in (0, 1)",
            ),
            (
                isinstance(self.nesterovs_momentum, (bool, np.bool_)),
                "nesterovs_momentum",
                "True or False",
            ),
        ]
        for ok, param, what in checks:
            if not ok:
                raise ValueError(f"{name}: {param} must be {what}, got {getattr(self, param)!r}")
        self._hidden()
        self._check_targets_param()

    def _same_settings(self) -> dict:
        """The settings whose parameter means the same, in bpnn's terms (``logistic`` is
        ``sigmoid``)."""
        return {
            setting: ALIASES.get(v, v) if isinstance(v, str) else v
            for setting, v in ((setting, getattr(self, p)) for setting, p in SAME.items())
        }

    def _optimizer_name(self) -> str:
        if self.solver in ("adam", "adamw"):
            return self.solver
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
        settings = {
            **self._same_settings(),
            "task": self._task,
            "layers": [input_width(self.preprocessing, X.shape[1]), *self._hidden(), n_outputs],
            "loss": self._loss(),
            "optimizer": self._optimizer_name(),
            "weight_decay": float(self.alpha) / min(batch, n_samples),
            "batch_size": batch,
            "epochs": epochs,
            "stop_on": "val" if early else "loss",
            "val_size": float(self.validation_fraction),
            "test_fraction": 0.0,
            "eval_every": 1,
            "checkpoint_every": epochs,
            "seed": seed,
            **self._target_settings(),
        }
        # (the layers come from this estimator's targets: classes_ may hold unseen labels)
        return runs.configure(runs.RunData.from_arrays(X, np.zeros(len(X))), settings, check=False)

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
            model = self.model_ if warm else None
            data = runs.RunData.from_arrays(X, y, source="scikit-learn", **self._feature_names())
            trainer = runs.start(
                data,
                config,
                None,
                sample_weight=sample_weight,
                targets=targets,
                preprocessing=model.preprocessing if model else None,
                log=print if self.verbose else None,
                progress=False,
                net=model.net if model else None,
                optimizer=self._optimizer if warm and incremental else None,
                callbacks=list(self.callbacks or []),
            )
            self._continue_average(trainer, warm)
            results = trainer.run()
        except BpnnError as exc:  # scikit-learn reports bad data as ValueError
            raise ValueError(str(exc)) from None
        self._record(trainer, results, warm, len(trainer.train))
        self._averaged = None  # (the average and own weights, for the next warm fit)
        if isinstance(trainer, Trainer) and trainer.final_params is not None:
            self._averaged = (trainer.state.average, trainer.final_params)
        self._seed_, self._calls = base_seed, calls + 1

    def _continue_average(self, trainer: Trainer | CommitteeTrainer, warm: bool) -> None:
        """A warm or incremental fit with ``average`` goes on with the last fit's average, and
        from that fit's own weights rather than the averaged ones it kept, as one longer run
        would (a new run state begins no average: one-epoch partial_fit calls never averaged)."""
        carried = getattr(self, "_averaged", None) if warm and self.average else None
        if carried is not None and isinstance(trainer, Trainer):
            average, own = carried
            trainer.state.average = [a.copy() for a in average]
            trainer.state.net.set_params(own)

    def _record(
        self, trainer: Trainer | CommitteeTrainer, results: dict, warm: bool, n_train: int
    ) -> None:
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
        schema = getattr(self, "_schema", None)
        if schema is not None:  # the network's inputs are the encoded ones
            return {"feature_names": schema.inputs(), "schema": schema.to_dict()}
        names = getattr(self, "feature_names_in_", None)
        return {} if names is None else {"feature_names": [str(n) for n in names]}

    def _validate_X(self, X, reset: bool):
        schema = None if reset or not hasattr(self, "model_") else self.model_.schema
        if schema is not None:  # raw columns by name: encoded, so counted by the schema
            return frames.encode(schema, X)
        return validate_data(self, X, reset=reset, dtype=INPUT_DTYPES)

    def _validate_Xy(self, X, y, reset: bool, **checks) -> tuple:
        """(X (n, d), y) checked as scikit-learn does; a DataFrame of raw columns (categories,
        gaps) encoded by a schema fitted on it (``reset``) or by the model's."""
        if reset:
            self._schema = frames.fit_schema(X) if frames.needs_schema(X) else None
        schema = self._schema if reset else getattr(self, "model_", None) and self.model_.schema
        if schema is None:
            return validate_data(self, X, y, reset=reset, dtype=INPUT_DTYPES, **checks)
        X, y = validate_data(self, frames.encode(schema, X), y, dtype=INPUT_DTYPES, **checks)
        self.n_features_in_ = len(schema.names)  # the raw columns, as scikit-learn counts them
        self.feature_names_in_ = np.asarray(schema.names, dtype=object)
        return X, y

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
        net, config = model.net, model.info.config
        est = cls(
            hidden_layer_sizes=tuple(net.sizes[1:-1]),
            activation=net.activation,
            dtype=net.dtype.name,
            **cls._params_from_config(config),
            **cls._params_from_network(net, config),
        )
        est.model_, est.n_features_in_ = model, model.n_features
        names = model.info.data.feature_names
        if model.schema is not None:  # it takes raw columns
            names = model.schema.names
            est.n_features_in_ = len(names)
        if names is not None:
            est.feature_names_in_ = np.asarray(names, dtype=object)
        results = model.info.results
        est.n_iter_, est.t_, est.loss_curve_ = int(results.get("epochs") or 0), 0, []
        est.best_loss_ = est.validation_scores_ = est.best_validation_score_ = None
        est._optimizer, est._seed_, est._calls = None, int(config.get("seed", 0)), 1
        est._loaded(model)
        return est

    @staticmethod
    def _params_from_config(config: dict) -> dict:
        """Estimator parameters that a bpnn training configuration records: the settings
        table's one-to-one parameters, and those made from several settings."""
        out = {SAME[k]: v for k, v in config.items() if k in SAME and k not in _FROM_NETWORK}
        if config.get("optimizer") in ("sgd", "momentum", "nesterov", "adam", "adamw"):
            adam = config["optimizer"] in ("adam", "adamw")
            out["solver"] = config["optimizer"] if adam else "sgd"
            out["momentum"] = 0.0 if config["optimizer"] == "sgd" else config.get("momentum", 0.9)
            if config["optimizer"] in ("momentum", "nesterov"):  # (else it has no say)
                out["nesterovs_momentum"] = config["optimizer"] == "nesterov"
        if "batch_size" in config:
            out["batch_size"] = config["batch_size"]
            # alpha / batch is the weight decay; 12 digits undo the division's rounding
            out["alpha"] = float(f"{config.get('weight_decay', 0.0) * config['batch_size']:.12g}")
        if config.get("stop_on") in ("val", "loss"):
            out["early_stopping"] = config["stop_on"] == "val"
        if 0 < config.get("val_size", 0) < 1:
            out["validation_fraction"] = config["val_size"]
        if "seed" in config:
            out["random_state"] = config["seed"]
        return out

    @classmethod
    def _params_from_network(cls, net, config: dict) -> dict:
        """loss, output and targets: None where they are the estimator's defaults."""
        loss = None if net.loss_name == cls._default_loss else net.loss_name
        default_output = "identity" if cls._task == "regress" else None
        output = net.output if loss or net.output != (default_output or net.output) else None
        return {"loss": loss, "output": output, "targets": cls._targets_from_config(config)}


# What the network itself records (its activation, loss, output and dtype): taken from it.
_FROM_NETWORK = ("activation", "loss", "output", "dtype")


def _setting(name: str):
    return next(s for s in SETTINGS if s.name == name)


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


def expected_failed_checks(estimator) -> dict:
    """{check name: reason} for ``parametrize_with_checks(..., expected_failed_checks=...)``."""
    fails = dict(_FAILS)
    if estimator._task == "regress" and estimator.dtype == "float32":
        fails.update(_FLOAT32_FAILS)
    return fails
