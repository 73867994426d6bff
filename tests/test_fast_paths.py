"""The fast steppers (``bpnn.fast``) against the reference ``NumpyStepper``.

Each test trains two copies of one network on the same samples in the same order, one with the
reference path and one with the path ``make_stepper`` picks, and compares losses and weights.
Sums run in another order on the two paths, so they agree to rounding: float64 within 1e-12
(relative to the largest weight), float32 within 1e-5 after a few hundred steps (float32's
epsilon is 1.2e-7; tens of rounding differences per weight add up).  The slow MNIST test checks
a whole epoch against float64 arithmetic.

Data: small synthetic uint8 images that are mostly zero (like MNIST), with a column that is zero
in every image and one all-zero image, so the zero-skipping paths are exercised.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from bpnn import fast
from bpnn.network import Network
from bpnn.optim import SGD, make_optimizer
from bpnn.steppers import NumpyStepper, make_stepper

pytest.importorskip("numba")

TOL = {np.float64: 1e-12, np.float32: 1e-5}


def sparse_images(n: int, n_in: int, seed: int = 3):
    """uint8 images (n, n_in), about 75% zeros, column 5 always zero, image 0 all zero."""
    gen = np.random.default_rng(seed)
    images = gen.integers(1, 256, size=(n, n_in)).astype(np.uint8)
    images[gen.random((n, n_in)) < 0.75] = 0
    images[:, 5] = 0
    images[0] = 0
    labels = gen.integers(0, 10, size=n).astype(np.uint8)
    return images, labels


def run_both(sizes, dtype, optimizer="sgd", opt_kw=None, batch_size=1, n=160, chunks=3,
             lr=0.3, expect=None, **net_kw):
    """Train a network and its copy with the reference and the chosen path; compare them."""
    images, labels = sparse_images(n, sizes[0])
    net = Network(sizes, dtype=dtype, seed=11, **net_kw)
    twin = net.copy()
    order = np.random.default_rng(5).permutation(n)
    ref = NumpyStepper(net, make_optimizer(optimizer, lr, **(opt_kw or {})), images, labels,
                       batch_size, np.random.default_rng(9))
    fast_one = make_stepper(twin, make_optimizer(optimizer, lr, **(opt_kw or {})), images, labels,
                            batch_size, np.random.default_rng(9))
    if expect is not None:
        assert fast_one.name == expect
    for part in np.array_split(order, chunks):
        loss_ref, loss_fast = ref(part), fast_one(part)
        assert loss_fast == pytest.approx(loss_ref, rel=TOL[dtype])
        assert_params_close(net, twin, TOL[dtype])  # current after every call
    assert fast_one.optimizer.t == ref.optimizer.t
    return net, twin, ref, fast_one


def assert_params_close(net, twin, tol):
    for i, (p, q) in enumerate(zip(net.params(), twin.params())):
        scale = max(1.0, float(np.abs(p).max()))
        err = float(np.abs(p - q).max()) / scale
        assert err <= tol, f"parameter {i} differs by {err:.3g} (tolerance {tol:g})"


# ---- per-sample SGD: the tutorial's algorithm ------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_sample_tutorial_matches_reference(dtype):
    net, twin, *_ = run_both([64, 24, 10], dtype, expect="numba-per-sample")
    start = Network([64, 24, 10], dtype=dtype, seed=11).layers[0].W
    assert not np.array_equal(net.layers[0].W, start)  # it did train


@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu", "identity"])
def test_per_sample_other_activations_and_cross_entropy(activation):
    run_both([64, 20, 12, 10], np.float64, activation=activation, loss="cross_entropy", lr=0.05,
             expect="numba-per-sample")


def test_per_sample_single_layer_squared_error():
    run_both([64, 10], np.float64, output="sigmoid", expect="numba-per-sample")


def test_zero_pixels_keep_their_weights():
    """A pixel that is zero in every image gets no update, per sample and per batch."""
    for batch_size, name in ((1, "numba-per-sample"), (8, "compiled-mini-batch")):
        net, twin, *_ = run_both([64, 16, 10], np.float64, batch_size=batch_size, expect=name)
        before = Network([64, 16, 10], dtype=np.float64, seed=11).layers[0].W
        np.testing.assert_array_equal(twin.layers[0].W[:, 5], before[:, 5])
        assert not np.array_equal(twin.layers[0].W[:, 6], before[:, 6])


def test_all_zero_image_still_trains_the_bias():
    images = np.zeros((4, 16), np.uint8)
    labels = np.array([1, 2, 3, 1], np.uint8)
    net = Network([16, 8, 4], dtype=np.float64, seed=0)
    twin = net.copy()
    ref = NumpyStepper(net, SGD(0.5), images, labels, 1, np.random.default_rng(0))
    step = make_stepper(twin, SGD(0.5), images, labels, 1, np.random.default_rng(0))
    assert step(np.arange(4)) == pytest.approx(ref(np.arange(4)), rel=1e-12)
    assert_params_close(net, twin, 1e-12)
    assert not np.array_equal(twin.layers[0].b, np.zeros(8))


# ---- mini-batches ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer,opt_kw", [
    ("sgd", {}), ("momentum", {}), ("nesterov", {"weight_decay": 1e-3}),
    ("adam", {"weight_decay": 1e-3}),
])
def test_mini_batch_matches_reference(dtype, optimizer, opt_kw):
    lr = 1e-3 if optimizer == "adam" else 0.1
    # 160 samples in batches of 24: the last batch of each chunk is partial
    run_both([64, 32, 10], dtype, optimizer, opt_kw, batch_size=24, activation="relu",
             loss="cross_entropy", init="he", lr=lr, expect="compiled-mini-batch")


def test_mini_batch_squared_error_sigmoid_three_layers():
    run_both([64, 20, 16, 10], np.float64, "momentum", batch_size=16, expect="compiled-mini-batch")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mini_batch_dropout_draws_the_same_masks(dtype):
    net, twin, ref, step = run_both([64, 32, 16, 10], dtype, "momentum", batch_size=16,
                                    activation="relu", loss="cross_entropy", lr=0.05,
                                    dropout=[0.2, 0.5, 0.3], expect="compiled-mini-batch")
    assert ref.rng.random() == step.rng.random()  # both generators were used alike


def test_per_sample_with_momentum_uses_the_batch_path():
    run_both([64, 16, 10], np.float64, "momentum", batch_size=1, expect="compiled-mini-batch")


# ---- choosing the path -----------------------------------------------------------------------
def stepper_name(**kw):
    images, labels = sparse_images(20, 64)
    net = Network([64, 8, 10], seed=0, **kw.pop("net", {}))
    opt = kw.pop("optimizer", SGD(0.1))
    return make_stepper(net, opt, kw.pop("images", images), labels, kw.pop("batch_size", 1),
                        np.random.default_rng(0), **kw).name


def test_make_stepper_picks_the_fastest_path():
    assert stepper_name() == "numba-per-sample"
    assert stepper_name(batch_size=128) == "compiled-mini-batch"
    assert stepper_name(net={"dropout": 0.5}) == "compiled-mini-batch"
    assert stepper_name(reference=True) == "numpy"


def test_make_stepper_falls_back_outside_the_fast_paths():
    class Custom(SGD):
        pass

    assert stepper_name(optimizer=Custom(0.1)) == "numpy"
    assert stepper_name(net={"output": "softmax"}) == "numpy"  # softmax with squared error
    images, _ = sparse_images(20, 64)
    assert stepper_name(images=images.astype(np.float32)) == "numpy"
    assert stepper_name(images=np.asfortranarray(images)) == "numpy"


def test_make_stepper_falls_back_without_numba(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" now raises ImportError
    assert not fast.jit_available()
    assert stepper_name() == "numpy"
    assert stepper_name(batch_size=32) == "numpy"


def test_changes_between_calls_are_seen():
    """The trainer may restore weights or optimiser state between calls."""
    images, labels = sparse_images(60, 64)
    for batch_size, opt in ((1, "sgd"), (10, "adam")):
        net = Network([64, 16, 10], dtype=np.float64, seed=2)
        twin = net.copy()
        ref = NumpyStepper(net, make_optimizer(opt, 0.01), images, labels, batch_size,
                           np.random.default_rng(0))
        step = make_stepper(twin, make_optimizer(opt, 0.01), images, labels, batch_size,
                            np.random.default_rng(0))
        ref(np.arange(30)), step(np.arange(30))
        fresh = Network([64, 16, 10], dtype=np.float64, seed=99).params()
        net.set_params(fresh), twin.set_params(fresh)
        for o in (ref.optimizer, step.optimizer):
            if opt == "adam":
                o.m[0][...] = 0.01
        assert step(np.arange(30, 60)) == pytest.approx(ref(np.arange(30, 60)), rel=1e-12)
        assert_params_close(net, twin, 1e-12)
        if opt == "adam":
            np.testing.assert_allclose(step.optimizer.m[0], ref.optimizer.m[0], rtol=1e-9,
                                       atol=1e-15)


def test_bad_indices_and_labels_are_refused():
    images, labels = sparse_images(20, 64)
    for batch_size in (1, 8):
        step = make_stepper(Network([64, 8, 10], seed=0), SGD(0.1), images, labels, batch_size,
                            np.random.default_rng(0))
        with pytest.raises(ValueError, match="indices"):
            step(np.array([0, 20]))
        with pytest.raises(ValueError, match="indices"):
            step(np.array([-1]))
    with pytest.raises(ValueError, match="labels"):
        make_stepper(Network([64, 8, 10], seed=0), SGD(0.1), images, labels + 5, 1,
                     np.random.default_rng(0))


# ---- real MNIST: one full epoch, as the issue states it ---------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("setup", ["tutorial", "fast"])
def test_one_mnist_epoch_matches_reference(mnist_dir, setup):
    """After an epoch from the same weights and order, float32 weights agree to float32 rounding.

    "Agree to rounding" is measured against float64 arithmetic: the fast path may stray from the
    float64 reference by at most twice as much as the float32 reference does (plus 1e-6).  A
    plain |fast - reference| bound is not enough for ReLU with momentum: at a near-tie one
    rounding flips a unit, and from there the float32 reference itself strays from float64.
    """
    from bpnn.data import load_mnist

    images, labels = load_mnist(mnist_dir, "train")
    if setup == "tutorial":
        net = Network([784, 300, 10], dtype=np.float32, seed=0)
        opt, batch = (lambda: SGD(0.3)), 1
        images, labels = images[:15000], labels[:15000]  # keeps two reference runs near 20 s
    else:
        net = Network([784, 300, 10], activation="relu", loss="cross_entropy", init="he",
                      dtype=np.float32, seed=0)
        opt, batch = (lambda: make_optimizer("momentum", 0.1)), 128
    twin = net.copy()
    exact = Network.from_config({**net.config(), "dtype": "float64"},
                                [p.astype(np.float64) for p in net.params()])
    steppers = [make_stepper(m, opt(), images, labels, batch, np.random.default_rng(0),
                             reference=ref)
                for m, ref in ((net, True), (twin, False), (exact, True))]
    assert steppers[1].name != "numpy"
    for part in np.array_split(np.random.default_rng(0).permutation(len(images)), 8):
        ref32, fast32, ref64 = (step(part) for step in steppers)
        assert fast32 == pytest.approx(ref64, rel=1e-3)
    for p32, f32, p64 in zip(net.params(), twin.params(), exact.params()):
        err_ref, err_fast = np.abs(p32 - p64).max(), np.abs(f32 - p64).max()
        assert err_fast <= 2 * err_ref + 1e-6, (err_fast, err_ref)


# ---- the benchmark command -------------------------------------------------------------------
def test_bench_quick_smoke(tiny_mnist_dir, tmp_path, capsys):
    from bpnn.commands import bench

    out = tmp_path / "bench.json"
    code = bench.main(["--quick", "--data", str(tiny_mnist_dir), "--json", "--out", str(out),
                       "--no-torch", "--no-memory"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads(out.read_text())
    assert printed["results"] == saved["results"]
    names = {r["name"] for r in saved["results"]}
    assert {"bpnn per-sample SGD", "bpnn mini-batch", "tutorial-style NumPy loop"} <= names
    for r in saved["results"]:
        assert r["seconds_per_epoch"] > 0
    assert saved["matmul_gflops"] > 0
