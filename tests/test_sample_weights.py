"""Sample weights in the core (the weighted mean loss sum_i w_i E_i / sum_i w_i), continuing
training from a network, training without files, and stopping on the training loss."""

import numpy as np
import pytest

import bpnn
from bpnn import Trainer
from bpnn.data.split import Split
from bpnn.gradcheck import check_network


@pytest.mark.parametrize(
    "loss,output,T",
    [
        ("cross_entropy", "softmax", np.array([0, 2, 1, 1, 0, 2])),
        ("squared", "sigmoid", np.random.default_rng(1).random((6, 3))),
        ("binary_cross_entropy", "sigmoid", (np.random.default_rng(2).random((6, 3)) > 0.5) * 1.0),
    ],
)
def test_weighted_gradient_passes_the_gradient_check(loss, output, T):
    net = bpnn.Network(
        [4, 5, 3], activation="tanh", loss=loss, output=output, dtype=np.float64, seed=0
    )
    X = np.random.default_rng(3).normal(size=(6, 4))
    w = np.array([0.5, 2.0, 0.0, 1.0, 3.0, 1.5])
    report = check_network(net, X, T, eps=1e-5, weights=w)
    assert report.passed, report.worst


def test_integer_weights_equal_repeated_samples_in_one_batch():
    net = bpnn.Network([4, 5, 3], activation="relu", loss="cross_entropy", dtype=np.float64, seed=0)
    X = np.random.default_rng(3).normal(size=(5, 4))
    y = np.array([0, 1, 2, 1, 0])
    w = np.array([1, 2, 0, 3, 1])
    rep = np.repeat(np.arange(5), w)
    for a, c in zip(net.gradient(X, y, weights=w), net.gradient(X[rep], y[rep])):
        np.testing.assert_allclose(a, c, atol=1e-12)
    assert net.loss_value(X, y, weights=w) == pytest.approx(net.loss_value(X[rep], y[rep]))


@pytest.mark.parametrize("w", [[1, 2], [-1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [np.nan, 1, 1, 1, 1]])
def test_bad_weights_are_refused(w):
    net = bpnn.Network([4, 3], loss="cross_entropy", seed=0)
    with pytest.raises(ValueError, match="sample weights"):
        net.loss_value(np.ones((5, 4)), np.zeros(5, dtype=int), weights=w)


def test_a_batch_of_zero_weights_has_a_zero_gradient():
    net = bpnn.Network([4, 3], loss="cross_entropy", seed=0)
    grads = net.gradient(np.ones((5, 4)), np.zeros(5, dtype=int), weights=np.zeros(5))
    assert all(not g.any() for g in grads)


def small_run(**changes):
    X = np.random.default_rng(0).normal(size=(120, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    settings = dict(
        task="classify",
        layers=[5, 8, 2],
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        lr=0.01,
        batch_size=16,
        epochs=4,
        stop_on="loss",
        patience=10,
        test_fraction=0,
    )
    return X, y, bpnn.TrainConfig(**{**settings, **changes})


def test_trainer_weighs_training_and_evaluation(tmp_path):
    X, y, cfg = small_run(stop_on="train")
    w = np.where(y == 1, 5.0, 1.0)
    weighted = Trainer(cfg, Split(X, y, w), None, None, None, progress=False)
    results = weighted.run()
    wrong = weighted.model().predict(X) != y
    assert weighted.error(weighted.train) == pytest.approx(np.average(wrong, weights=w))
    assert results["epochs"] == 4 and not any(tmp_path.iterdir())
    plain = Trainer(cfg, Split(X, y, np.ones(len(y))), None, None, None, progress=False)
    plain.run()
    ref = Trainer(cfg, Split(X, y), None, None, None, progress=False)
    ref.run()
    for a, b in zip(plain.net.params(), ref.net.params()):
        np.testing.assert_array_equal(a, b)  # weights of one: the same weights as none


def test_trainer_without_out_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y, cfg = small_run()
    Trainer(cfg, Split(X, y), None, None, None, progress=False).run()
    assert list(tmp_path.iterdir()) == []


def test_trainer_continues_from_a_network_and_optimizer():
    X, y, cfg = small_run(epochs=2)
    first = Trainer(cfg, Split(X, y), None, None, None, progress=False)
    first.run()
    start = [p.copy() for p in first.net.params()]
    more = Trainer(
        cfg,
        Split(X, y),
        None,
        None,
        None,
        progress=False,
        net=first.net,
        optimizer=first.optimizer,
        preprocessing=first.preprocessing,
    )
    more.run()
    assert more.net is first.net and more.optimizer is first.optimizer
    assert not np.array_equal(start[0], more.net.params()[0])
    four = Trainer(small_run(epochs=4)[2], Split(X, y), None, None, None, progress=False)
    four.run()  # a fresh 4-epoch run shuffles differently, so only the shapes must agree
    assert [p.shape for p in four.net.params()] == [p.shape for p in more.net.params()]
    wrong = bpnn.Network([5, 3, 2], loss="cross_entropy", seed=0)
    with pytest.raises(bpnn.BpnnError, match="layers"):
        Trainer(cfg, Split(X, y), None, None, None, net=wrong)


def test_stop_on_loss_stops_when_the_training_loss_stalls():
    X, y, cfg = small_run(epochs=200, patience=3, min_delta=0.5)
    trainer = Trainer(cfg, Split(X, y), None, None, None, progress=False)
    results = trainer.run()
    assert results["stopped_early"] and results["epochs"] <= 5
    assert "training loss did not improve" in results["stop_reason"]
    losses = [e["train_loss"] for e in trainer.history.epochs]
    assert trainer.history.best_error == losses[0]  # later ones improved by less than 0.5
