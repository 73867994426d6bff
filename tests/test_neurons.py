"""The object engine: structure and reprs, the tutorial's worked 3-4-2 example by hand, and
agreement with the vectorised engine for every activation x loss."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import bpnn
from bpnn import neurons
from bpnn.commands.gradcheck import HIDDEN
from bpnn.commands.gradcheck import OUTPUTS as OUTPUT_LOSS
from bpnn.neurons import BiasNode, Connection, Node


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# ---- structure -------------------------------------------------------------------------------
def test_structure_follows_the_tutorial():
    net = neurons.ObjectNetwork([3, 4, 2], seed=0)
    # Every layer but the output ends with a bias node; links: (3+1)*4 + (4+1)*2 = 26.
    assert [len(layer.nodes) for layer in net.layers] == [4, 5, 2]
    assert [len(layer.neurons) for layer in net.layers] == [3, 4, 2]
    assert isinstance(net.layers[0].nodes[-1], BiasNode)
    assert len(net.connections) == 26
    # Tutorial numbering: inputs 1-3, hidden 4-7, outputs 8-9.
    assert (net.node(4).layer_index, net.node(4).node_index) == (1, 0)
    assert (net.node(9).layer_index, net.node(9).node_index) == (2, 1)
    conn = net.connection(8, 4)  # w_84: to node 8 from node 4
    assert conn.upstream_node is net.node(4) and conn.downstream_node is net.node(8)
    assert isinstance(net.connection(4, "b").upstream_node, BiasNode)
    assert net.node(8).upstream[-1] is net.connection(8, "b")
    with pytest.raises(ValueError, match="from 1 to 9"):
        net.node(10)
    with pytest.raises(ValueError, match="no connection"):
        net.connection(8, 1)
    with pytest.raises(ValueError, match="node number or"):  # was a TypeError
        net.connection(8, "x")


def test_bias_node_always_outputs_one():
    node = BiasNode(1, 4)
    assert node.output == 1.0
    with pytest.raises(AttributeError):
        node.set_output(0.5)


def test_reprs_are_readable():
    up, down = Node(1, 0), Node(2, 3)
    up.output, up.delta = 0.731, -0.0123
    assert repr(up) == "Node(layer 1, index 0, output=0.731, delta=-0.0123)"
    assert repr(Connection(up, down, 0.1)) == "Connection(1-0 -> 2-3, weight=0.1)"
    assert repr(BiasNode(0, 3)) == "BiasNode(layer 0, index 3, output=1)"
    net = neurons.ObjectNetwork([3, 4, 2], seed=0)
    assert "26 connections" in repr(net)
    assert "Layer(1, 4 nodes + bias, sigmoid)" in net.dump()


def test_same_seed_draws_the_same_weights_as_the_vectorised_engine():
    for init in ("uniform", "xavier", "he"):
        vec = bpnn.Network([5, 4, 3], init=init, seed=3)
        obj = neurons.ObjectNetwork([5, 4, 3], init=init, seed=3)
        for a, b in zip(vec.params(), obj.params()):
            np.testing.assert_array_equal(a, b)


def test_conversion_round_trip(rng):
    vec = bpnn.Network([4, 6, 5, 3], activation="tanh", loss="cross_entropy", init="xavier", seed=1)
    for layer in vec.layers:
        layer.b[:] = rng.normal(size=layer.b.shape)
    obj = neurons.ObjectNetwork.from_vectorised(vec)
    assert (obj.sizes, obj.activation, obj.output, obj.loss_name) == (
        [4, 6, 5, 3],
        "tanh",
        "softmax",
        "cross_entropy",
    )
    for a, b in zip(vec.params(), obj.params()):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    back = obj.to_vectorised()
    assert back.config()["sizes"] == vec.sizes and back.loss_name == "cross_entropy"
    X = rng.normal(size=(5, 4))
    np.testing.assert_allclose(obj.predict(X), vec.predict(X), rtol=0, atol=1e-14)
    np.testing.assert_allclose(back.predict(X), vec.predict(X), rtol=0, atol=0)
    np.testing.assert_allclose(obj.predict(X[0]), vec.predict(X[0]), atol=1e-14)


def test_set_params_checks_shapes():
    net = neurons.ObjectNetwork([3, 4, 2], seed=0)
    params = net.params()
    params[0] = params[0].T
    with pytest.raises(ValueError, match=r"layer 1 needs W \(4, 3\)"):
        net.set_params(params)
    with pytest.raises(ValueError, match="expected 4 parameter arrays"):
        net.set_params(params[:2])


def test_wrong_width_or_nan_gives_a_clear_error():
    net = neurons.ObjectNetwork([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"shape \(3,\), got \(5,\)"):
        net.predict(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        net.train_one_sample([1.0, float("nan"), 0.0], [0.9, 0.1], 0.1)
    with pytest.raises(ValueError, match=r"target must have shape \(2,\), got \(3,\)"):
        net.train_one_sample([1.0, 0.0, 0.0], [0.9, 0.1, 0.1], 0.1)
    with pytest.raises(ValueError, match="at least one sample"):  # was a TypeError
        net.gradient(np.empty((0, 3)), np.empty((0, 2)))


def test_bad_architectures_are_refused():
    with pytest.raises(ValueError, match="softmax is for the output layer"):
        neurons.ObjectNetwork([3, 4, 2], activation="softmax")
    with pytest.raises(ValueError, match="needs output='softmax'"):
        neurons.ObjectNetwork([3, 4, 2], output="sigmoid", loss="cross_entropy")
    with pytest.raises(ValueError, match="at least two"):
        neurons.ObjectNetwork([3])


# ---- the worked example ----------------------------------------------------------------------
def worked_example() -> neurons.ObjectNetwork:
    """The tutorial's 3-4-2 network: inputs 1, 2, 3; hidden 4-7; outputs 8, 9 (sigmoid)."""
    net = neurons.ObjectNetwork([3, 4, 2], seed=0)
    hidden = {  # node j: (w_j1, w_j2, w_j3, w_jb)
        4: (0.1, 0.2, 0.3, 0.0),
        5: (-0.1, 0.0, 0.1, 0.1),
        6: (0.2, -0.2, 0.0, -0.1),
        7: (0.0, 0.1, -0.1, 0.2),
    }
    output = {  # node k: (w_k4, w_k5, w_k6, w_k7, w_kb)
        8: (0.3, -0.2, 0.1, 0.4, -0.1),
        9: (-0.3, 0.2, 0.5, -0.1, 0.05),
    }
    for j, ws in hidden.items():
        for i, w in zip((1, 2, 3, "b"), ws):
            net.connection(j, i).weight = w
    for k, ws in output.items():
        for i, w in zip((4, 5, 6, 7, "b"), ws):
            net.connection(k, i).weight = w
    return net


