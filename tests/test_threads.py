"""``--threads``: the compiled mini-batch path gives the same weights with any number of Numba
threads (the parallel updates compute each element the same way and sum nothing across threads).
"""

from __future__ import annotations

import numpy as np
import pytest

from bpnn.device import limit_threads
from bpnn.network import Network
from bpnn.optim import make_optimizer
from bpnn.steppers import make_stepper

numba = pytest.importorskip("numba")
pytest.importorskip("threadpoolctl")  # (the fast extra's: how the tests read BLAS's threads)


def trained(threads: int, opt_name: str, sparse: bool = False) -> list:
    gen = np.random.default_rng(0)
    X = gen.integers(0, 256, (200, 784)).astype(np.uint8)
    X[:, :100] = 0  # some inputs zero in every batch: rows without a gradient
    if sparse:  # a fifth non-zero, as MNIST's pixels: layer 0 from their lists, in parallel
        X[gen.random(X.shape) < 0.8] = 0
    y = gen.integers(0, 10, 200)
    # (the parallel updates: MIN_THREADS lowered to 2 below; sparse inputs: the listed layer 0)
    net = Network(
        [784, 300 if sparse else 100, 10],  # (sparse: past the small-net loop's size)
        activation="relu",
        loss="cross_entropy",
        init="he",
        dtype=np.float32,
        seed=0,
        dropout=[0.1, 0.2],
    )
    opt = make_optimizer(opt_name, 0.01 if opt_name == "adam" else 0.1, weight_decay=1e-3)
    with limit_threads(threads):
        numba.set_num_threads(threads)  # the BLAS keeps one thread below: only Numba's vary
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            step = make_stepper(net, opt, X, y, 32, np.random.default_rng(1), scale=1 / 255)
            assert step.name == "compiled-mini-batch"
            assert (step.listed is not None) == sparse
            step(np.random.default_rng(2).permutation(200))
    return net.params() + [s for k, s in opt.state_dict().items() if k != "t"]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has one thread here")
@pytest.mark.parametrize("opt_name", ["momentum", "adam", "sgd"])
@pytest.mark.parametrize("sparse", [False, True])
def test_results_do_not_depend_on_numba_threads(opt_name, sparse, monkeypatch):
    monkeypatch.setattr("bpnn.fast.batch.MIN_THREADS", 2)  # the parallel updates at 2 threads
    one, two = trained(1, opt_name, sparse), trained(2, opt_name, sparse)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def numpy_blas() -> int:
    """The threads of NumPy's own BLAS (the one the evaluations call), 0 when not found."""
    from threadpoolctl import threadpool_info

    found = [p for p in threadpool_info() if p["user_api"] == "blas" and "numpy" in p["filepath"]]
    return found[0]["num_threads"] if found else 0


class BlasThreads:
    """Records NumPy's BLAS threads at each epoch's end (a callback)."""

    def __init__(self):
        self.seen: list[int] = []

    def on_epoch_end(self, epoch, metrics):
        self.seen.append(numpy_blas())


@pytest.mark.skipif(numpy_blas() < 2, reason="NumPy's BLAS has one thread here (or is not found)")
@pytest.mark.parametrize("threads", [None, 2])
@pytest.mark.parametrize("data", ["table", "shifted images", "sparse images"])
def test_one_thread_paths_evaluate_on_one_blas_thread_unless_told(threads, data):
    """BLAS's threads spin between a small network's small evaluations (twice the CPU
    seconds): the trainer keeps them to one while the one-thread small-net path runs (also
    when each epoch's shifted images get a stepper of their own), or the mini-batch path whose
    layer 0 runs from listed inputs on Numba's threads, unless ``threads`` is given;
    afterwards the BLAS has its threads again."""
    import bpnn

    before = numpy_blas()
    gen = np.random.default_rng(0)
    path = "compiled-small-net"
    if data == "table":
        X, y, task, extra = gen.random((300, 5)), gen.random(300), "regress", {}
    elif data == "shifted images":  # 8 x 8 images, shifted anew each epoch
        X, y, task = gen.integers(0, 256, (300, 64), dtype=np.uint8), gen.integers(0, 3, 300), None
        extra = {"augment": 1, "hidden": [16]}
    else:  # 28 x 28, a sixth of the pixels non-zero, a hidden layer of 400: listed inputs
        X = (gen.integers(1, 256, (300, 784)) * (gen.random((300, 784)) < 0.16)).astype(np.uint8)
        y, task, extra = gen.integers(0, 3, 300), None, {"hidden": [400]}
        path = "compiled-mini-batch"
    watch = BlasThreads()
    model = bpnn.fit(X, y, task=task, epochs=3, seed=0, threads=threads, callbacks=[watch], **extra)
    assert model.history.stepper == path
    assert watch.seen == [1 if threads is None else 2] * 3
    assert numpy_blas() == before
