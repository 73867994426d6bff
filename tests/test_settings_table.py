"""The settings table drives every front end: the CLI's options and help, the checks (TrainConfig,
a sweep spec, the estimators), the estimators' mapping; and a run round-trips through all of them."""

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest

from bpnn.cli import build_parser
from bpnn.errors import BpnnError
from bpnn.settings import HIDDEN, RESUMABLE, SETTINGS, TrainConfig
from bpnn.sweep.spec import parse_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_every_field_has_one_row():
    assert [s.name for s in SETTINGS] == [f.name for f in dataclasses.fields(TrainConfig)]
    assert RESUMABLE == ("epochs", "patience", "min_delta", "checkpoint_every", "device", "threads")
    for s in SETTINGS:
        assert s.help and s.must, s.name
        default = getattr(TrainConfig(), s.name)
        assert s.refuse(default) is None, f"{s.name}'s default breaks its own constraint"


def train_help() -> str:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices["train"].format_help()


def test_the_cli_options_and_help_come_from_the_table():
    text = " ".join(train_help().split())
    for s in (HIDDEN, *SETTINGS):
        if s.parse is None:
            continue
        assert s.flag in text, s.name
        assert " ".join(s.help.split())[:40] in text, f"{s.name}'s help is not the table's"


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"dropout": 1.5}, "dropout must be a number in [0, 1)"),
        ({"momentum": 7}, "momentum must be a number in [0, 1)"),
        ({"weight_decay": -1}, "weight-decay must be a number >= 0"),
        ({"min_delta": float("nan")}, "min-delta must be a number >= 0"),
        ({"threads": 0}, "threads must be None or a whole number >= 1"),
        ({"val_size": 1.5}, "val-size must be a count >= 0 or a fraction in [0, 1)"),
        ({"init": "zeros"}, "init must be one of uniform, xavier, he"),
        ({"lr": "fast"}, "lr must be a positive number, got 'fast'"),
    ],
)
def test_a_bad_value_is_refused_when_made_naming_the_setting(settings, says):
    with pytest.raises(ValueError) as caught:
        TrainConfig(**settings)
    assert str(caught.value).startswith(says)


def test_a_sweep_refuses_what_a_run_would_before_any_trial_runs():
    with pytest.raises(BpnnError, match=r"dropout must be a number in \[0, 1\)"):
        parse_spec({"base": {"epochs": 2}, "search": {"dropout": [0.1, 1.2]}})
    with pytest.raises(BpnnError, match="momentum must be"):
        parse_spec({"search": {"momentum": [0.5, 7]}})
    spec = parse_spec({"base": {"hidden": 8}, "search": {"lr": [0.1, 0.2]}})  # 8 -> [8]
    assert [t.settings["lr"] for t in spec.make_trials()] == [0.1, 0.2]


def test_the_cli_refuses_a_bad_value_in_one_line(capsys, tmp_path):
    from conftest import run_cli

    code, _, err = run_cli(capsys, "train", "--data", EXAMPLES / "iris.csv", "--dropout", "1.2")
    assert code == 2 and err.strip().endswith(
        "dropout must be a number in [0, 1), or a list of them, got 1.2"
    )
    code, _, err = run_cli(capsys, "train", "--data", EXAMPLES / "iris.csv", "--epochs", "x")
    assert code == 2 and "--epochs" in err and len(err.strip().splitlines()) == 1


# ---- the estimators ----------------------------------------------------------------------------
sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402

from bpnn.sklearn import SAME, BPNNClassifier, BPNNRegressor  # noqa: E402


@pytest.mark.parametrize("cls", [BPNNClassifier, BPNNRegressor])
def test_every_estimator_parameter_of_the_table_is_in_its_signature(cls):
    params = inspect.signature(cls.__init__).parameters
    assert set(SAME.values()) <= set(params)
    est = cls(dropout=1.2)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\)"):
        est.fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="learning_rate_init must be a positive number"):
        cls(learning_rate_init=0).fit(np.zeros((4, 2)), [0, 1, 0, 1])


def weights(model):
    return [p.copy() for p in model.net.params()]


def same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_a_saved_estimator_loads_with_its_parameters(tmp_path):
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    est = BPNNClassifier(
        (12,),
        alpha=0.05,
        dropout=0.3,
        early_stopping=True,
        validation_fraction=0.2,
        preprocessing="none",
        batch_size=32,
        max_iter=6,
        random_state=5,
        init="xavier",
        schedule="step",
        lr_step=2,
        lr_gamma=0.5,
    ).fit(X, y)
    est.save(tmp_path / "model.npz")
    loaded = BPNNClassifier.load(tmp_path / "model.npz")
    assert loaded.get_params() == est.get_params()
    same_weights(weights(clone(loaded).fit(X, y).model_), weights(est.model_))


def test_regressor_round_trip(tmp_path):
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    est = BPNNRegressor(
        (8,),
        solver="sgd",
        momentum=0.8,
        alpha=1e-3,
        batch_size=16,
        max_iter=4,
        random_state=2,
        targets="none",
        activation="tanh",
    ).fit(X, y)
    est.save(tmp_path / "model.npz")
    loaded = BPNNRegressor.load(tmp_path / "model.npz")
    assert loaded.get_params() == est.get_params()
    same_weights(weights(clone(loaded).fit(X, y).model_), weights(est.model_))


@pytest.mark.parametrize(
    "cls, argv",
    [
        (
            BPNNClassifier,
            [
                "--data",
                EXAMPLES / "iris.csv",
                "--hidden",
                "8",
                "--dropout",
                "0.1",
                "--weight-decay",
                "0.001",
                "--batch-size",
                "16",
                "--val-size",
                "0.2",
                "--patience",
                "3",
                "--init",
                "xavier",
            ],
        ),
        (
            BPNNRegressor,
            [
                "--data",
                EXAMPLES / "diabetes.csv",
                "--target",
                "progression",
                "--task",
                "regress",
                "--hidden",
                "16",
                "--optimizer",
                "nesterov",
                "--lr",
                "0.01",
                "--momentum",
                "0.8",
                "--batch-size",
                "32",
                "--stop-on",
                "loss",
            ],
        ),
    ],
)
def test_cli_config_model_file_estimator_clone_same_weights(cls, argv, capsys, tmp_path):
    """CLI -> config -> model file -> the estimator's get_params -> clone -> the same weights."""
    from bpnn.data.sources import load_source
    from conftest import run_cli

    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys,
        "train",
        *argv,
        "--epochs",
        "8",
        "--seed",
        "4",
        "--test-fraction",
        "0",
        "--out",
        out,
        "--no-report",
    )
    assert code == 0, err
    est = cls.load(out / "model.npz")
    target = "progression" if cls is BPNNRegressor else None
    data = load_source(argv[1], target=target)
    again = clone(est).fit(data.X_train, data.y_train)
    same_weights(weights(again.model_), weights(est.model_))
