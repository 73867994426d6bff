"""The tabular defaults (README "The defaults"): chosen on the suite of real tables
(benchmarks/tabular_suite.py); the image defaults, and so MNIST's runs, unchanged."""

import numpy as np

import bpnn
from bpnn.prepare import PLE_MAX_INPUTS, resolve_settings
from bpnn.settings import defaults

IMAGE = {  # the image defaults before the tabular ones were re-chosen
    "classify": dict(hidden=[300], optimizer="momentum", lr=0.1, batch_size=128, epochs=20),
    "regress": dict(hidden=[300], optimizer="adam", lr=0.001, batch_size=128, epochs=50),
}


def test_image_defaults_unchanged():
    for task, row in IMAGE.items():
        d = defaults("image", task)
        assert {k: d[k] for k in row} == row
        assert d["preprocessing"] == "auto" and d["dropout"] == 0.0 and d["average"] == 0.0
        assert d["min_delta"] == 0.0


def test_tabular_defaults():
    c, r = defaults("tabular", "classify"), defaults("tabular", "regress")
    assert (c["preprocessing"], c["dropout"]) == ("ple", 0.2)
    assert (r["preprocessing"], r["dropout"]) == ("auto", 0.3)
    assert (c["hidden"], r["hidden"]) == ([100], [200])
    assert (c["average"], r["average"]) == (0.0, 0.9)  # weights averaged on regression tables
    assert (c["min_delta"], r["min_delta"]) == (0.003, 0.0)  # (the loss; the RMSE has units)
    assert (c["patience"], r["patience"]) == (10, 20)


def test_a_tiny_classification_table_waits_for_at_least_min_patience_steps():
    """Patience 10 on classification tables, but at least MIN_PATIENCE_STEPS batches' worth of
    evaluations: 4 rows (one batch an epoch) wait 100, 200 rows in batches of 32 (7) 15; a
    patience given, a regression table's and an image's stay."""
    from bpnn.prepare import MIN_PATIENCE_STEPS

    gen = np.random.default_rng(3)
    assert MIN_PATIENCE_STEPS == 100

    def patience(n, **kw):
        X = gen.normal(size=(n, 2)) if kw.pop("kind", "") != "image" else np.zeros((n, 4), np.uint8)
        return resolve_settings(X, np.arange(n) % 2, **kw)["patience"]

    assert patience(4) == 100 and patience(200) == 15 and patience(5000) == 10
    assert patience(100) == 25 and patience(100, eval_every=2) == 13  # (counts evaluations)
    assert patience(4, patience=3) == 3 and patience(4, task="regress") == 20
    assert patience(4, kind="image") == 5 and patience(4, preset="fast") == 4


def test_the_floor_leaves_bad_values_to_their_own_message_and_large_tables_their_20():
    import pytest

    from bpnn.errors import BpnnError
    from bpnn.prepare import LARGE_TABLE_ROWS

    gen = np.random.default_rng(4)
    X, y = gen.normal(size=(60, 2)), np.arange(60) % 2
    for bad in ("big", float("nan"), float("inf"), [32], True):
        with pytest.raises((ValueError, BpnnError), match="batch.size"):
            bpnn.fit(X, y, batch_size=bad, epochs=1)
    with pytest.raises((ValueError, BpnnError), match="eval.every"):
        bpnn.fit(X, y, eval_every=float("inf"), epochs=1)
    big = gen.normal(size=(LARGE_TABLE_ROWS, 2))
    assert resolve_settings(big, np.arange(LARGE_TABLE_ROWS) % 2)["patience"] == 20
    assert resolve_settings(big, np.arange(LARGE_TABLE_ROWS) % 2, patience=7)["patience"] == 7


