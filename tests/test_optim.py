"""Optimisers and schedules against numbers computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpnn import SGD, Adam, Network, learning_rate, make_optimizer
from bpnn.optim import AdamW


def test_sgd_is_formula_5():
    # w <- w + eta delta x with the true gradient g = -delta x:  w <- w - eta g.
    W, b = np.array([[0.5, -0.2]]), np.array([0.1])
    delta, x, eta = 0.3, np.array([1.0, 2.0]), 0.5
    SGD(lr=eta).step([W, b], [-delta * x[None, :], np.array([-delta])])
    # 0.5 + 0.5*0.3*1 = 0.65;  -0.2 + 0.5*0.3*2 = 0.1;  0.1 + 0.5*0.3 = 0.25
    np.testing.assert_allclose(W, [[0.65, 0.1]], rtol=1e-15)
    np.testing.assert_allclose(b, [0.25], rtol=1e-15)


def test_sgd_batch_of_one_on_a_network_is_the_tutorials_update(rng):
    net = Network([3, 2], seed=0)  # one sigmoid layer
    x, t = rng.random(3), np.array([0.9, 0.1])
    W0 = net.layers[0].W.copy()
    y = 1 / (1 + np.exp(-(W0 @ x)))
    delta = y * (1 - y) * (t - y)  # formula 3
    SGD(lr=0.3).step(net.params(), net.gradient(x, t[None]))
    np.testing.assert_allclose(net.layers[0].W, W0 + 0.3 * np.outer(delta, x), atol=1e-15)


def test_momentum_two_steps_by_hand():
    w = np.array([1.0])
    opt = SGD(lr=0.1, momentum=0.9)
    opt.step([w], [np.array([0.5])])  # v = 0.5;            w = 1 - 0.05 = 0.95
    opt.step([w], [np.array([-0.2])])  # v = 0.45 - 0.2 = 0.25; w = 0.95 - 0.025 = 0.925
    assert w[0] == pytest.approx(0.925, abs=1e-15)
    assert opt.velocity[0][0] == pytest.approx(0.25, abs=1e-15)


def test_nesterov_two_steps_by_hand():
    w = np.array([1.0])
    opt = SGD(lr=0.1, momentum=0.9, nesterov=True)
    opt.step([w], [np.array([0.5])])  # v = 0.5;  w = 1 - 0.1 (0.5 + 0.45) = 0.905
    opt.step([w], [np.array([-0.2])])  # v = 0.25; w = 0.905 - 0.1 (-0.2 + 0.225) = 0.9025
    assert w[0] == pytest.approx(0.9025, abs=1e-15)


def test_adam_two_steps_by_hand():
    w = np.array([1.0])
    opt = Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    g1, g2 = 0.5, -0.2
    opt.step([w], [np.array([g1])])
    opt.step([w], [np.array([g2])])
    # step 1: m = 0.05, v = 0.00025; m_hat = 0.5, v_hat = 0.25 -> w = 1 - 0.01 * 0.5 / (0.5 + 1e-8)
    # step 2: m = 0.045 - 0.02 = 0.025, v = 0.00024975 + 0.00004 = 0.00028975
    #         m_hat = 0.025 / 0.19 = 0.131579, v_hat = 0.00028975 / 0.001999 = 0.144947
    m1, v1 = 0.1 * g1, 0.001 * g1**2
    w1 = 1.0 - 0.01 * (m1 / 0.1) / (math.sqrt(v1 / 0.001) + 1e-8)
    m2, v2 = 0.9 * m1 + 0.1 * g2, 0.999 * v1 + 0.001 * g2**2
    m_hat, v_hat = m2 / (1 - 0.9**2), v2 / (1 - 0.999**2)
    assert m_hat == pytest.approx(0.131579, abs=1e-6) and v_hat == pytest.approx(0.144947, abs=1e-6)
    w2 = w1 - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert w[0] == pytest.approx(w2, abs=2e-8)  # the textbook form
    # bpnn uses the paper's efficient form (Kingma & Ba, end of section 2): the bias corrections
    # go into the step size, lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), and eps is added to sqrt(v).
    e1 = 1.0 - 0.01 * math.sqrt(1 - 0.999) / (1 - 0.9) * m1 / (math.sqrt(v1) + 1e-8)
    e2 = e1 - 0.01 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2) * m2 / (math.sqrt(v2) + 1e-8)
    assert w[0] == pytest.approx(e2, abs=1e-15)
    assert w[0] < e1 < 1.0


def test_weight_decay_only_on_matrices():
    W, b = np.ones((2, 2)), np.ones(2)
    SGD(lr=0.1, weight_decay=0.5).step([W, b], [np.zeros((2, 2)), np.zeros(2)])
    np.testing.assert_allclose(W, 0.95)  # 1 - 0.1 * 0.5 * 1
    np.testing.assert_array_equal(b, 1.0)
    W, b = np.ones((2, 2)), np.ones(2)
    Adam(lr=0.1, weight_decay=0.5).step([W, b], [np.zeros((2, 2)), np.zeros(2)])
    assert (W < 1).all() and (b == 1).all()


def test_adamw_decay_is_decoupled_from_the_adaptive_step():
    """AdamW (Loshchilov & Hutter 2019): w <- w - lr wd w, then Adam's step on the bare gradient;
    the biases are not decayed.  Adam's L2 decay goes through m and v instead."""
    lr, wd, g = 0.01, 0.1, 0.5
    W, b = np.full((1, 1), 2.0), np.array([2.0])
    opt = AdamW(lr=lr, weight_decay=wd)
    opt.step([W, b], [np.full((1, 1), g), np.array([g])])
    step = lr * math.sqrt(1 - 0.999) / (1 - 0.9) * (0.1 * g) / (math.sqrt(0.001 * g * g) + 1e-8)
    assert W[0, 0] == pytest.approx(2.0 - lr * wd * 2.0 - step, abs=1e-15)
    assert b[0] == pytest.approx(2.0 - step, abs=1e-15)  # no decay on biases
    assert opt.m[0][0, 0] == pytest.approx(0.1 * g)  # the decay never entered the moments
    coupled = Adam(lr=lr, weight_decay=wd)
    W2 = np.full((1, 1), 2.0)
    coupled.step([W2, np.array([2.0])], [np.full((1, 1), g), np.array([g])])
    assert coupled.m[0][0, 0] == pytest.approx(0.1 * (g + wd * 2.0))
    # no decay: AdamW is Adam, bit for bit
    p1, p2 = [np.array([[1.5, -0.5]])], [np.array([[1.5, -0.5]])]
    a, w = Adam(lr=0.01), AdamW(lr=0.01)
    for grad in ([0.3, -0.2], [0.1, 0.4]):
        a.step(p1, [np.array([grad])])
        w.step(p2, [np.array([grad])])
    np.testing.assert_array_equal(p1[0], p2[0])
    rule = AdamW(lr=0.01, weight_decay=wd).rule()
    assert rule.decoupled and rule.kind == Adam.code and not Adam().rule().decoupled
    assert make_optimizer("adamw", 0.01, weight_decay=wd).hyper()["name"] == "adamw"