def test_worked_example_by_hand():
    net = worked_example()
    x, t, rate = [1.0, 2.0, 0.5], [0.9, 0.1], 0.5

    # Forward (formula 1): net_j = sum_i w_ji x_i + w_jb.
    #   net4 = 0.1*1 + 0.2*2 + 0.3*0.5 + 0     = 0.65   -> a4 = sigmoid(0.65)  ~ 0.657010
    #   net5 = -0.1*1 + 0*2 + 0.1*0.5 + 0.1    = 0.05   -> a5 = sigmoid(0.05)  ~ 0.512497
    #   net6 = 0.2*1 - 0.2*2 + 0*0.5 - 0.1     = -0.30  -> a6 = sigmoid(-0.3)  ~ 0.425557
    #   net7 = 0*1 + 0.1*2 - 0.1*0.5 + 0.2     = 0.35   -> a7 = sigmoid(0.35)  ~ 0.586618
    a4, a5, a6, a7 = sigmoid(0.65), sigmoid(0.05), sigmoid(-0.3), sigmoid(0.35)
    #   net8 = 0.3 a4 - 0.2 a5 + 0.1 a6 + 0.4 a7 - 0.1    ~ 0.271806 -> y1 ~ 0.567536
    #   net9 = -0.3 a4 + 0.2 a5 + 0.5 a6 - 0.1 a7 + 0.05  ~ 0.109513 -> y2 ~ 0.527351
    y1 = sigmoid(0.3 * a4 - 0.2 * a5 + 0.1 * a6 + 0.4 * a7 - 0.1)
    y2 = sigmoid(-0.3 * a4 + 0.2 * a5 + 0.5 * a6 - 0.1 * a7 + 0.05)
    assert abs(y1 - 0.567536) < 1e-6 and abs(y2 - 0.527351) < 1e-6  # the comments' numbers
    np.testing.assert_allclose(net.predict(x), [y1, y2], rtol=0, atol=1e-15)
    for number, a in zip((4, 5, 6, 7), (a4, a5, a6, a7)):
        assert abs(net.node(number).output - a) < 1e-15

    # Loss: E = 1/2 ((0.9 - y1)^2 + (0.1 - y2)^2) ~ 1/2 (0.110621 + 0.182630) ~ 0.146580
    assert abs(net.loss_value(x, t) - 0.5 * ((0.9 - y1) ** 2 + (0.1 - y2) ** 2)) < 1e-15
    assert abs(net.loss_value(x, t) - 0.146580) < 1e-6

    # Output deltas (formula 3): delta = y (1 - y)(t - y)
    #   delta8 = 0.567536 * 0.432464 * 0.332464  ~  0.081599
    #   delta9 = 0.527351 * 0.472649 * -0.427351 ~ -0.106518
    d8 = y1 * (1 - y1) * (0.9 - y1)
    d9 = y2 * (1 - y2) * (0.1 - y2)
    # Hidden deltas (formula 4): delta_j = a_j (1 - a_j)(w_8j delta8 + w_9j delta9)
    #   delta4 = 0.657010 * 0.342990 * (0.3 * 0.081599 - 0.3 * -0.106518) ~  0.012718
    #   delta5 = 0.512497 * 0.487503 * (-0.2 * 0.081599 + 0.2 * -0.106518) ~ -0.009400
    #   delta6 = 0.425557 * 0.574443 * (0.1 * 0.081599 + 0.5 * -0.106518) ~ -0.011025
    #   delta7 = 0.586618 * 0.413382 * (0.4 * 0.081599 - 0.1 * -0.106518) ~  0.010498
    d4 = a4 * (1 - a4) * (0.3 * d8 - 0.3 * d9)
    d5 = a5 * (1 - a5) * (-0.2 * d8 + 0.2 * d9)
    d6 = a6 * (1 - a6) * (0.1 * d8 + 0.5 * d9)
    d7 = a7 * (1 - a7) * (0.4 * d8 - 0.1 * d9)
    assert abs(d8 - 0.081599) < 1e-6 and abs(d9 + 0.106518) < 1e-6
    assert abs(d4 - 0.012718) < 1e-6 and abs(d7 - 0.010498) < 1e-6

    net.train_one_sample(x, t, rate)
    for number, d in zip((4, 5, 6, 7, 8, 9), (d4, d5, d6, d7, d8, d9)):
        assert abs(net.node(number).delta - d) < 1e-15, number

    # Update (formula 5): w_ji += rate * delta_j * x_ji, the bias input being 1.
    #   w84 = 0.3 + 0.5 * 0.081599 * 0.657010  ~  0.326806
    #   w41 = 0.1 + 0.5 * 0.012718 * 1.0       ~  0.106359
    #   w43 = 0.3 + 0.5 * 0.012718 * 0.5       ~  0.303179
    #   w4b = 0.0 + 0.5 * 0.012718             ~  0.006359
    #   w8b = -0.1 + 0.5 * 0.081599            ~ -0.059200
    #   w96 = 0.5 + 0.5 * -0.106518 * 0.425557 ~  0.477335
    expected = {
        (8, 4): 0.3 + rate * d8 * a4,
        (4, 1): 0.1 + rate * d4 * 1.0,
        (4, 3): 0.3 + rate * d4 * 0.5,
        (4, "b"): 0.0 + rate * d4,
        (8, "b"): -0.1 + rate * d8,
        (9, 6): 0.5 + rate * d9 * a6,
        (6, 2): -0.2 + rate * d6 * 2.0,
        (5, "b"): 0.1 + rate * d5,
    }
    assert abs(expected[8, 4] - 0.326806) < 1e-6 and abs(expected[4, "b"] - 0.006359) < 1e-6
    for (j, i), w in expected.items():
        assert abs(net.connection(j, i).weight - w) < 1e-15, (j, i)
    # The connection keeps the tutorial's gradient delta_j x_ji (= -dE/dw).
    assert abs(net.connection(8, 4).gradient - d8 * a4) < 1e-15


