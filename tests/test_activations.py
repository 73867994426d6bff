"""Activations: values, derivatives from the output, softmax's Jacobian, stability, registry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bpnn.activations import ACTIVATIONS, LeakyReLU, Softmax, get_activation
from conftest import HIDDEN

Z = np.array([[-3.0, -0.7, -0.2, 0.3, 1.1, 4.0]])  # no point near ReLU's kink at 0

# Each hidden activation's textbook definition f(z): a new activation adds its line here.
DEFINITIONS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "identity": lambda z: z,
    "softplus": lambda z: np.log(1 + np.exp(z)),
}


def test_every_hidden_activation_has_a_definition_here():
    assert set(DEFINITIONS) == set(HIDDEN)


def test_values_match_their_definitions():
    for name, f in DEFINITIONS.items():
        np.testing.assert_allclose(get_activation(name).forward(Z), f(Z), rtol=1e-14, atol=1e-15)
    e = np.exp(Z)
    np.testing.assert_allclose(Softmax().forward(Z), e / e.sum(), rtol=1e-14)


def test_sigmoid_derivative_is_the_tutorials_y_times_1_minus_y():
    y = np.array([[0.2, 0.5, 0.9]])
    np.testing.assert_allclose(get_activation("sigmoid").derivative(y), [[0.16, 0.25, 0.09]])
    np.testing.assert_allclose(get_activation("tanh").derivative(y), [[0.96, 0.75, 0.19]])
    np.testing.assert_array_equal(
        get_activation("relu").derivative(np.array([[0.0, 2.0]])), [[0, 1]]
    )
    np.testing.assert_allclose(LeakyReLU(0.1).derivative(np.array([[-0.3, 2.0]])), [[0.1, 1.0]])


@pytest.mark.parametrize("name", HIDDEN)
def test_derivative_from_output_matches_central_difference(name):
    act, h = get_activation(name), 1e-6
    numeric = (act.forward(Z + h) - act.forward(Z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(act.forward(Z)), numeric, rtol=1e-7, atol=1e-9)
    g = np.linspace(-1, 1, Z.size).reshape(Z.shape)
    np.testing.assert_allclose(act.backward(act.forward(Z), g), g * numeric, rtol=1e-7, atol=1e-9)


def test_softmax_backward_is_the_full_jacobian(rng):
    z, g = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    sm = Softmax()
    y = sm.forward(z)
    for row in range(3):
        J = np.diag(y[row]) - np.outer(y[row], y[row])  # dy_i/dz_j = y_i (delta_ij - y_j)
        np.testing.assert_allclose(sm.backward(y, g)[row], J.T @ g[row], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sm.forward(z).sum(axis=1), 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_stable_at_plus_minus_1000(name, dtype):
    act = get_activation(name)
    z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = act.forward(z)
        d = y if act.output_only else act.derivative(y)  # softmax has no element-wise one
        b = act.backward(y, np.ones_like(y))
    assert y.dtype == dtype and d.dtype == dtype and b.dtype == dtype
    assert np.isfinite(y).all() and np.isfinite(d).all() and np.isfinite(b).all()
    if name == "sigmoid":
        assert y[0, 0] == 0.0 and y[0, -1] == 1.0
    if name == "softmax":
        assert y[0, -1] == pytest.approx(1.0)


def test_softmax_derivative_refuses_instead_of_giving_only_the_diagonal():
    # It used to return y (1 - y), the Jacobian's diagonal: wrong wherever it was used.
    with pytest.raises(TypeError, match="Softmax.backward.*cross-entropy"):
        Softmax().derivative(np.array([[0.2, 0.8]]))


def test_softmax_is_refused_in_a_hidden_layer_with_the_choices_named():
    from bpnn.activations import hidden_activation

    with pytest.raises(ValueError, match="softmax is for the output layer only.*: sigmoid, tanh"):
        hidden_activation("softmax")
    assert hidden_activation("tanh").name == "tanh"


def test_a_repr_shows_the_settings():
    assert repr(get_activation("leaky_relu", {"alpha": 0.3})) == "LeakyReLU(alpha=0.3)"
    assert repr(get_activation("tanh")) == "Tanh()"


def test_integer_input_becomes_float():
    assert get_activation("sigmoid").forward(np.array([[0, 1]])).dtype == np.float64
    assert get_activation("softmax").forward(np.array([[0, 1]])).dtype == np.float64


def test_identity_forward_returns_a_copy():
    z = np.array([[1.0, 2.0]])
    y = get_activation("identity").forward(z)
    y[0, 0] = 5.0
    assert z[0, 0] == 1.0


def test_registry():
    assert set(ACTIVATIONS) == {*HIDDEN, "softmax"}
    act = LeakyReLU(0.2)
    assert get_activation(act) is act and repr(act) == "LeakyReLU(alpha=0.2)"
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid"):
        get_activation("swish")
    with pytest.raises(ValueError, match="slope"):
        LeakyReLU(1.5)
