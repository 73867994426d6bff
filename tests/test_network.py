"""The vectorised engine: shapes, input checks, dtypes, configuration, initialisers, dropout."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bpnn import Network
from bpnn.gradcheck import check_network
from bpnn.modelfile import load_model, save_model


def test_shapes_follow_the_tutorial(rng):
    net = Network([784, 300, 10], seed=0)
    assert [layer.W.shape for layer in net.layers] == [(300, 784), (10, 300)]
    assert [layer.b.shape for layer in net.layers] == [(300,), (10,)]
    assert net.n_params() == 238510  # the tutorial's count: 300*(784+1) + 10*(300+1)
    X = rng.random((5, 784))
    assert net.predict(X).shape == (5, 10)
    assert net.predict(X[0]).shape == (10,)
    grads = net.gradient(X, np.full((5, 10), 0.1))
    # one layout for parameters and gradients: [W0, b0, W1, b1]
    assert [g.shape for g in grads] == [p.shape for p in net.params()]
    assert [g.shape for g in grads] == [(300, 784), (300,), (10, 300), (10,)]


def test_defaults_and_repr():
    net = Network([4, 3, 2])
    assert (net.activation, net.output, net.loss_name) == ("sigmoid", "sigmoid", "squared")
    assert Network([4, 3, 2], loss="cross_entropy").output == "softmax"
    assert repr(net) == (
        "Network([4, 3, 2], activation='sigmoid', output='sigmoid', loss='squared', dtype=float64)"
    )


def test_wrong_width_names_expected_and_actual():
    net = Network([784, 30, 10], seed=0)
    with pytest.raises(ValueError, match=r"\(n_samples, 784\) or \(784,\), got \(2, 783\)"):
        net.predict(np.zeros((2, 783)))
    with pytest.raises(ValueError, match="784"):
        net.gradient(np.zeros((1, 10)), np.zeros((1, 10)))
    with pytest.raises(ValueError, match=r"got \(2, 3, 784\)"):
        net.predict(np.zeros((2, 3, 784)))


def test_nan_or_inf_input_is_refused():
    net = Network([3, 2], seed=0)
    with pytest.raises(ValueError, match="finite.*1 NaN"):
        net.predict(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match="2 NaN or infinite"):
        net.loss_value(np.array([[np.inf, np.nan, 1.0]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="numeric"):
        net.predict(np.array([["a", "b", "c"]]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_everywhere(dtype, rng):
    net = Network([6, 5, 3], activation="relu", loss="cross_entropy", dtype=dtype, seed=1)
    assert all(p.dtype == dtype for p in net.params())
    X = rng.random((4, 6))  # float64 input is converted
    assert net.predict(X).dtype == dtype
    assert all(g.dtype == dtype for g in net.gradient(X, np.array([0, 1, 2, 0])))
    assert net.config()["dtype"] == np.dtype(dtype).name


def test_float32_and_float64_agree(rng):
    n64 = Network([6, 5, 3], activation="tanh", seed=2)
    n32 = Network.from_config({**n64.config(), "dtype": "float32"}, n64.params())
    X = rng.random((4, 6))
    np.testing.assert_allclose(n32.predict(X), n64.predict(X), rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="float32 or float64"):
        Network([3, 2], dtype=np.int32)
    with pytest.raises(ValueError, match="at least two positive"):
        Network([3])
    with pytest.raises(ValueError, match="softmax is for the output layer"):
        Network([3, 4, 2], activation="softmax")
    with pytest.raises(ValueError, match="unknown init 'zeros'"):
        Network([3, 2], init="zeros")
    with pytest.raises(ValueError, match="unknown activation"):
        Network([3, 2], activation="gelu")


def test_stable_for_inputs_of_plus_minus_1000():
    for dtype in (np.float32, np.float64):
        for act, loss in (("sigmoid", "squared"), ("relu", "cross_entropy"), ("tanh", "squared")):
            net = Network([4, 5, 3], activation=act, loss=loss, dtype=dtype, init="he", seed=0)
            X = np.array([[1000.0, -1000.0, 1000.0, -1000.0], [-1000.0, 1000.0, 0.0, 0.0]])
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                Y = net.predict(X)
                value = net.loss_value(X, np.array([[0.1, 0.9, 0.1], [0.9, 0.1, 0.1]]))
                grads = net.gradient(X, np.array([[0.1, 0.9, 0.1], [0.9, 0.1, 0.1]]))
            assert np.isfinite(Y).all() and np.isfinite(value)
            assert all(np.isfinite(g).all() for g in grads)


def test_config_round_trip_and_copy(rng):
    net = Network(
        [5, 7, 4, 3],
        activation="leaky_relu",
        output="softmax",
        loss="cross_entropy",
        init="xavier",
        dtype=np.float32,
        seed=3,
        dropout=[0.0, 0.2, 0.1],
    )
    config = net.config()
    assert config == {
        "sizes": [5, 7, 4, 3],
        "activation": "leaky_relu",
        "output": "softmax",
        "activation_params": {"alpha": 0.01},
        "output_params": {},
        "loss": "cross_entropy",
        "init": "xavier",
        "dtype": "float32",
        "dropout": [0.0, 0.2, 0.1],
    }
    again = Network.from_config(config, net.params())
    assert again.config() == config
    X = rng.random((3, 5))
    np.testing.assert_array_equal(again.predict(X), net.predict(X))
    twin = net.copy()
    twin.layers[0].W[0, 0] += 1.0
    assert twin.layers[0].W[0, 0] != net.layers[0].W[0, 0]  # a real copy
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(5, 7\), expected \(7, 5\)"):
        net.set_params([net.layers[0].W.T] + net.params()[1:])


def test_initialisers():
    u = Network([400, 300, 10], init="uniform", seed=0)
    assert np.abs(u.layers[0].W).max() <= 0.1 and np.abs(u.layers[0].W).max() > 0.09
    x = Network([400, 300, 10], init="xavier", seed=0)
    r = np.sqrt(6 / (400 + 300))
    assert np.abs(x.layers[0].W).max() <= r and np.abs(x.layers[0].W).max() > 0.95 * r
    h = Network([400, 300, 10], init="he", seed=0)
    assert h.layers[0].W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert all((layer.b == 0).all() for layer in u.layers)
    np.testing.assert_array_equal(
        Network([4, 3], seed=5).layers[0].W, Network([4, 3], seed=5).layers[0].W
    )
    assert not np.array_equal(
        Network([4, 3], seed=5).layers[0].W, Network([4, 3], seed=6).layers[0].W
    )


def test_gradient_is_the_mean_over_rows(rng):
    net = Network([3, 4, 2], activation="tanh", init="xavier", seed=4)
    X, T = rng.normal(size=(5, 3)), rng.uniform(0.1, 0.9, (5, 2))
    whole = net.gradient(X, T)
    rows = [net.gradient(X[i : i + 1], T[i : i + 1]) for i in range(5)]
    for k, g in enumerate(whole):
        np.testing.assert_allclose(g, np.mean([r[k] for r in rows], axis=0), atol=1e-15)
    assert check_network(net, X, T, 1e-5).passed


# ---- dropout ---------------------------------------------------------------------------------
def test_dropout_settings():
    net = Network([4, 5, 5, 2], dropout=0.3)
    assert [layer.dropout for layer in net.layers] == [0.0, 0.3, 0.3]  # never on the pixels
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        Network([4, 5, 2], dropout=1.0)
    with pytest.raises(ValueError, match="one value per layer"):
        Network([4, 5, 2], dropout=[0.1])
    assert "dropout=0.3" in repr(net.layers[1])


def test_dropout_only_while_training(rng):
    net = Network([4, 50, 3], activation="relu", init="he", seed=0, dropout=0.5)
    X = rng.normal(size=(20, 4))
    np.testing.assert_array_equal(net.predict(X), net.predict(X))  # no rng: no dropout
    plain = net.forward(net.check_input(X))
    assert plain.masks == [None, None]
    cache = net.forward(net.check_input(X), np.random.default_rng(1))
    mask = cache.masks[1]
    assert cache.masks[0] is None and mask.shape == (20, 50)
    assert set(np.unique(mask)) == {0.0, 2.0}  # inverted dropout: kept units scaled by 1/keep
    assert 0.35 < (mask == 0).mean() < 0.65
    np.testing.assert_array_equal(cache.inputs[1], plain.outputs[0] * mask)


def test_dropout_masks_follow_the_seed(rng):
    net = Network([4, 8, 3], seed=0, dropout=0.4)
    X, T = rng.normal(size=(6, 4)), rng.uniform(0.1, 0.9, (6, 3))
    a = net.loss_value(X, T, rng=np.random.default_rng(3))
    b = net.loss_value(X, T, rng=np.random.default_rng(3))
    c = net.loss_value(X, T, rng=np.random.default_rng(4))
    assert a == b and a != c
    assert a != net.loss_value(X, T)
    # One sample: a dropped hidden unit gets no gradient into it nor out of it.
    cache = net.forward(net.check_input(X[:1]), np.random.default_rng(3))
    dW0, db0, dW1, db1 = net.backward(cache, T[:1])
    dropped = np.flatnonzero(cache.masks[1][0] == 0)
    assert dropped.size
    assert (dW1[:, dropped] == 0).all() and (dW0[dropped] == 0).all() and (db0[dropped] == 0).all()
    same = net.gradient(X[:1], T[:1], rng=np.random.default_rng(3))
    np.testing.assert_array_equal(same[0], dW0)


def test_an_activation_keeps_its_parameters_through_config_copy_and_files(tmp_path, rng):
    """A LeakyReLU(0.2) used to come back from save/load/copy as the default 0.01."""
    from bpnn.activations import LeakyReLU

    net = Network([4, 6, 3], activation=LeakyReLU(0.2), dtype=np.float64, seed=0)
    X = rng.normal(size=(5, 4))
    assert net.config()["activation_params"] == {"alpha": 0.2}
    np.testing.assert_array_equal(net.copy().predict(X), net.predict(X))
    save_model(tmp_path / "m.npz", net)
    loaded, _ = load_model(tmp_path / "m.npz")
    assert loaded.layers[0].activation.alpha == 0.2
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    with pytest.raises(ValueError, match="takes no settings"):
        Network.from_config({**net.config(), "output_params": {"alpha": 0.5}})