def test_schedules():
    assert learning_rate("constant", 0.3, 50, 100) == 0.3
    assert learning_rate("step", 1.0, 9, 100, step_size=10, gamma=0.5) == 1.0
    assert learning_rate("step", 1.0, 10, 100, step_size=10, gamma=0.5) == 0.5
    assert learning_rate("step", 1.0, 25, 100, step_size=10, gamma=0.5) == 0.25
    assert learning_rate("exponential", 2.0, 3, 100, gamma=0.5) == 0.25
    assert learning_rate("cosine", 1.0, 0, 10) == 1.0
    assert learning_rate("cosine", 1.0, 5, 10) == pytest.approx(0.5)
    assert learning_rate("cosine", 1.0, 10, 10, min_lr=0.1) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        learning_rate("linear", 1.0, 0, 10)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_state_dict_round_trip(name, rng):
    params = [rng.normal(size=(3, 2)), rng.normal(size=3)]
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(3)]
    a = make_optimizer(name, lr=0.05)
    for g in grads[:2]:
        a.step(params, g)
    state = {k: np.array(v) for k, v in a.state_dict().items()}
    assert all(isinstance(v, np.ndarray) for v in state.values())
    b = make_optimizer(name, lr=0.05)
    b.load_state_dict(state)
    assert b.t == a.t == 2
    pa, pb = [p.copy() for p in params], [p.copy() for p in params]
    a.step(pa, grads[2])
    b.step(pb, grads[2])
    for x, y in zip(pa, pb):
        np.testing.assert_array_equal(x, y)


