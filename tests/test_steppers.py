"""The stepper interface (``bpnn.steppers``): inputs, target modes, ``fallback``.

These run the NumPy reference only (``reference=True``), so they need no Numba; the compiled
paths are compared with it in ``test_fast_paths.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpnn.losses import one_hot
from bpnn.network import Network
from bpnn.optim import SGD
from bpnn.steppers import checked_data, make_stepper

N, N_IN, N_OUT = 24, 6, 3


def data(seed: int = 0):
    gen = np.random.default_rng(seed)
    return (
        gen.integers(0, 256, (N, N_IN)).astype(np.uint8),
        gen.integers(0, N_OUT, N).astype(np.int64),
    )


def train(loss, X, targets, on=0.9, off=0.1, scale=1 / 255, batch_size=5):
    """Losses of two reference calls and the trained parameters."""
    net = Network([N_IN, 4, N_OUT], loss=loss, seed=3)
    step = make_stepper(
        net,
        SGD(0.1),
        X,
        targets,
        batch_size,
        np.random.default_rng(0),
        scale=scale,
        on=on,
        off=off,
        reference=True,
    )
    assert step.name == "numpy" and step.fallback is None
    losses = [step(np.arange(N)), step(np.arange(N)[::-1])]
    return losses, net.params()


@pytest.mark.parametrize(
    "loss,on,off", [("squared", 0.9, 0.1), ("binary_cross_entropy", 1, 0), ("cross_entropy", 1, 0)]
)
def test_label_mode_trains_towards_the_loss_targets(loss, on, off):
    """Labels give what the loss's ``targets`` says: on/off rows, 1/0 rows, or indices."""
    X, labels = data()
    by_label = train(loss, X, labels)
    by_rows = train(loss, X, one_hot(labels, N_OUT, on, off))
    np.testing.assert_allclose(by_label[0], by_rows[0], rtol=1e-12)
    for p, q in zip(by_label[1], by_rows[1]):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)


def test_float_inputs_equal_scaled_pixels():
    X, labels = data()
    pixels = train("squared", X, labels, scale=0.5)
    floats = train("squared", X.astype(np.float64), labels, scale=0.5)
    assert pixels[0] == floats[0]


def test_checked_data():
    net = Network([N_IN, 4, N_OUT], seed=0)
    X, labels = data()
    rows = checked_data(net, X, one_hot(labels, N_OUT).astype(np.float32))[1]
    assert rows.dtype == net.dtype and rows.flags.c_contiguous
    assert checked_data(net, X, labels)[1].dtype == np.intp
    for bad_X, bad_T, words in [
        (X[:, :3], labels, "inputs"),
        (X, labels[:5], "targets"),
        (X, labels + N_OUT, "labels"),
        (X, np.zeros((N, 2)), "targets"),
        (X, labels.astype(float), "targets"),
    ]:
        with pytest.raises(ValueError, match=words):
            checked_data(net, bad_X, bad_T)
