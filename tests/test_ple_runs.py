"""The compiled small-network loop on piecewise-linear encodings, through their run differences.

A ple input's bins are a run per feature (ones, a fraction, zeros); the loop lists each run's
differences z_i = x_i - x_{i+1} (two non-zeros a run) and multiplies them by the run sums of
layer 0's weights (``bpnn.fast._kernels.SmallRows``).  That is a change of basis, exact for any
inputs, so training must agree with the NumPy reference, which multiplies x by W, to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from bpnn.binning import fit_edges, tables
from bpnn.fast import small
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.steppers import make_stepper

BINS, N = 8, 90


def ple_inputs(seed: int = 0) -> np.ndarray:
    """(N, 5 * BINS) ple inputs of five features: skewed, few-valued, 0/1, constant, normal."""
    gen = np.random.default_rng(seed)
    raw = np.column_stack(
        [
            gen.lognormal(size=N),
            gen.integers(0, 4, N),
            gen.integers(0, 2, N),
            np.full(N, 3.0),
            gen.normal(size=N),
        ]
    )
    edges, _ = fit_edges(raw[: N // 2], BINS)  # the rest reaches past the edges both ways
    return np.ascontiguousarray(tables(edges, None, BINS, open_ends=True).ple(raw))


def test_the_differences_list_two_inputs_a_run_and_sum_back_to_the_inputs():
    X = ple_inputs()
    chained = np.arange(X.shape[1]) % BINS != 0
    rows = small.nonzero_rows(X, block=7, chained=chained)  # (several blocks)
    counts = np.diff(rows.ptr)
    assert counts.max() <= 2 * 5 and counts.sum() < 0.6 * np.count_nonzero(X)
    z = np.zeros_like(X)
    for s in range(N):
        at = slice(rows.ptr[s], rows.ptr[s + 1])
        z[s, rows.cols[at]] = rows.vals[at]
    back = np.flip(np.cumsum(np.flip(z.reshape(N, 5, BINS), 2), axis=2), 2).reshape(N, -1)
    np.testing.assert_allclose(back, X, rtol=0, atol=1e-12)
    assert small.density(X, chained=chained) < 0.6 * small.density(X)


def steppers(opt_name: str, X, y, dropout=0.0, weights=None, dtype=np.float64, **opt):
    """The reference and the compiled stepper, each on its own copy of one network."""
    net = Network([X.shape[1], 12, 3], init="he", seed=1, dtype=dtype)
    net.layers[1].dropout = dropout
    made = []
    for reference in (True, False):
        twin = net.copy()
        optimizer = make_optimizer(opt_name, 0.003 if "adam" in opt_name else 0.05, **opt)
        rng, kw = np.random.default_rng(3), dict(weights=weights, ple_bins=BINS)
        made.append(make_stepper(twin, optimizer, X, y, 16, rng, reference=reference, **kw))
    return made


@pytest.mark.parametrize(
    "opt_name,opt,dropout,weighted",
    [
        ("sgd", {}, 0.0, False),
        ("momentum", {"weight_decay": 0.01}, 0.3, False),
        ("nesterov", {"clip_norm": 0.5}, 0.0, True),
        ("adam", {}, 0.2, True),
        ("adamw", {"weight_decay": 0.1, "clip_norm": 1.0}, 0.0, False),
    ],
)
def test_training_through_the_runs_agrees_with_the_reference(opt_name, opt, dropout, weighted):
    X, y = ple_inputs(), np.random.default_rng(5).integers(0, 3, N)
    weights = np.random.default_rng(6).uniform(0.5, 2, N) if weighted else None
    ref, fast = steppers(opt_name, X, y, dropout, weights, **opt)
    assert fast.name == "compiled-small-net" and len(fast.nonzero.chained) == X.shape[1]
    start = fast.net.layers[0].W.copy()
    for order in (np.arange(N), np.random.default_rng(7).permutation(N)[:70]):
        assert fast(order) == pytest.approx(ref(order), rel=1e-10)
    assert np.abs(fast.net.layers[0].W - start).max() > 1e-3  # (layer 0 did learn)
    for p, q in zip(ref.net.params(), fast.net.params()):
        np.testing.assert_allclose(q, p, rtol=1e-9, atol=1e-12)
    for key, value in ref.optimizer.state_dict().items():
        np.testing.assert_allclose(fast.optimizer.state_dict()[key], value, rtol=1e-9, atol=1e-12)


def test_float32_through_the_runs_agrees_with_the_reference_to_its_rounding():
    X, y = ple_inputs(), np.random.default_rng(5).integers(0, 3, N)
    ref, fast = steppers("adam", X.astype(np.float32), y, 0.2, dtype=np.float32)
    assert len(fast.nonzero.chained) == X.shape[1]
    for _ in range(3):
        assert fast(np.arange(N)) == pytest.approx(ref(np.arange(N)), rel=1e-5)
    for p, q in zip(ref.net.params(), fast.net.params()):
        np.testing.assert_allclose(q, p, rtol=1e-4, atol=1e-6)


def test_weights_changed_between_calls_are_summed_afresh():
    """The run sums come from the network's weights at each call (a callback, a loaded
    checkpoint may change them between calls)."""
    X, y = ple_inputs(), np.random.default_rng(5).integers(0, 3, N)
    ref, fast = steppers("momentum", X, y)
    ref(np.arange(N)), fast(np.arange(N))
    for net in (ref.net, fast.net):
        net.layers[0].W *= 0.5
        net.layers[0].W[:, 3] = 1.0
    assert fast(np.arange(N)) == pytest.approx(ref(np.arange(N)), rel=1e-10)
    np.testing.assert_allclose(fast.net.layers[0].W, ref.net.layers[0].W, rtol=1e-9, atol=1e-12)


def test_any_inputs_train_the_same_through_runs():
    """The basis change is exact whatever the inputs (only the sparsity needs ple's shape): here
    normal values, 70% of them zero (their differences still listed in less than X's memory)."""
    gen = np.random.default_rng(8)
    X = gen.normal(size=(N, 5 * BINS)) * (gen.random((N, 5 * BINS)) < 0.3)
    y = np.random.default_rng(9).integers(0, 3, N)
    ref, fast = steppers("adam", X, y)
    assert len(fast.nonzero.chained) == X.shape[1]
    assert fast(np.arange(N)) == pytest.approx(ref(np.arange(N)), rel=1e-10)
    for p, q in zip(ref.net.params(), fast.net.params()):
        np.testing.assert_allclose(q, p, rtol=1e-9, atol=1e-12)


def test_no_runs_where_the_inputs_are_dropped_out_or_not_ple():
    X, y = ple_inputs(), np.random.default_rng(5).integers(0, 3, N)
    net = Network([X.shape[1], 12, 3], seed=1)
    net.layers[0].dropout = 0.1  # a mask per bin: differences would not keep it
    opt = make_optimizer("sgd", 0.05)
    dropped = make_stepper(net, opt, X, y, 16, np.random.default_rng(3), ple_bins=BINS)
    assert dropped.name == "compiled-small-net" and len(dropped.nonzero.chained) == 0
    net.layers[0].dropout = 0.0
    plain = make_stepper(net, opt, X, y, 16, np.random.default_rng(3))
    assert len(plain.nonzero.chained) == 0
    odd = make_stepper(net, opt, X, y, 16, np.random.default_rng(3), ple_bins=7)  # 40 % 7
    assert len(odd.nonzero.chained) == 0
    pixels = (X * 100).astype(np.uint8)  # (differences of uint8 would wrap around)
    whole = make_stepper(net, opt, pixels, y, 16, np.random.default_rng(3), ple_bins=BINS)
    assert whole.name == "compiled-small-net" and len(whole.nonzero.chained) == 0


def test_the_loop_is_chosen_by_the_share_of_differences(monkeypatch):
    """A ple net whose inputs are too dense for the loop but whose differences are not: the
    loop (by ``work`` on the differences' share), with runs."""
    X, y = ple_inputs(), np.random.default_rng(5).integers(0, 3, N)
    chained = np.arange(X.shape[1]) % BINS != 0
    sizes = [X.shape[1], 12, 3]
    listed, dense = small.density(X, chained=chained), small.density(X)
    monkeypatch.setattr(small, "SMALL_WORK", small.work(sizes, 16, (listed + dense) / 2))
    net, opt = Network(sizes, seed=1), make_optimizer("sgd", 0.05)
    chosen = make_stepper(net, opt, X, y, 16, np.random.default_rng(3), ple_bins=BINS)
    assert chosen.name == "compiled-small-net" and len(chosen.nonzero.chained) == X.shape[1]
    plain = make_stepper(net, opt, X, y, 16, np.random.default_rng(3))
    assert plain.name == "compiled-mini-batch"


@pytest.mark.parametrize("preprocessing,bins", [("ple", 16), ("standardize", 0)])
def test_the_trainer_hands_ple_bins_to_the_stepper(monkeypatch, preprocessing, bins):
    import bpnn
    import bpnn.train

    seen = []
    real = bpnn.train.make_stepper

    def spy(*args, **kw):
        stepper = real(*args, **kw)
        listed = getattr(stepper, "nonzero", None)  # (a small-net stepper's rows)
        seen.append((kw.get("ple_bins"), 0 if listed is None else len(listed.chained)))
        return stepper

    monkeypatch.setattr(bpnn.train, "make_stepper", spy)
    gen = np.random.default_rng(2)
    X = gen.normal(size=(120, 3))
    bpnn.fit(X, (X[:, 0] > 0).astype(int), epochs=2, preprocessing=preprocessing, seed=0)
    assert seen == [(bins, 3 * bins)]


def test_the_speed_benchmark_measures_ple_through_its_runs(monkeypatch, tmp_path):
    """``benchmarks/small_nets.py``'s ple shapes: both paths run, the loop visits the runs'
    differences (fewer inputs than the encoding's non-zeros), the rows record the threads."""
    from conftest import benchmark_module

    bench = benchmark_module(monkeypatch, "small_nets")
    monkeypatch.setattr(small, "SMALL_WORK", small.SMALL_WORK)  # (measure sets the bounds)
    monkeypatch.setattr(small, "DEEP_WORK", small.DEEP_WORK)
    row = bench.measure([64, 8, 1], 16, 0.0, "ple", rounds=1, samples=64)
    X = bench.inputs(np.random.default_rng(0), 64, 64, "ple")
    assert row["blas_us"] > 0 and row["small_us"] > 0
    assert 0 < row["visited"] < 0.6 * small.density(X)
    monkeypatch.setattr(bench, "SHAPES", [([64, 8, 1], 16, 0.0, "ple")])
    out = tmp_path / "rows.json"
    bench.main(["--rounds", "1", "--samples", "64", "--threads", "1", "--json", str(out)])
    import json

    (saved,) = json.loads(out.read_text())
    assert saved["threads"] == 1 and saved["density"] == "ple"


def test_runs_whose_differences_are_no_sparser_are_not_listed():
    """Memory stays bounded by the inputs': dense inputs given as 2-bin runs list more
    differences than X holds values, so the stepper takes X's own (here: reads it whole)."""
    X = np.random.default_rng(4).uniform(0.5, 1.0, size=(N, 40)).astype(np.float32)
    chained = np.arange(40) % 2 != 0
    rows = small.nonzero_rows(X, chained=chained)
    assert len(rows.chained) == 0 and len(rows.ptr) == 0  # (as without runs: too dense to list)
    y = np.random.default_rng(5).integers(0, 3, N)
    net = Network([40, 12, 3], seed=1, dtype=np.float32)
    step = make_stepper(net, make_optimizer("sgd", 0.05), X, y, 16, None, ple_bins=2)
    assert step.name == "compiled-small-net" and len(step.nonzero.chained) == 0
