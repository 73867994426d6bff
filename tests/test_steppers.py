"""The stepper interface (``bpnn.steppers``): inputs, target modes, the choice of path and
``fallback``, ``target_rows``.

Training runs the NumPy reference only (``reference=True``); the tests of which path
``make_stepper`` picks skip without Numba.  The compiled paths' arithmetic is compared with the
reference in ``test_fast_paths.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpnn import fast
from bpnn.losses import one_hot
from bpnn.network import Network
from bpnn.optim import SGD, Adam
from bpnn.steppers import NumpyStepper, checked_data, make_stepper, target_rows

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


# ---- the choice of path and why ---------------------------------------------------------------
needs_numba = pytest.mark.skipif(not fast.jit_available(), reason="numba is not installed")


def choose(net=None, optimizer=None, X=None, batch_size=1, **kw):
    X_, labels = data()
    net = net or Network([N_IN, 4, N_OUT], seed=0)
    return make_stepper(
        net,
        optimizer or SGD(0.1),
        X_ if X is None else X,
        labels,
        batch_size,
        np.random.default_rng(0),
        **kw,
    )


@needs_numba
@pytest.mark.parametrize(
    "batch_size,optimizer,expect",
    [
        (1, SGD(0.1), "numba-per-sample"),
        (5, SGD(0.1), "compiled-small-net"),
        (1, SGD(0.1, momentum=0.9), "compiled-small-net"),  # per-sample is plain SGD only
        (1, Adam(0.01), "compiled-small-net"),
    ],
)
def test_make_stepper_picks_the_fast_path(batch_size, optimizer, expect):
    step = choose(optimizer=optimizer, batch_size=batch_size)
    assert step.name == expect and step.fallback is None


@needs_numba
def test_a_larger_network_takes_the_blas_mini_batch_path(monkeypatch):
    """Past ``SMALL_WORK`` multiply-adds a batch, BLAS per layer beats the whole-call loop; the
    batch counts as at most the samples there are."""
    from bpnn.fast import small

    net, share = Network([N_IN, 40, N_OUT], seed=0), small.density(data()[0])
    assert 0.9 < share < 1  # (a few zero pixels)
    rows = small.work(net.sizes, N - 1, share)
    monkeypatch.setattr(small, "SMALL_WORK", rows)  # up to N - 1 rows: small
    assert small.is_small(net.sizes, N - 1, share) and not small.is_small(net.sizes, N, share)
    assert choose(net=net, batch_size=N - 1).name == "compiled-small-net"
    assert choose(net=net, batch_size=N).name == "compiled-mini-batch"
    assert choose(net=net, batch_size=10**6).name == "compiled-mini-batch"
    monkeypatch.setattr(small, "SMALL_WORK", small.work(net.sizes, N, share))  # 10**6: N rows
    assert choose(net=net, batch_size=10**6).name == "compiled-small-net"


def test_the_bound_counts_non_zero_inputs_and_is_lower_for_two_hidden_layers():
    from bpnn.fast import small

    assert small.work([100, 10, 1], 4, 0.25) == 4 * (25 * 10 + 10)
    X = np.zeros((8, 10))
    X[:, :3] = 1.0
    assert small.density(X) == pytest.approx(0.3)
    deep, shallow = [10, 300, 30, 1], [10, 300, 1]
    batch = small.DEEP_WORK // (10 * 300 + 300 * 30) + 1  # past DEEP_WORK, within SMALL_WORK
    assert small.work(deep, batch) <= small.SMALL_WORK and small.work(shallow, batch) < 10**6
    assert small.is_small(shallow, batch) and not small.is_small(deep, batch)


def test_reference_is_numpy_without_a_reason():
    step = choose(reference=True)
    assert isinstance(step, NumpyStepper) and step.fallback is None


class OwnSGD(SGD):
    """An optimiser of the user's own: the fast paths do not know its update."""


@pytest.mark.parametrize(
    "setup,reason",
    [
        ({"optimizer": OwnSGD(0.1)}, "optimizer OwnSGD has no fast path"),
        (
            {"net": Network([N_IN, 4, N_OUT], output="softmax", loss="squared", seed=0)},
            "activation 'softmax' with loss 'squared' has no fast path",
        ),
        ({"X": np.asfortranarray(data()[0])}, "C-contiguous"),
    ],
)
def test_fallback_says_why_numpy_runs(setup, reason):
    if not fast.jit_available():
        pytest.skip("without numba every fallback says so")
    step = choose(**setup)
    assert isinstance(step, NumpyStepper)
    assert reason in step.fallback


def test_fallback_without_numba(monkeypatch):
    monkeypatch.setattr(fast, "jit_available", lambda: False)
    step = choose()
    assert step.name == "numpy" and step.fallback == "numba is not installed"


def test_make_stepper_checks_data_and_weights_before_choosing():
    X, labels = data()
    with pytest.raises(ValueError, match="inputs must be a numeric"):
        choose(X=X.reshape(N, N_IN, 1))
    with pytest.raises(ValueError, match="sample weights must have shape"):
        choose(weights=np.ones(N - 1))
    with pytest.raises(ValueError, match="not all zero"):
        choose(weights=np.zeros(N))


def test_checked_data_refuses_text_and_nested_arrays():
    net = Network([N_IN, 4, N_OUT], seed=0)
    X, labels = data()
    for bad_X in (X.astype(str), X.reshape(N, 2, 3), X.astype(bool)):
        with pytest.raises(ValueError, match=r"inputs must be a numeric \(n, 6\) array"):
            checked_data(net, bad_X, labels)
    with pytest.raises(ValueError, match=r"targets must be \(24,\) class labels or \(24, 3\)"):
        checked_data(net, X, labels.reshape(N, 1).repeat(N_OUT, axis=1))  # integer rows


# ---- target rows: what the fast paths train towards -------------------------------------------
@pytest.mark.parametrize(
    "loss,on,off",
    [("squared", 0.9, 0.1), ("binary_cross_entropy", 1.0, 0.0), ("cross_entropy", 1.0, 0.0)],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_target_rows_from_labels(loss, on, off, dtype):
    net = Network([N_IN, 4, N_OUT], loss=loss, dtype=dtype, seed=0)
    labels = checked_data(net, *data())[1]
    rows = target_rows(net, labels, 0.9, 0.1)
    assert rows.shape == (N, N_OUT) and rows.dtype == dtype
    np.testing.assert_array_equal(rows, one_hot(labels, N_OUT, on, off, dtype))


def test_target_rows_keeps_rows_as_they_are():
    net = Network([N_IN, 4, N_OUT], seed=0)
    rows = np.random.default_rng(0).random((N, N_OUT))
    assert target_rows(net, rows, 0.9, 0.1) is rows
