"""Gradient-norm clipping (``--clip-norm``): the rule worked by hand, every path agreeing with the
NumPy reference, and the setting reaching a run from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpnn import fast
from bpnn.optim import SGD, Adam, UpdateRule, make_optimizer
from bpnn.settings import TrainConfig
from bpnn.steppers import NumpyStepper, make_stepper
from conftest import run_cli
from test_every_path import BATCH, assert_same_training, data, network, picked


def test_the_global_norm_is_clipped_by_hand():
    rule = UpdateRule(SGD.code, 0.1, clip_norm=1.0)
    g = [np.array([[3.0, 0.0]]), np.array([4.0])]  # global norm sqrt(9 + 16) = 5
    clipped = rule.clipped(g)
    np.testing.assert_allclose(clipped[0], [[0.6, 0.0]])  # each scaled by 1 / 5
    np.testing.assert_allclose(clipped[1], [0.8])
    small = [np.array([0.3]), np.array([0.4])]  # norm 0.5 <= 1: unchanged
    np.testing.assert_array_equal(rule.clipped(small)[0], small[0])
    unclipped = UpdateRule(SGD.code, 0.1)
    assert unclipped.clipped(g) is g and not UpdateRule(SGD.code, 0.1, clip_norm=1.0).plain


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_a_step_uses_the_clipped_gradient_before_decay(cls):
    p = [np.array([[1.0, 2.0]]), np.array([0.5])]
    g = [np.array([[30.0, 0.0]]), np.array([40.0])]
    clipped = cls(lr=0.1, weight_decay=0.01, clip_norm=2.0)
    plain = cls(lr=0.1, weight_decay=0.01)
    a, b = [x.copy() for x in p], [x.copy() for x in p]
    clipped.step(a, g)
    plain.step(b, [x * (2.0 / 50.0) for x in g])  # by hand: the norm-50 gradient scaled to 2
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_plain_sgd_moves_the_weights_at_most_lr_times_the_norm():
    X, y = data()
    net = network("cross_entropy", "softmax")
    opt = make_optimizer("sgd", 0.5, clip_norm=1e-3)
    step = make_stepper(net, opt, X, y, BATCH, np.random.default_rng(0), scale=1 / 255)
    for start in range(0, 48, BATCH):
        before = [p.copy() for p in net.params()]
        step(np.arange(start, start + BATCH))
        moved = np.sqrt(sum(((p - q) ** 2).sum() for p, q in zip(net.params(), before)))
        assert 0 < moved <= 0.5 * 1e-3 * (1 + 1e-4)


@pytest.mark.parametrize("opt_name", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("path", ["numba", "numba-blas", "jax"])
def test_every_path_clips_as_the_reference_does(path, opt_name):
    """ "numba": the small-net loop (this net is small); "numba-blas": the BLAS mini-batches."""
    if path.startswith("numba") and not fast.jit_available():
        pytest.skip("numba is not installed")
    kw: dict = {"scale": 1 / 255}
    if path == "jax":
        pytest.importorskip("jax", reason="jax is not installed (pip install jax)")
        kw["device"] = "jax-cpu"
    X, y = data()
    net = network("cross_entropy", "softmax")
    lr = 0.002 if opt_name == "adam" else 0.05

    def built(reference: bool, **extra):
        opt = make_optimizer(opt_name, lr, weight_decay=0.01, clip_norm=0.05)
        twin = net.copy()
        for layer, src in zip(twin.layers, net.layers):
            layer.activation = src.activation
        gen = np.random.default_rng(0)
        return picked(
            path, net=twin, optimizer=opt, X=X, targets=y, batch_size=BATCH, rng=gen,
            reference=reference, **extra,
        )  # fmt: skip

    ref, other = built(True, scale=1 / 255), built(False, **kw)
    assert not isinstance(other, NumpyStepper), getattr(other, "fallback", None)
    want = {"numba": "compiled-small-net", "numba-blas": "compiled-mini-batch"}
    assert other.name == want.get(path, other.name)
    assert_same_training(ref, other)


def test_the_setting_is_checked_and_reaches_the_run(capsys, tmp_path, tiny_mnist_dir):
    with pytest.raises(ValueError, match="clip-norm must be None or a positive number"):
        TrainConfig(clip_norm=0)
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys,
        "train",
        "--data",
        tiny_mnist_dir,
        "--clip-norm",
        "0.5",
        "--epochs",
        "1",
        "--out",
        out,
        "--no-report",
        "--json",
    )
    assert code == 0, err
    assert "clip norm 0.5" in err  # the log's settings lines
    assert json.loads((out / "config.json").read_text())["clip_norm"] == 0.5
    assert json.loads(stdout)["epochs"] == 1
