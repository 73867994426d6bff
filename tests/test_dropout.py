"""Dropout's masks and the uniforms they are drawn from (``bpnn.dropout``)."""

import sys

import numpy as np
import pytest

from bpnn.dropout import UNIT, draws, halves, mask, thresholds, uniforms


def test_uniforms_are_the_halves_of_raw_draws_low_half_first():
    raw = np.random.default_rng(3).bit_generator.random_raw(3)
    expect = []
    for r in raw.tolist():
        expect += [(r & 0xFFFFFFFF) / 2**32, (r >> 32) / 2**32]
    u = uniforms(np.random.default_rng(3), 5)
    assert u.tolist() == expect[:5]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8])
def test_uniforms_take_one_draw_for_two(n):
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    uniforms(rng, n)
    twin.bit_generator.random_raw(draws(n))
    assert draws(n) == (n + 1) // 2
    assert rng.random() == twin.random()  # the stream moved on by exactly draws(n)


def test_uniforms_are_uniform_on_the_unit_interval():
    u = uniforms(np.random.default_rng(0), 200_000)
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.histogram(u, bins=10, range=(0.0, 1.0))[0]
    assert np.all(np.abs(counts - 20_000) < 5 * np.sqrt(20_000))  # five sigmas
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01  # halves of one draw unrelated


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.9])
def test_a_mask_keeps_its_share_and_scales_the_kept(rate):
    m = mask(rate, np.random.default_rng(1), (400, 251), np.float32)
    keep = 1.0 - rate
    assert m.dtype == np.float32 and m.shape == (400, 251)
    assert set(np.unique(m).tolist()) == {0.0, float(np.float32(1.0 / keep))}
    share = np.count_nonzero(m) / m.size
    assert abs(share - keep) < 5 * np.sqrt(keep * rate / m.size)


def test_no_mask_without_a_rate_or_a_generator():
    assert mask(0.0, np.random.default_rng(0), (2, 3), np.float64) is None
    assert mask(0.5, None, (2, 3), np.float64) is None


def test_halves_are_the_same_on_either_byte_order(monkeypatch):
    raw = np.random.default_rng(2).bit_generator.random_raw(9)
    little = halves(raw).copy()
    monkeypatch.setattr(sys, "byteorder", "big")  # the explicit split the view stands for
    big = halves(raw)
    assert big.dtype == little.dtype == np.uint32
    assert big.tolist() == little.tolist()
    assert little[0] == raw[0] & 0xFFFFFFFF and little[1] == raw[0] >> 32


@pytest.mark.parametrize("keep", [0.7, 0.5, 1.0, 3 / 2**32, 1 - 2**-40, 1e-12])
def test_the_integer_bound_keeps_exactly_the_units_the_uniforms_keep(keep):
    """The compiled paths compare 32-bit halves with ``thresholds``; the reference compares
    uniforms with keep: the same units, also at the edges (a keep on the 2^-32 grid)."""
    h = np.random.default_rng(4).integers(0, 2**32, 100_000, dtype=np.uint32)
    bound = int(np.ceil(keep * 2**32))
    h[:4] = [0, max(bound - 1, 0), min(bound, 2**32 - 1), 2**32 - 1]  # around the bound
    (t,) = thresholds([keep])
    assert np.array_equal(h.astype(np.int64) < t, h * UNIT < keep)


@pytest.mark.parametrize(
    "rng", [np.random.Generator(np.random.MT19937(1)), np.random.RandomState(1)], ids=str
)
def test_a_generator_of_32_bit_draws_is_refused(rng):
    """MT19937's raw draws hold 32 bits (every second half would be 0: always kept); a
    RandomState has no bit stream to read: one clear error, on the reference and the loop."""
    with pytest.raises(ValueError, match="64-bit bit generator"):
        mask(0.5, rng, (4, 3), np.float64)
    pytest.importorskip("numba")
    from bpnn.network import Network
    from bpnn.optim import make_optimizer
    from bpnn.steppers import make_stepper

    net = Network([3, 4, 1], dropout=[0.0, 0.5], dtype=np.float32, seed=0)
    X, T = np.ones((8, 3), np.float32), np.ones((8, 1), np.float32)
    with pytest.raises(ValueError, match="64-bit bit generator"):
        make_stepper(net, make_optimizer("sgd", 0.1), X, T, 4, rng)


@pytest.mark.parametrize("bitgen", [np.random.PCG64DXSM, np.random.Philox, np.random.SFC64])
def test_other_64_bit_generators_draw_masks(bitgen):
    m = mask(0.5, np.random.Generator(bitgen(3)), (400, 101), np.float64)
    assert abs(np.count_nonzero(m) / m.size - 0.5) < 0.02
