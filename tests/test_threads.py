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


def trained(threads: int, opt_name: str) -> list:
    gen = np.random.default_rng(0)
    X = gen.integers(0, 256, (200, 784)).astype(np.uint8)
    X[:, :100] = 0  # some inputs zero in every batch: rows without a gradient
    y = gen.integers(0, 10, 200)
    # 784 x 1400 first-layer weights: large enough for the parallel updates
    net = Network(
        [784, 100, 10],
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
            step(np.random.default_rng(2).permutation(200))
    return net.params() + [s for k, s in opt.state_dict().items() if k != "t"]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has one thread here")
@pytest.mark.parametrize("opt_name", ["momentum", "adam", "sgd"])
def test_results_do_not_depend_on_numba_threads(opt_name, monkeypatch):
    monkeypatch.setattr("bpnn.fast.batch.MIN_THREADS", 2)  # the parallel updates at 2 threads
    one, two = trained(1, opt_name), trained(2, opt_name)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