def test_worked_example_gradient_is_minus_the_tutorial_gradient():
    net = worked_example()
    x, t = [1.0, 2.0, 0.5], [0.9, 0.1]
    dW0, db0, dW1, db1 = net.gradient(x, t)
    net.get_gradient(x, t)
    assert dW1[0, 0] == -net.connection(8, 4).gradient  # dE/dw84 = -delta8 a4
    assert db0[0] == -net.connection(4, "b").gradient
    assert net.connection(8, 4).weight == 0.3  # get_gradient changes no weight
    vec = net.to_vectorised()
    for a, c in zip(vec.gradient(np.array([x]), np.array([t])), [dW0, db0, dW1, db1]):
        np.testing.assert_allclose(c, a, rtol=0, atol=1e-15)


# ---- the two engines agree -------------------------------------------------------------------
def sample_targets(output: str, n: int, k: int, rng) -> np.ndarray:
    if output == "softmax":
        return rng.dirichlet(np.ones(k), n)
    if output == "sigmoid":
        return rng.uniform(0.1, 0.9, (n, k))
    return rng.uniform(-0.8, 0.8, (n, k))


@pytest.mark.parametrize("hidden,output_loss", list(itertools.product(HIDDEN, OUTPUT_LOSS)))
def test_engines_agree_after_50_samples(hidden, output_loss):
    output, loss = output_loss
    rng = np.random.default_rng(2024)
    vec = bpnn.Network(
        [4, 6, 5, 3],
        activation=hidden,
        output=output,
        loss=loss,
        init="xavier",
        dtype=np.float64,
        seed=7,
    )
    for layer in vec.layers:
        layer.b[:] = rng.uniform(-0.3, 0.3, layer.b.shape)
    obj = neurons.ObjectNetwork.from_vectorised(vec)
    X = rng.uniform(-1, 1, (60, 4))
    T = sample_targets(output, 60, 3, rng)
    opt, params, rate = bpnn.SGD(lr=0.1), vec.params(), 0.1
    start = [p.copy() for p in params]
    for x, t in zip(X, T):  # one sample at a time, in the same order
        opt.step(params, vec.gradient(x[None, :], t[None, :]))
        obj.train_one_sample(x, t, rate)
    moved = max(float(np.abs(p - s).max()) for p, s in zip(params, start))
    assert moved > 1e-3  # training really changed the weights
    for a, b in zip(params, obj.params()):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-10)


def test_object_gradient_is_the_mean_over_rows(rng):
    vec = bpnn.Network([3, 4, 2], activation="tanh", init="xavier", seed=5)
    obj = neurons.ObjectNetwork.from_vectorised(vec)
    X, T = rng.normal(size=(4, 3)), rng.uniform(0.1, 0.9, (4, 2))
    for a, c in zip(vec.gradient(X, T), obj.gradient(X, T), strict=True):
        np.testing.assert_allclose(c, a, atol=1e-15)
    assert abs(obj.loss_value(X, T) - vec.loss_value(X, T)) < 1e-15


def test_train_runs_epochs_in_order():
    a = neurons.ObjectNetwork([2, 3, 1], seed=4)
    b = neurons.ObjectNetwork([2, 3, 1], seed=4)
    X, T = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.9], [0.1]])
    a.train(X, T, 0.5, epochs=2)
    for _ in range(2):
        for x, t in zip(X, T):
            b.train_one_sample(x, t, 0.5)
    for p, q in zip(a.params(), b.params()):
        np.testing.assert_array_equal(p, q)
