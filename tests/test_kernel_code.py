"""What the compiled loops compile to, where that decides their speed.

AMD's cores run a masked vector store (``vmaskmovps`` to memory) an order of magnitude slower
than a plain one: ReLU's backward pass written ``g if y > 0 else 0`` compiled to stores of the
zeros only, under a mask, and ran 3x slower (README "Speed").  Checked on x86 with AVX2, the
machines this project measures on; elsewhere the instruction does not exist and the test skips.
"""

import platform
import re

import numba
import numpy as np
import pytest

from bpnn.fast import _kernels as K
from bpnn.fast._common import constants

MASKED_STORE = re.compile(r"vmaskmovp[sd]\s+%[xy]mm\d+,\s*%[xy]mm\d+,\s*-?\d*\(")


def _avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return platform.machine() in ("x86_64", "AMD64") and " avx2" in f.read()
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _avx2(), reason="masked stores: x86 with AVX2 only")


def fresh_asm(kernel, *args) -> str:
    """The assembly of ``kernel``'s loop compiled anew for ``args`` (cached code has none)."""
    f = numba.njit(error_model="numpy")(kernel.py_func)
    f(*args)
    return f.inspect_asm(f.signatures[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_stores_whole_vectors(dtype):
    rng = np.random.default_rng(0)
    dA = rng.standard_normal((16, 40)).astype(dtype)
    Y = np.maximum(rng.standard_normal((16, 40)), 0).astype(dtype)
    asm = fresh_asm(K.act_back, dA, Y, K.RELU, dtype(0), constants(dtype, 1.0), np.empty(40, dtype))
    assert "ymm" in asm  # vectorised at all (else there is nothing to check)
    assert not MASKED_STORE.findall(asm)