def test_xor_learns_with_the_defaults_patience():
    """The case the floor is for: XOR's four rows, tanh, rate 0.05 (10 evaluations stopped it
    while its error still fell)."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0])
    model = bpnn.fit(X, y, hidden=[8], activation="tanh", lr=0.05, epochs=400, test_fraction=0)
    assert model.info.config["patience"] == 100
    assert (model.predict(X) == y).all()


def test_ple_by_default_on_a_table_and_standardize_on_a_wide_one():
    gen = np.random.default_rng(0)
    y = gen.integers(0, 2, 50)
    narrow = resolve_settings(gen.normal(size=(50, 5)), y)
    assert narrow["preprocessing"] == "ple" and narrow["layers"] == [80, 100, 2]
    wide = gen.normal(size=(50, PLE_MAX_INPUTS // 16 + 1))
    assert resolve_settings(wide, y)["preprocessing"] == "standardize"
    asked = resolve_settings(wide, y, preprocessing="ple", bins=2)
    assert asked["preprocessing"] == "ple" and asked["layers"][0] == 2 * wide.shape[1]
    pixels = resolve_settings(np.zeros((50, 5), np.uint8), y)
    assert pixels["preprocessing"] == "auto" and pixels["dropout"] == 0.0


def test_fit_uses_them():
    gen = np.random.default_rng(1)
    X = gen.normal(size=(120, 3))
    model = bpnn.fit(X, (X[:, 0] > 0).astype(int), epochs=2)
    assert model.preprocessing.kind == "ple" and model.net.sizes == [48, 100, 2]
    assert model.info.config["dropout"] == 0.2


def test_a_large_table_has_no_dropout_and_regresses_on_ple_inputs():
    from bpnn.prepare import LARGE_TABLE_ROWS

    gen = np.random.default_rng(2)
    X = gen.normal(size=(LARGE_TABLE_ROWS, 3))
    y, labels = X[:, 0], (X[:, 0] > 0).astype(int)
    large, small = resolve_settings(X, y), resolve_settings(X[:-1], y[:-1])
    assert (large["dropout"], small["dropout"]) == (0.0, 0.3)
    assert (large["preprocessing"], small["preprocessing"]) == ("ple", "auto")
    assert (large["layers"], small["layers"]) == ([3 * 16, 100, 1], [3, 200, 1])  # ple: 16 bins
    assert (large["batch_size"], large["lr"], small["batch_size"], small["lr"]) == (
        128,
        0.002,
        32,
        0.001,
    )
    assert (large["patience"], small["patience"]) == (15, 20)
    assert resolve_settings(X, y, patience=30)["patience"] == 30  # (yours stays)
    classes, few = resolve_settings(X, labels), resolve_settings(X[:-1], labels[:-1])
    assert (classes["dropout"], few["dropout"]) == (0.0, 0.2)
    assert (classes["batch_size"], classes["lr"]) == (32, 0.001)  # (measured on regression)
    # the large-table rate goes with its batch size and Adam: not with a batch or optimiser given
    assert resolve_settings(X, y, batch_size=32)["lr"] == 0.001
    assert resolve_settings(X, y, optimizer="adam")["lr"] == 0.001
    assert (
        resolve_settings(X, y, optimizer="momentum")["lr"] == defaults("tabular", "regress")["lr"]
    )
    assert resolve_settings(X, y, batch_size=64, lr=0.05)["lr"] == 0.05
    assert classes["preprocessing"] == few["preprocessing"] == "ple"  # as on every table
    assert classes["layers"] == few["layers"] == [48, 100, 2]
    asked = resolve_settings(X, y, dropout=0.1, preprocessing="standardize", hidden=[7])
    assert (asked["dropout"], asked["preprocessing"]) == (0.1, "standardize")  # kept
    assert asked["layers"] == [3, 7, 1]
    pixels = resolve_settings((X > 0).astype(np.uint8), y)  # an image's regression: as it was
    assert (pixels["preprocessing"], pixels["dropout"]) == ("auto", 0.0)


def test_given_layers_keep_a_large_tables_inputs_and_a_limit_counts_its_rows():
    from bpnn.prepare import LARGE_TABLE_ROWS

    X = np.random.default_rng(6).normal(size=(LARGE_TABLE_ROWS, 3))
    shaped = resolve_settings(X, X[:, 0], layers=[3, 50, 1])  # the raw width: no ple
    assert (shaped["preprocessing"], shaped["layers"], shaped["dropout"]) == (
        "auto",
        [3, 50, 1],
        0.0,
    )
    model = bpnn.fit(X, X[:, 0], layers=[3, 5, 1], epochs=1)
    assert model.net.sizes == [3, 5, 1] and model.preprocessing.kind == "standardize"
    lines: list[str] = []
    small = bpnn.fit(X, X[:, 0], limit=500, epochs=1, log=lines.append)  # trains on 500 rows
    assert small.net.sizes == [3, 200, 1] and small.info.config["dropout"] == 0.3
    assert any("settings: defaults for tabular data" in x for x in lines)


def test_the_log_says_the_large_table_defaults_apply():
    from bpnn.prepare import LARGE_TABLE_ROWS

    X = np.random.default_rng(5).normal(size=(LARGE_TABLE_ROWS, 2))
    lines: list[str] = []
    model = bpnn.fit(X, X[:, 0] * X[:, 1], epochs=1, log=lines.append)
    assert model.preprocessing.kind == "ple" and model.net.sizes == [32, 100, 1]
    assert any("settings: defaults for a large table (20,000 rows or more" in x for x in lines)
    small: list[str] = []
    bpnn.fit(X[:100], X[:100, 0], epochs=1, log=small.append)
    assert any("settings: defaults for tabular data" in x for x in small)


def test_the_estimators_keep_scikit_learns_way():
    """The regressor trains as scikit-learn's MLP does: no weight average (a table's default)."""
    from bpnn.sklearn import BPNNRegressor

    gen = np.random.default_rng(3)
    X = gen.normal(size=(80, 3))
    reg = BPNNRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, X[:, 0])
    assert "average" not in reg.model_.info.config  # (0: written as before)
    assert BPNNRegressor(average=0.9).get_params()["average"] == 0.9


def test_min_delta_default_only_for_the_validation_loss():
    """0.003 is a step of the validation loss: a run that watches the error rate, or stops on
    the training loss, gets 0 (a min_delta given stays)."""
    gen = np.random.default_rng(4)
    X, y = gen.normal(size=(60, 3)), gen.integers(0, 2, 60)
    assert resolve_settings(X, y)["min_delta"] == 0.003  # monitor val_loss, stop on val
    assert resolve_settings(X, y, monitor="val_error")["min_delta"] == 0.0
    assert resolve_settings(X, y, stop_on="loss")["min_delta"] == 0.0
    assert resolve_settings(X, y, stop_on="loss", min_delta=0.01)["min_delta"] == 0.01


def test_average_default_only_when_stopping_on_the_validation_split():
    """Regression tables average the weights by default when the validation split judges
    them; stopping on the training loss averages nothing unless asked."""
    gen = np.random.default_rng(5)
    X = gen.normal(size=(60, 3))
    y = X[:, 0]
    assert resolve_settings(X, y)["average"] == 0.9
    assert resolve_settings(X, y, stop_on="loss")["average"] == 0.0
    assert resolve_settings(X, y, stop_on="loss", average=0.5)["average"] == 0.5
