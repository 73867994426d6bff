"""Any data set, from the library and the CLI: CSV, .npz, IDX of any size, classification with
integer or text labels, regression; exact batches; resume refusing changed settings."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import bpnn
from bpnn import fast
from bpnn.data.split import Split


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def blobs(n, rng, labels=("setosa", "versicolor", "virginica")):
    """Three well separated 2-D clusters with text labels: (X (n, 2), y (n,) str)."""
    k = rng.integers(0, len(labels), size=n)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    X = centres[k] + rng.normal(0, 0.5, size=(n, 2))
    return X, np.array(labels)[k]


def linear_data(n, rng):
    """y = 3 x0 - 2 x1 + 0.5 + noise(0.05): (X (n, 2) in [-1, 1], y (n,))."""
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, 3 * X[:, 0] - 2 * X[:, 1] + 0.5 + rng.normal(0, 0.05, size=n)


# ---- the library ------------------------------------------------------------------------
def test_float_features_train_like_uint8_scaled(rng):
    """Float pixels in [0, 1] (standardized) reach the accuracy of the same pixels as
    uint8 scaled by 1/255 -- the bug was a silent /255 of float features (chance level)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X8 = (d.data * 255 / 16).round().astype(np.uint8)
    common = dict(
        hidden=[64],
        optimizer="adam",
        lr=0.002,
        batch_size=32,
        epochs=30,
        seed=0,
        test_fraction=0.25,
        dropout=0.0,  # the tabular defaults' 0.2 would differ from the image defaults' 0
    )
    as_uint8 = bpnn.fit(X8, d.target, **common)
    as_float = bpnn.fit(X8 / 255.0, d.target, preprocessing="none", **common)
    assert as_uint8.preprocessing.kind == "scale" and as_float.preprocessing.kind == "none"
    e8, ef = as_uint8.results["test_error"], as_float.results["test_error"]
    assert e8 < 0.08 and ef < 0.08 and abs(e8 - ef) <= 0.03  # rounding differs, not the method
    standardized = bpnn.fit(d.data, d.target, preprocessing="standardize", **common)
    assert (
        standardized.preprocessing.kind == "standardize"
        and standardized.results["test_error"] < 0.06
    )


def test_text_labels_round_trip(rng, tmp_path):
    X, y = blobs(300, rng)
    model = bpnn.fit(X, y, out=tmp_path / "run", epochs=40, seed=1)
    assert model.classes.tolist() == ["setosa", "versicolor", "virginica"]
    assert model.results["test_error"] <= 0.02
    loaded = bpnn.load(tmp_path / "run")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert np.mean(loaded.predict(X) == y) > 0.97
    proba = loaded.predict_proba(X[:5])
    assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(loaded.classes[np.argmax(proba, axis=1)], loaded.predict(X[:5]))


def test_regression_reaches_noise_level(rng):
    X, y = linear_data(1000, rng)
    model = bpnn.fit(X, y, hidden=[32], epochs=200, seed=0)
    assert model.task == "regress" and model.net.output == "identity"
    assert model.results["test_error"] < 0.1  # RMSE; the noise alone is 0.05
    assert model.results["test_r2"][0] > 0.99
    pred = model.predict(X[:3])
    assert pred.shape == (3,)


def test_multi_output_regression(rng):
    X = rng.uniform(-1, 1, size=(600, 3))
    Y = (
        np.stack([X.sum(axis=1), X[:, 0] * 2 - 1], axis=1) * 100
    )  # large units: targets standardized
    # no dropout: a noiseless function, and 32 units (the defaults' 0.3 is for 200 on real data)
    model = bpnn.fit(X, Y, hidden=[32], dropout=0.0, lr=0.01, epochs=150, seed=0)
    assert model.predict(X[:4]).shape == (4, 2)
    assert max(np.array(model.results["test_rmse"]) / Y.std(axis=0)) < 0.05  # 5% of the spread


def test_binary_cross_entropy_classifier(rng):
    X, y = blobs(300, rng)
    model = bpnn.fit(X, y, loss="binary_cross_entropy", output="sigmoid", epochs=40, seed=0)
    assert model.net.loss_name == "binary_cross_entropy" and model.results["test_error"] <= 0.03


def test_library_resume_is_exact(rng, tmp_path):
    X, y = blobs(400, rng)
    common = dict(hidden=[16], optimizer="momentum", lr=0.05, batch_size=10, seed=3)
    whole = bpnn.fit(X, y, out=tmp_path / "a", epochs=4, patience=100, **common)
    bpnn.fit(X, y, out=tmp_path / "b", epochs=2, patience=100, **common)
    # a finished 2-epoch run extended to 4: constant schedule, so the same as 4 in one go
    resumed = bpnn.fit(X, y, out=tmp_path / "b", resume=True, epochs=4)
    for a, b in zip(whole.net.params(), resumed.net.params()):
        np.testing.assert_array_equal(a, b)
    assert resumed.history.changes == [{"from_epoch": 3, "epochs": 4}]


@pytest.mark.parametrize("batch_size", [1, 10, 128, 4097, 10**9])
@pytest.mark.parametrize("compiled", [False, True])
def test_every_batch_has_batch_size_samples(monkeypatch, rng, tmp_path, batch_size, compiled):
    n_total = 6000
    X = rng.random((n_total, 6))
    y = (X[:, 0] > 0.5).astype(int)
    sizes = []
    if not compiled:
        monkeypatch.setattr(fast, "jit_available", lambda: False)
        backward = bpnn.Network.backward

        def counting(net, cache, T, weights=None):  # once per optimiser step
            sizes.append(len(cache.inputs[0]))
            return backward(net, cache, T, weights)

        monkeypatch.setattr(bpnn.Network, "backward", counting)
    cfg = bpnn.TrainConfig(
        task="classify",
        layers=[6, 4, 2],
        activation="relu",
        loss="cross_entropy",
        optimizer="sgd",
        lr=0.01,
        batch_size=batch_size,
        epochs=1,
        stop_on="train",
        preprocessing="none",
    )
    t = bpnn.Trainer(cfg, Split(X, y), None, None, tmp_path, progress=False)
    t.run()
    bs = min(batch_size, n_total)
    steps = -(-n_total // bs)
    assert t.optimizer.t == steps
    assert (t.history.fallback is None) == compiled
    if not compiled:
        assert sizes == [bs] * (steps - 1) + [n_total - bs * (steps - 1)]
