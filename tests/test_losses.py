"""Losses: values, output deltas (formula 3 and its cross-entropy counterpart), stability."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bpnn import Network
from bpnn.activations import get_activation
from bpnn.losses import (
    LOSSES,
    BinaryCrossEntropy,
    SoftmaxCrossEntropy,
    SquaredError,
    get_loss,
    one_hot,
)


def test_squared_error_value_by_hand():
    y, t = np.array([[0.6, 0.2], [0.0, 1.0]]), np.array([[0.9, 0.1], [0.5, 0.5]])
    # 1/2 (0.3^2 + 0.1^2) = 0.05;  1/2 (0.25 + 0.25) = 0.25
    np.testing.assert_allclose(SquaredError().value(None, y, t), [0.05, 0.25])


def test_squared_error_delta_is_minus_formula_3():
    y, t = np.array([[0.6, 0.2]]), np.array([[0.9, 0.1]])
    tutorial_delta = y * (1 - y) * (t - y)  # formula 3
    d = SquaredError().delta(None, y, t, get_activation("sigmoid"))
    np.testing.assert_allclose(d, -tutorial_delta, rtol=1e-15)


def numeric_dz(loss, act, z, t, h=1e-6):
    out = np.zeros_like(z)
    for j in range(z.shape[1]):
        zp, zm = z.copy(), z.copy()
        zp[0, j] += h
        zm[0, j] -= h
        out[0, j] = (
            loss.value(zp, act.forward(zp), t)[0] - loss.value(zm, act.forward(zm), t)[0]
        ) / (2 * h)
    return out


@pytest.mark.parametrize("output", ["sigmoid", "tanh", "identity", "softmax", "relu"])
def test_squared_delta_matches_central_difference(output, rng):
    act, loss = get_activation(output), SquaredError()
    z = np.array([[-1.3, -0.4, 0.5, 2.0]])
    t = rng.uniform(0.1, 0.9, (1, 4))
    d = loss.delta(z, act.forward(z), t, act)
    np.testing.assert_allclose(d, numeric_dz(loss, act, z, t), rtol=1e-6, atol=1e-10)


def test_cross_entropy_value_and_delta(rng):
    loss, sm = SoftmaxCrossEntropy(), get_activation("softmax")
    z = rng.normal(size=(3, 4))
    T = rng.dirichlet(np.ones(4), 3)
    y = sm.forward(z)
    np.testing.assert_allclose(loss.value(z, y, T), -(T * np.log(y)).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(loss.delta(z, y, T, sm), y - T, atol=1e-15)
    np.testing.assert_allclose(
        loss.delta(z[:1], y[:1], T[:1], sm),
        numeric_dz(loss, sm, z[:1], T[:1]),
        rtol=1e-6,
        atol=1e-10,
    )


def test_class_indices_equal_one_hot_rows(rng):
    loss, sm = SoftmaxCrossEntropy(), get_activation("softmax")
    z = rng.normal(size=(4, 3))
    y, labels = sm.forward(z), np.array([0, 2, 1, 2])
    T = one_hot(labels, 3)
    np.testing.assert_allclose(loss.value(z, y, labels), loss.value(z, y, T))
    np.testing.assert_allclose(loss.delta(z, y, labels, sm), loss.delta(z, y, T, sm))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_for_logits_of_plus_minus_1000(dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype=dtype)
    T = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, out in (
            ("cross_entropy", "softmax"),
            ("squared", "sigmoid"),
            ("squared", "softmax"),
            ("squared", "identity"),
            ("squared", "tanh"),
        ):
            act, loss = get_activation(out), get_loss(name)
            y = act.forward(z)
            v, d = loss.value(z, y, T), loss.delta(z, y, T, act)
            assert np.isfinite(v).all() and np.isfinite(d).all(), (name, out)
    ce = SoftmaxCrossEntropy().value(z, get_activation("softmax").forward(z), T)
    np.testing.assert_allclose(ce, [2000.0, 2000.0], rtol=1e-6)  # logsumexp - z_true


def test_cross_entropy_needs_softmax():
    with pytest.raises(ValueError, match="needs output='softmax', got output='sigmoid'"):
        SoftmaxCrossEntropy().check_output(get_activation("sigmoid"))
    with pytest.raises(ValueError, match="needs output='softmax'"):
        Network([3, 2], output="sigmoid", loss="cross_entropy")


def test_one_hot_and_target_checks():
    np.testing.assert_array_equal(
        one_hot(np.array([2, 0]), 3, on=0.9, off=0.1), [[0.1, 0.1, 0.9], [0.9, 0.1, 0.1]]
    )
    with pytest.raises(ValueError, match="0..2"):
        one_hot(np.array([3]), 3)
    with pytest.raises(ValueError, match="1-D integer"):
        one_hot(np.array([0.5]), 3)
    with pytest.raises(ValueError, match=r"targets have shape \(1, 2\), expected \(1, 3\)"):
        SquaredError().value(None, np.zeros((1, 3)), np.zeros((1, 2)))


def test_registry():
    assert set(LOSSES) == {"squared", "cross_entropy", "binary_cross_entropy"}
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        get_loss("hinge")
    loss = SquaredError()
    assert get_loss(loss) is loss


# ---- binary cross-entropy (sigmoid outputs, multi-label) -----------------------------------------
def test_binary_cross_entropy_by_hand():
    # z = 0: y = 0.5, E = -log 0.5 whatever t; z = ln 3: y = 0.75, t = 1 -> -log 0.75; t = 0 -> -log 0.25
    z = np.array([[0.0, np.log(3.0), np.log(3.0)]])
    y = get_activation("sigmoid").forward(z)
    T = np.array([[1.0, 1.0, 0.0]])
    expected = -np.log(0.5) - np.log(0.75) - np.log(0.25)
    np.testing.assert_allclose(BinaryCrossEntropy().value(z, y, T), [expected], rtol=1e-12)
    np.testing.assert_allclose(
        BinaryCrossEntropy().delta(z, y, T, None), [[-0.5, -0.25, 0.75]], rtol=1e-12
    )


def test_binary_cross_entropy_delta_matches_central_difference(rng):
    loss, sig = BinaryCrossEntropy(), get_activation("sigmoid")
    z = rng.normal(0, 2, (4, 3))
    T = rng.uniform(0, 1, (4, 3))
    eps, numeric = 1e-6, np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += eps
        zm[idx] -= eps
        numeric[idx] = (
            loss.value(zp, sig.forward(zp), T).sum() - loss.value(zm, sig.forward(zm), T).sum()
        ) / (2 * eps)
    np.testing.assert_allclose(loss.delta(z, sig.forward(z), T, sig), numeric, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_stable_and_needs_sigmoid(dtype):
    z = np.array([[1000.0, -1000.0]], dtype=dtype)
    y = get_activation("sigmoid").forward(z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = BinaryCrossEntropy().value(z, y, np.array([[0.0, 1.0]], dtype=dtype))
    np.testing.assert_allclose(v, [2000.0], rtol=1e-6)
    with pytest.raises(ValueError, match="needs output='sigmoid'"):
        Network([3, 2], output="softmax", loss="binary_cross_entropy")
    assert Network([3, 2], loss="binary_cross_entropy").output == "sigmoid"


def test_loss_owns_its_targets():
    labels = np.array([1, 0])
    np.testing.assert_array_equal(
        SquaredError().targets(labels, 3, 0.9, 0.1), [[0.1, 0.9, 0.1], [0.9, 0.1, 0.1]]
    )
    np.testing.assert_array_equal(SoftmaxCrossEntropy().targets(labels, 3, 0.9, 0.1), labels)
    np.testing.assert_array_equal(
        BinaryCrossEntropy().targets(labels, 3, 0.9, 0.1), [[0, 1, 0], [1, 0, 0]]
    )


def test_binary_cross_entropy_agrees_with_pytorch(rng):
    torch = pytest.importorskip("torch")
    z = rng.normal(0, 5, (6, 4))
    T = (rng.random((6, 4)) < 0.5).astype(np.float64)
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(zt, torch.tensor(T), reduction="sum")
    ref.backward()
    y = get_activation("sigmoid").forward(z)
    loss = BinaryCrossEntropy()
    np.testing.assert_allclose(loss.value(z, y, T).sum(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(loss.delta(z, y, T, None), zt.grad.numpy(), atol=1e-12)
