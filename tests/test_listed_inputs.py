"""Layer 0 of the compiled mini-batch path from its inputs' listed non-zeros (``bpnn.fast.batch``).

Where few inputs are non-zero (MNIST's pixels: a fifth), the mini-batch stepper lists them once
and computes layer 0's products and gradient from the lists on Numba's threads, leaving BLAS the
other layers on one thread.  The kernels must give NumPy's dense products (to rounding), the
same bits however the batch is split among threads, and the stepper must list only where that
pays and fits.  Training against the NumPy reference -- every optimiser, dropout, sample
weights, both dtypes -- runs on both layer-0 modes in ``test_fast_paths`` (``BATCH_PATHS``), the
independence of the thread count in ``test_threads``.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

pytest.importorskip("numba")

from bpnn.fast import batch, small
from bpnn.fast._common import constants
from bpnn.fast._kernels import dense_back, listed_gradient0, listed_product0
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.steppers import make_stepper


def sparse_inputs(n: int, n_in: int, density: float, dtype, seed: int = 0) -> np.ndarray:
    """(n, n_in) inputs with the share ``density`` non-zero (uint8 pixels 1..255 or normals)."""
    gen = np.random.default_rng(seed)
    if np.dtype(dtype) == np.uint8:
        X = gen.integers(1, 256, (n, n_in)).astype(np.uint8)
    else:
        X = gen.standard_normal((n, n_in)).astype(dtype)
    X[gen.random((n, n_in)) >= density] = 0
    return X


def layer0(X, rows, b, W0T, D, c, mask, parts: int):
    """The listed kernels on batch ``b`` split into ``parts``: (A, k, cols[:k], G[:k]), the
    outputs first filled with NaN (every value must be written)."""
    n, (n_in, n_0), dt = len(b), W0T.shape, W0T.dtype
    most = int(np.diff(rows.ptr).max())
    XV, counts = np.empty((n, most), dt), np.empty((parts, n_in), np.intp)
    A, G = np.full((n, n_0), np.nan, dt), np.full((n_in, n_0), np.nan, dt)
    use_mask = mask is not None
    m = mask if use_mask else np.empty((1, 1), dt)
    listed_product0(rows.ptr, rows.cols, rows.vals, b, c, m, use_mask, W0T, XV, counts, A)
    cols = np.empty(n_in, np.intp)
    by_column = np.empty(n_in + 1, np.intp), np.empty(n * most, np.int32), np.empty(n * most, dt)
    k = listed_gradient0(rows.ptr, rows.cols, b, XV, counts, D, c, cols, by_column, G)
    return A, k, cols[:k].copy(), G[:k]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["uint8", "float"])
@pytest.mark.parametrize("use_mask", [False, True])
def test_the_listed_kernels_are_the_dense_products_whatever_the_parts(dt, kind, use_mask):
    """A = (x * scale [* mask]) W0T and G = x' D over the inputs non-zero in some row (in
    ascending order) for a batch with a repeated and an all-zero row and an input zero in every
    row; the same bits with 1, 2, 3 or 7 parts (threads)."""
    gen = np.random.default_rng(1)
    n_in, n_0 = 300, 9
    X = sparse_inputs(40, n_in, 0.2, np.uint8 if kind == "uint8" else dt)
    X[:, 7], X[3] = 0, 0
    rows = small.nonzero_rows(X)
    assert len(rows.ptr) == 41  # (listed)
    scale = 1 / 255 if kind == "uint8" else 0.5
    c = constants(dt, scale)
    b = np.array([5, 3, 12, 12, 39, 0, 21], np.intp)
    W0T = gen.standard_normal((n_in, n_0)).astype(dt)
    D = gen.standard_normal((len(b), n_0)).astype(dt)
    mask = ((gen.random((len(b), n_in)) < 0.7) / 0.7).astype(dt) if use_mask else None
    x = X[b].astype(dt) * dt(scale)
    if use_mask:
        x = x * mask
    want_cols = np.flatnonzero((X[b] != 0).any(axis=0))
    tol = dict(rtol=1e-5, atol=1e-5) if dt == np.float32 else dict(rtol=1e-12, atol=1e-12)
    first = None
    for parts in (1, 2, 3, 7):
        A, k, cols, G = layer0(X, rows, b, W0T, D, c, mask, parts)
        np.testing.assert_allclose(A, x.astype(np.float64) @ W0T, **tol)
        assert k == len(want_cols) and 7 not in cols
        np.testing.assert_array_equal(cols, want_cols)
        np.testing.assert_allclose(G, (x.astype(np.float64).T @ D)[want_cols], **tol)
        first = first or (A, G)
        np.testing.assert_array_equal(A, first[0])
        np.testing.assert_array_equal(G, first[1])


def in_order(dZ, inp, W):
    """dZ^T inp and dZ W summed one term at a time, each product rounded, in NumPy."""
    dW, dA = np.zeros((W.shape[0], inp.shape[1]), W.dtype), np.zeros((len(dZ), W.shape[1]), W.dtype)
    for k in range(W.shape[0]):
        for r in range(len(dZ)):
            dW[k] = dW[k] + dZ[r, k] * inp[r]
    for r in range(len(dZ)):
        for k in range(W.shape[0]):
            dA[r] = dA[r] + dZ[r, k] * W[k]
    return dW, dA


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("n, n_out, n_prev", [(128, 10, 300), (1, 10, 7), (5, 1, 33), (3, 12, 4)])
def test_a_later_layers_backward_products_on_numbas_threads(dt, n, n_out, n_prev):
    """``dense_back``: dW = dZ^T inp and dA = dZ W, each sum in order (the same bits as adding
    the terms one by one), every value written, on one thread or two."""
    import numba

    gen = np.random.default_rng(n * n_out)
    dZ, W = (
        gen.standard_normal((n, n_out)).astype(dt),
        gen.standard_normal((n_out, n_prev)).astype(dt),
    )
    inp = np.maximum(gen.standard_normal((n, n_prev)), 0).astype(dt)
    want_dW, want_dA = in_order(dZ, inp, W)
    close = {"rtol": 1e-4, "atol": 1e-4 * n}  # (float32 sums of n terms that cancel)
    assert np.allclose(want_dW, dZ.T @ inp, **close) and np.allclose(want_dA, dZ @ W, **close)
    threads = numba.get_num_threads()
    try:
        for t in sorted({1, threads}):
            numba.set_num_threads(t)
            dW, dA = np.full_like(want_dW, np.nan), np.full_like(want_dA, np.nan)
            dense_back(dZ, inp, W, dW, dA, np.arange(max(n, n_out)))
            assert np.array_equal(dW, want_dW) and np.array_equal(dA, want_dA), t
    finally:
        numba.set_num_threads(threads)


def test_the_lists_are_kept_where_few_inputs_are_non_zero_and_they_fit():
    """Listed: MNIST's share of non-zero pixels into 784-300-10 or a single layer.  Not: half
    the inputs non-zero (BLAS's product over the batch's non-zero columns is faster), later
    layers larger than layer 0's listed products (784-1200-1200-10: BLAS on one thread would
    cost more than the lists save), a list larger than the inputs themselves (uint8 rows of 12
    inputs: 8 bytes of row pointer each), no rows."""
    mnist, pixels = [784, 300, 10], sparse_inputs(200, 784, 0.19, np.uint8)
    assert batch.listed_inputs(pixels, mnist) is not None
    assert batch.listed_inputs(pixels, [784, 10]) is not None
    assert batch.listed_inputs(pixels, [784, 1200, 1200, 10]) is None
    assert batch.listed_inputs(sparse_inputs(200, 784, 0.19, np.float32), mnist) is not None
    assert batch.listed_inputs(sparse_inputs(200, 784, 0.5, np.float32), mnist) is None
    narrow = sparse_inputs(200, 12, 0.2, np.uint8)  # (no later layer: only memory refuses it)
    assert batch.listed_inputs(narrow, [12, 10]) is None
    assert small.nonzero_rows(narrow).ptr.size == 0 and small.nonzero_rows(narrow, bounded=False)
    assert batch.listed_inputs(np.zeros((0, 784), np.uint8), mnist) is None
    listed = batch.listed_inputs(X := sparse_inputs(50, 784, 0.2, np.uint8), mnist)
    assert listed is not None and len(listed.vals) == np.count_nonzero(X)
    np.testing.assert_array_equal(np.diff(listed.ptr), np.count_nonzero(X, axis=1))


def mnist_like_stepper(density: float, opt: str = "momentum"):
    """The stepper ``make_stepper`` picks for 784-300-10 in batches of 128 on uint8 pixels."""
    X = sparse_inputs(300, 784, density, np.uint8)
    y = np.random.default_rng(2).integers(0, 10, 300)
    net = Network([784, 300, 10], activation="relu", loss="cross_entropy", seed=0)
    rng = np.random.default_rng(1)
    return make_stepper(net, make_optimizer(opt, 0.1), X, y, 128, rng, scale=1 / 255)


def test_mnist_shaped_jobs_take_the_lists_and_denser_ones_blas():
    listed, dense = mnist_like_stepper(0.19), mnist_like_stepper(0.6)
    assert listed.name == dense.name == "compiled-mini-batch"
    assert listed.listed is not None and listed.one_thread
    assert dense.listed is None and not getattr(dense, "one_thread", False)
    assert listed.X.shape[1] == np.diff(listed.listed.ptr).max()  # rows of values, not inputs
    assert set(listed.kernels) >= {"listed_product0", "listed_gradient0", "dense_back"}
    assert not set(listed.kernels) & {"gather_columns", "gather_rows"}
    assert set(dense.kernels) >= {"gather_columns", "gather_rows"}


def test_only_narrow_later_layers_take_the_threaded_backward_products():
    """``dense_back`` for a later layer of at most ``DENSE_BACK_OUTPUTS`` outputs in the listed
    mode (a classifier's output layer); a wider one, and every layer in BLAS mode, BLAS's."""
    X = sparse_inputs(300, 784, 0.19, np.uint8)
    y = np.random.default_rng(2).integers(0, 10, 300)
    net = Network([784, 300, 64, 10], activation="relu", loss="cross_entropy", seed=0)
    deep = make_stepper(net, make_optimizer("sgd", 0.1), X, y, 128, np.random.default_rng(1))
    assert deep.listed is not None and deep.dense_back == [False, False, True]
    assert "dense_back" in deep.kernels
    dense = mnist_like_stepper(0.6)
    assert not any(dense.dense_back) and "dense_back" not in dense.kernels


def test_a_listed_call_gives_blas_one_thread(monkeypatch):
    """BLAS's threads spin between its calls and would hold the core Numba's threads need: a
    call of the listed stepper runs with BLAS on one thread; the BLAS stepper leaves it as is."""
    seen, real = [], batch.blas_threads

    @contextlib.contextmanager
    def spy(n):
        seen.append(n)
        with real(n):
            yield

    monkeypatch.setattr(batch, "blas_threads", spy)
    mnist_like_stepper(0.19)(np.arange(300))
    mnist_like_stepper(0.6)(np.arange(300))
    assert seen == [1, None]


@pytest.mark.parametrize("opt", ["sgd", "momentum", "nesterov", "adam"])
def test_the_listed_and_blas_steppers_train_alike(opt):
    """The same MNIST-shaped job on both layer-0 modes (forced): the same losses and weights to
    float32 rounding after 3 calls of 100 samples (batches of 128: one short batch each)."""
    runs = []
    for listed in (True, False):
        with monkeypatch_listed(listed):
            step = mnist_like_stepper(0.19, opt)
        assert (step.listed is not None) == listed
        losses = [step(np.arange(s, s + 100)) for s in (0, 100, 200)]
        runs.append((losses, step.net.params()))
    (l1, p1), (l2, p2) = runs
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    for a, b in zip(p1, p2):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


@contextlib.contextmanager
def monkeypatch_listed(listed: bool):
    """Within it, the mini-batch stepper lists its inputs as it chooses (True) or never."""
    old = batch.listed_inputs
    if not listed:
        batch.listed_inputs = lambda X, sizes: None
    try:
        yield
    finally:
        batch.listed_inputs = old


def test_the_benchmark_times_both_modes_and_leaves_the_choice_as_it_was(monkeypatch, tmp_path):
    """``benchmarks/listed_layer0.py`` on random pixels: both steppers timed, the choice
    reported, ``listed_inputs`` itself again afterwards (also the small-net benchmark's)."""
    import json

    from conftest import benchmark_module

    chooses = batch.listed_inputs
    bench = benchmark_module(monkeypatch, "listed_layer0")
    monkeypatch.setattr(bench.time, "sleep", lambda s: None)
    X, y = bench.pixels("", 0.15, 600, np.random.default_rng(0))
    row = bench.measure(X, y, "momentum", rounds=1)
    assert row["listed_s"] > 0 and row["blas_s"] > 0 and row["chosen"]
    monkeypatch.setattr(bench, "WORKLOADS", [(0.5, "sgd")])
    out = tmp_path / "rows.json"
    bench.main(["--rounds", "1", "--samples", "300", "--json", str(out)])
    (saved,) = json.loads(out.read_text())
    assert saved["optimizer"] == "sgd" and not saved["chosen"] and 0.4 < saved["density"] < 0.6
    small_nets = benchmark_module(monkeypatch, "small_nets")
    monkeypatch.setattr(small, "SMALL_WORK", small.SMALL_WORK)  # (its stepper sets the bounds)
    monkeypatch.setattr(small, "DEEP_WORK", small.DEEP_WORK)
    gen = np.random.default_rng(1)
    X, T = sparse_inputs(64, 784, 0.19, np.float32), gen.random((64, 10)).astype(np.float32)
    step = small_nets.stepper("compiled-mini-batch", [784, 300, 10], 128, 0.0, X, T, 0)
    assert step.listed is None  # (its BLAS path)
    assert batch.listed_inputs is chooses
