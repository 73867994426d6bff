"""The compiled loops, where how they are written decides their speed: what they compile to, and
that the faster form computes the same bits.

AMD's cores run a masked vector store (``vmaskmovps`` to memory) an order of magnitude slower
than a plain one: ReLU's backward pass written ``g if y > 0 else 0`` compiled to stores of the
zeros only, under a mask, and ran 3x slower (README "Speed").  Checked on x86 with AVX2, the
machines this project measures on, where Numba compiles for the host (``NUMBA_CPU_NAME`` unset);
elsewhere the instruction does not exist or is not chosen, and the test skips.
"""

import platform
import re

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from bpnn.fast import _kernels as K  # noqa: E402
from bpnn.fast._common import constants  # noqa: E402

MASKED_STORE = re.compile(r"vmaskmovp[sd]\s+%[xy]mm\d+,\s*%[xy]mm\d+,\s*-?\d*\(")


def _avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return platform.machine() in ("x86_64", "AMD64") and " avx2" in f.read()
    except OSError:
        return False


host_avx2 = pytest.mark.skipif(
    not _avx2() or numba.config.CPU_NAME not in (None, "host"),
    reason="masked stores: Numba compiling for this x86 CPU with AVX2 only",
)


def fresh_asm(kernel, *args) -> str:
    """The assembly of ``kernel``'s loop compiled anew for ``args`` (cached code has none)."""
    f = numba.njit(error_model="numpy")(kernel.py_func)
    f(*args)
    return f.inspect_asm(f.signatures[0])


@host_avx2
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_stores_whole_vectors(dtype):
    rng = np.random.default_rng(0)
    dA = rng.standard_normal((16, 40)).astype(dtype)
    Y = np.maximum(rng.standard_normal((16, 40)), 0).astype(dtype)
    asm = fresh_asm(K.act_back, dA, Y, K.RELU, dtype(0), constants(dtype, 1.0), np.empty(40, dtype))
    assert "ymm" in asm  # vectorised at all (else there is nothing to check)
    assert not MASKED_STORE.findall(asm)


LOSSES = [("cross_entropy", K.CROSS_ENTROPY), ("binary", K.BINARY_CROSS_ENTROPY)] + [
    (f"squared-{code}", K.SQUARED) for code in range(6)
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, loss", LOSSES)
@pytest.mark.parametrize("weighted", [False, True])
def test_batch_output_deltas_are_the_per_sample_kernels_bit_for_bit(dtype, name, loss, weighted):
    """``output_delta`` copies the batch's target rows into D first and computes each row's
    delta in place over them: the same bits as the per-sample ``_output_delta`` on a separate
    target row (then weighted, divided by n, summed into db), for every loss."""
    gen = np.random.default_rng(len(name))
    n, m = 7, 5
    code = int(name.rsplit("-", 1)[1]) if name.startswith("squared") else 0
    Z0 = (gen.standard_normal((n, m)) * 3).astype(dtype)
    Z0[0, 0], Z0[1, 1] = -0.0, 40.0
    b = gen.standard_normal(m).astype(dtype)
    T = gen.random((20, m)).astype(dtype)  # soft targets: every term of every loss counts
    batch = gen.permutation(20)[:n].astype(np.intp)
    w = gen.random(20).astype(dtype)
    c = constants(dtype, 1.0)
    c[K.C_N] = w[batch].sum() if weighted else n
    alpha, half, one, zero = dtype(0.1), c[K.C_HALF], c[K.C_ONE], c[K.C_ZERO]
    Z, D, db = Z0.copy(), np.full((n, m), np.nan, dtype), np.full(m, np.nan, dtype)
    total = K.output_delta(Z, b, T, batch, code, alpha, loss, c, D, db, w, weighted)
    want_Z, want_D, want_total = Z0 + b, np.empty((n, m), dtype), 0.0
    for r in range(n):
        t = T[batch[r]].copy()
        value = K._output_delta(want_Z[r], want_D[r], t, m, code, alpha, loss, half, one, zero)
        if weighted:  # (the product in the dtype, the sum in float64, as the kernel has them)
            want_total += float(w[batch[r]] * dtype(value))
            want_D[r] = want_D[r] * w[batch[r]]
        else:
            want_total += float(value)
        want_D[r] = want_D[r] / c[K.C_N]
    want_db = np.zeros(m, dtype)
    for r in range(n):
        want_db = want_db + want_D[r]
    assert np.array_equal(Z, want_Z) and np.array_equal(D, want_D) and np.array_equal(db, want_db)
    assert total == want_total