def test_make_optimizer_and_bad_arguments():
    assert make_optimizer("momentum", 0.1).momentum == 0.9
    assert make_optimizer("nesterov", 0.1).nesterov is True
    assert make_optimizer("adam", 0.001).hyper()["name"] == "adam"
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="learning rate"):
        SGD(lr=0)
    with pytest.raises(ValueError, match="learning rate"):
        SGD(lr=float("nan"))
    with pytest.raises(ValueError, match="momentum"):
        SGD(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="weight decay"):
        SGD(lr=0.1, weight_decay=-1)
    with pytest.raises(ValueError, match="betas"):
        Adam(beta1=1.0)


# ---- the update as numbers: what the compiled paths run ----------------------------------------
def test_adam_rule_is_the_bias_corrected_step_that_step_applies():
    opt = Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7, weight_decay=0.1)
    rule = opt.rule(3)
    assert rule.kind == Adam.code and (rule.beta1, rule.beta2, rule.eps) == (0.8, 0.99, 1e-7)
    assert rule.step == 0.01 * math.sqrt(1 - 0.99**3) / (1 - 0.8**3)
    assert rule.weight_decay == 0.1 and opt.rule() == opt.rule(1)  # default: the next step
    assert opt.next_rule() == opt.rule(1) and opt.t == 1


def test_step_size_is_the_rules_step_of_each_step():
    """What a compiled loop reads once a step instead of building the whole rule."""
    opt = Adam(lr=0.003, beta1=0.85, beta2=0.995)
    for t in (1, 2, 7, 1000):
        assert opt.step_size(t) == opt.rule(t).step  # the same float, bit for bit
    assert SGD(lr=0.1, momentum=0.9).step_size(5) == SGD(lr=0.1).rule(5).step == 0.0


def test_sgd_rule_and_state():
    opt = make_optimizer("nesterov", lr=0.2, weight_decay=0.01)
    rule = opt.rule()
    assert (rule.kind, rule.lr, rule.momentum, rule.nesterov) == (SGD.code, 0.2, 0.9, True)
    assert SGD(lr=0.1).state_for([np.zeros(3)]) == []  # plain SGD keeps no state
    opt.advance(5)
    assert opt.t == 5


def test_state_for_creates_the_state_step_uses_and_fits_it_to_the_params():
    params = [np.ones((2, 3), np.float32), np.ones(2, np.float32)]
    opt = Adam()
    m, v = opt.state_for(params)
    assert [a.shape for a in m] == [(2, 3), (2,)] and m[0].dtype == np.float32
    assert opt.state_for(params)[0][0] is m[0]  # the same arrays, not copies
    opt.step(params, [np.ones((2, 3), np.float32), np.ones(2, np.float32)])
    assert opt.m[0] is m[0] and m[0].any()
    # state loaded from a file in another dtype or layout is fitted, values kept
    opt.load_state_dict(
        {
            "t": np.array(1),
            "m.0": np.asfortranarray(np.ones((2, 3))),
            "v.0": np.ones((2, 3)),
            "m.1": np.ones(2),
            "v.1": np.ones(2),
        }
    )
    m, _ = opt.state_for(params)
    assert m[0].dtype == np.float32 and m[0].flags.c_contiguous and (m[0] == 1).all()


def test_reprs_show_the_hyperparameters():
    assert repr(SGD(lr=0.3, momentum=0.5)) == (
        "SGD(lr=0.3, weight_decay=0.0, momentum=0.5, nesterov=False)"
    )
    assert "beta2=0.99" in repr(Adam(beta2=0.99))


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_and_adamw_without_a_rate_take_adams_usual_one(name):
    from bpnn.prepare import resolve_settings

    X, y = np.zeros((20, 784), np.uint8), np.arange(20) % 10  # image defaults: momentum at 0.1
    assert resolve_settings(X, y, optimizer=name)["lr"] == 1e-3
    assert resolve_settings(X, y, optimizer=name, lr=0.01)["lr"] == 0.01
