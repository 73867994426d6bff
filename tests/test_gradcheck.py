"""Gradient checking (formula 6): the generic function, both engines, dropout, sampling, and
that a deliberately wrong derivative is caught."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import bpnn
from bpnn import gradcheck, neurons
from bpnn.activations import Sigmoid, Tanh
from bpnn.commands.gradcheck import OUTPUTS as OUTPUT_LOSS
from bpnn.commands.gradcheck import make_case
from conftest import HIDDEN

EPS = 1e-5


def test_relative_error_formula():
    # |a - n| / max(|a| + |n|, floor)
    assert gradcheck.relative_error(1.0, 1.1) == pytest.approx(0.1 / 2.1)
    assert gradcheck.relative_error(-2.0, 2.0) == pytest.approx(1.0)
    assert gradcheck.relative_error(0.0, 0.0) == 0.0  # the floor stops 0 / 0
    assert gradcheck.relative_error(1e-12, 0.0, floor=1e-8) == pytest.approx(1e-4)


def test_generic_check_on_a_known_function():
    # E = sum(c * w^3): dE/dw = 3 c w^2.
    c = np.array([[1.0, -2.0], [0.5, 3.0]])
    w = np.array([[0.3, -0.7], [1.2, 0.4]])
    loss = lambda: float(np.sum(c * w**3))  # noqa: E731
    right = gradcheck.check_gradient(loss, [w], [3 * c * w**2], EPS)
    assert right.passed and right.max_rel_error < 1e-8
    assert len(right.checks) == 4 and right.n_params == 4
    assert right.checks[1].name == "p0[0, 1]"
    assert right.checks[1].numeric == pytest.approx(3 * -2.0 * 0.49, rel=1e-8)
    wrong = gradcheck.check_gradient(loss, [w], [2 * c * w**2], EPS)
    assert not wrong.passed
    assert wrong.max_rel_error == pytest.approx(1 / 5, rel=1e-6)  # |2 - 3| / (2 + 3)
    # The parameters are restored exactly.
    np.testing.assert_array_equal(w, [[0.3, -0.7], [1.2, 0.4]])


def test_generic_check_validates_its_arguments():
    w = np.zeros(3)
    with pytest.raises(ValueError, match="eps must be positive"):
        gradcheck.check_gradient(lambda: 0.0, [w], [w], 0.0)
    with pytest.raises(ValueError, match="shape"):
        gradcheck.check_gradient(lambda: 0.0, [w], [np.zeros(4)])
    with pytest.raises(ValueError, match="1 parameter arrays but 2"):
        gradcheck.check_gradient(lambda: 0.0, [w], [w, w])


def test_report_summary():
    w = np.array([1.0, 2.0])
    report = gradcheck.check_gradient(
        lambda: float(w @ w), [w], [2 * w], EPS, names=["v"], threshold=1e-6
    )
    d = report.to_dict(per_param=True)
    assert d["passed"] is True and d["checked"] == 2 and d["worst"].startswith("v[")
    assert d["params"][0]["analytic"] == 2.0
    assert "max_rel_error" in repr(report)
    strict = gradcheck.check_gradient(
        lambda: float(w @ w), [w], [2 * w + 1e-3], EPS, threshold=1e-6
    )
    assert not strict.passed and strict.to_dict()["passed"] is False


@pytest.mark.parametrize("hidden,output_loss", list(itertools.product(HIDDEN, OUTPUT_LOSS)))
def test_every_case_passes_for_both_engines(hidden, output_loss):
    output, loss = output_loss
    rng = np.random.default_rng(11)
    for sizes in ((4, 5, 3), (3, 4, 4, 2)):
        net, X, T = make_case(sizes, hidden, output, loss, 0.0, EPS, rng)
        vec = gradcheck.check_network(net, X, T, EPS, threshold=1e-6)
        assert vec.passed, (sizes, vec.worst)
        obj = gradcheck.check_object_network(neurons.ObjectNetwork.from_vectorised(net), X, T, EPS)
        assert obj.passed, (sizes, obj.worst)
        assert len(vec.checks) == len(obj.checks) == net.n_params()


def test_tutorial_eps_passes_a_looser_threshold(rng):
    net, X, T = make_case((4, 5, 3), "sigmoid", "sigmoid", "squared", 0.0, 1e-4, rng)
    report = gradcheck.check_network(net, X, T)  # eps = 1e-4, the tutorial's
    assert report.eps == 1e-4 and report.max_rel_error < 1e-5


def test_wrong_derivative_is_detected(monkeypatch, rng):
    net, X, T = make_case((4, 5, 3), "tanh", "sigmoid", "squared", 0.0, EPS, rng)
    onet = neurons.ObjectNetwork.from_vectorised(net)
    assert gradcheck.check_network(net, X, T, EPS).passed
    # Inject a plausible bug: tanh' = 1 - y instead of 1 - y^2.
    monkeypatch.setattr(Tanh, "derivative", lambda self, y: 1.0 - y)
    bad = gradcheck.check_network(net, X, T, EPS)
    assert not bad.passed and bad.max_rel_error > 1e-3
    assert bad.worst.name.startswith(("W0", "b0"))  # only the hidden layer uses tanh
    bad_obj = gradcheck.check_object_network(onet, X, T, EPS)
    assert not bad_obj.passed and bad_obj.max_rel_error > 1e-3


def test_wrong_output_derivative_is_detected(monkeypatch, rng):
    net, X, T = make_case((4, 5, 3), "relu", "sigmoid", "squared", 0.0, EPS, rng)
    monkeypatch.setattr(Sigmoid, "derivative", lambda self, y: 0.25 + 0 * y)
    assert not gradcheck.check_network(net, X, T, EPS).passed


def test_sampled_check_on_a_large_net(rng):
    net = bpnn.Network([60, 30, 10], init="xavier", seed=0)
    X, T = rng.uniform(0, 1, (2, 60)), rng.uniform(0.1, 0.9, (2, 10))
    a = gradcheck.check_network(net, X, T, EPS, sample=25, rng=np.random.default_rng(1))
    b = gradcheck.check_network(net, X, T, EPS, sample=25, rng=np.random.default_rng(1))
    assert len(a.checks) == 25 and a.n_params == net.n_params() and a.passed
    assert [c.name for c in a.checks] == [c.name for c in b.checks]
    assert len({c.name for c in a.checks}) == 25  # drawn without replacement
    assert (
        len(gradcheck.check_network(net, X[:1], T[:1], EPS, sample=10**6).checks) == net.n_params()
    )
    with pytest.raises(ValueError, match="positive number"):
        gradcheck.check_network(net, X, T, EPS, sample=0)


def test_object_network_weights_are_restored(rng):
    onet = neurons.ObjectNetwork([3, 4, 2], activation="tanh", init="xavier", seed=2)
    before = onet.params()
    report = gradcheck.check_object_network(onet, rng.normal(size=3), [0.2, 0.7], EPS)
    assert report.passed and report.details["engine"] == "object"
    for a, b in zip(before, onet.params()):
        np.testing.assert_array_equal(a, b)


def test_seeded_dropout_gives_identical_masks(rng):
    net = bpnn.Network([4, 8, 6, 3], activation="relu", init="he", seed=0, dropout=0.5)
    X, T = rng.normal(size=(5, 4)), rng.uniform(0.1, 0.9, (5, 3))
    same = [net.loss_value(X, T, rng=np.random.default_rng(9)) for _ in range(2)]
    assert same[0] == same[1]
    g1 = net.gradient(X, T, rng=np.random.default_rng(9))
    g2 = net.gradient(X, T, rng=np.random.default_rng(9))
    for a, c in zip(g1, g2, strict=True):
        np.testing.assert_array_equal(a, c)
    other = net.loss_value(X, T, rng=np.random.default_rng(10))
    assert other != same[0]  # other masks, another loss: dropout really is on


@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradcheck_with_dropout_passes(hidden, rng):
    net, X, T = make_case((4, 6, 5, 3), hidden, "softmax", "cross_entropy", 0.3, EPS, rng)
    report = gradcheck.check_network(net, X, T, EPS, dropout_seed=1234)
    assert report.passed, report.worst
    # With a fresh mask per evaluation the check must fail: proof the masks matter.
    masks = np.random.default_rng(5)
    grads = net.gradient(X, T, rng=masks)
    broken = gradcheck.check_gradient(
        lambda: net.loss_value(X, T, rng=masks), net.params(), grads, EPS
    )
    assert not broken.passed
