"""Divergence that stays finite: an epoch's training loss over 1000 times the untrained
network's (``bpnn.watch.divergence_bound``) ends the run as a NaN loss does, in one line with
exit status 2, the last good checkpoint kept; healthy runs never trip it."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bpnn
from bpnn import TrainConfig
from bpnn.cli import main
from bpnn.data.split import Split
from bpnn.history import History, history_problem
from bpnn.modelfile import load_arrays
from bpnn.train import DivergenceError, Trainer
from conftest import REPO

SURVEY = REPO / "examples" / "survey.csv"


@pytest.mark.parametrize("preprocessing", [[], ["--preprocessing", "ple"]])
def test_a_run_diverging_to_finite_losses_ends_in_one_line_exit_2(tmp_path, capsys, preprocessing):
    # ran to "done" with losses of 2e5 (ln 2 untrained): ple's bounded inputs (the default on
    # a table) keep the loss finite
    out = tmp_path / "run"
    argv = ["train", "--data", str(SURVEY), "--target", "Sex", "--lr", "1e6", "--optimizer"]
    argv += ["sgd", *preprocessing, "--out", str(out), "--no-report"]
    assert main([*argv, "--epochs", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bpnn train: error: training diverged in epoch ")
    assert "times the untrained network's 0.6" in err[0] and "learning rate 1e+06" in err[0]
    assert "no checkpoint was saved before it" in err[0]
    assert not out.exists()  # no half-made run folder


def table_splits(n: int = 240):
    gen = np.random.default_rng(0)
    X = gen.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return Split(X[: n // 2], y[: n // 2]), Split(X[n // 2 :], y[n // 2 :])


def test_the_last_good_checkpoint_is_kept(tmp_path):
    train, val = table_splits()
    # ple: 16 bins a feature, each input within [0, 1]: the loss stays finite at lr 1e6
    cfg = TrainConfig(
        layers=[64, 8, 2],
        activation="relu",
        loss="cross_entropy",
        preprocessing="ple",
        optimizer="sgd",
        lr=0.1,
        epochs=2,
    )
    Trainer(cfg, train, val, None, tmp_path, progress=False).run()
    good, meta = load_arrays(tmp_path / "checkpoint.npz")
    untrained = meta["history"]["untrained_loss"]
    assert 0.5 < untrained < 1.0  # about ln 2
    t = Trainer.resume(tmp_path, train, val, None, changes={"epochs": 4}, progress=False)
    t.optimizer.lr = t.config.lr = 1e6
    with pytest.raises(DivergenceError, match=r"in epoch 3 \(loss .*, over 1000 times") as caught:
        t.run()
    assert f"the last good checkpoint in {tmp_path} is kept" in str(caught.value)
    kept, meta = load_arrays(tmp_path / "checkpoint.npz")
    assert meta["epoch"] == 2 and meta["history"]["untrained_loss"] == untrained
    for key in good:
        np.testing.assert_array_equal(good[key], kept[key])


@pytest.mark.parametrize("lr", [0.01, 1.0])
def test_regression_in_the_targets_units_is_healthy(lr):
    # unscaled targets (25 to 346): the loss is in their units squared, 14,400 untrained
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_diabetes(return_X_y=True)
    model = bpnn.fit(X, y, hidden=[16], epochs=30, target_scaling="none", lr=lr, seed=0)
    untrained = model.history.untrained_loss
    assert 1e4 < untrained < 2e4
    losses = [r["train_loss"] for r in model.history.epochs]
    assert len(losses) == 30 and max(losses) < untrained


def test_the_bound():
    from bpnn.watch import DIVERGENCE_FACTOR, divergence_bound

    assert divergence_bound(2.3) == pytest.approx(2300) and DIVERGENCE_FACTOR == 1000
    # a warm start near its optimum: its tiny loss is no scale, 1000 is the least bound
    assert divergence_bound(1e-6) == 1000
    assert divergence_bound(None) == math.inf  # a run resumed from an older checkpoint
    assert History.from_dict({"epochs": []}).untrained_loss is None
    assert history_problem({"epochs": [], "untrained_loss": "big"}) == (
        "untrained_loss must be a number, got 'big'"
    )


def test_weights_that_are_zero_where_the_loss_is_measured():
    # every 2nd sample weighs 0: the spread measured on (every 2nd of 1024) weighs nothing
    gen = np.random.default_rng(2)
    X = gen.normal(size=(1024, 3))
    y = (X[:, 0] > 0).astype(int)
    w = np.tile([0.0, 1.0], 512)
    cfg = TrainConfig(
        layers=[3, 4, 2], activation="relu", loss="cross_entropy", epochs=2, stop_on="train"
    )
    t = Trainer(cfg, Split(X, y, w), None, None, None, progress=False)
    t.run()
    assert 0.3 < t.history.untrained_loss < 3
