"""Image shifts (``bpnn.augment``): bounds, exact movement, determinism by seed, shapes and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from bpnn.augment import random_shifts, shift_images

SIDE = 7


def shifted_by_hand(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """One (side, side) image moved pixel by pixel: what ``shift_images`` must give."""
    side = image.shape[0]
    out = np.zeros_like(image)
    for r in range(side):
        for c in range(side):
            if 0 <= r + dy < side and 0 <= c + dx < side:
                out[r + dy, c + dx] = image[r, c]
    return out


@pytest.mark.parametrize("max_shift", [0, 1, 2, 3])
def test_random_shifts_stay_in_bounds_and_cover_them(max_shift):
    shifts = random_shifts(5000, max_shift, np.random.default_rng(0))
    assert shifts.shape == (5000, 2) and shifts.dtype == np.int8
    for axis in (0, 1):
        assert set(np.unique(shifts[:, axis])) == set(range(-max_shift, max_shift + 1))


def test_random_shifts_are_determined_by_the_seed():
    def draw(seed):
        return random_shifts(100, 2, np.random.default_rng(seed))

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))


def test_a_single_pixel_lands_exactly_where_its_shift_says():
    image = np.zeros((SIDE, SIDE), np.uint8)
    image[3, 2] = 200
    pairs = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)]
    images = np.repeat(image.reshape(1, -1), len(pairs), axis=0)
    out = shift_images(images, np.array(pairs)).reshape(-1, SIDE, SIDE)
    for moved, (dy, dx) in zip(out, pairs):
        expected = np.zeros_like(image)
        if 0 <= 3 + dy < SIDE and 0 <= 2 + dx < SIDE:
            expected[3 + dy, 2 + dx] = 200
        np.testing.assert_array_equal(moved, expected, err_msg=f"shift {(dy, dx)}")


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_random_images_match_a_pixel_by_pixel_shift(dtype):
    gen = np.random.default_rng(1)
    images = (gen.random((60, SIDE * SIDE)) * 255).astype(dtype)
    shifts = random_shifts(60, 3, gen)
    before = images.copy()
    out = shift_images(images, shifts)
    assert out.shape == images.shape and out.dtype == images.dtype
    np.testing.assert_array_equal(images, before)  # the input is left alone
    for image, moved, (dy, dx) in zip(images, out, shifts):
        expected = shifted_by_hand(image.reshape(SIDE, SIDE), int(dy), int(dx))
        np.testing.assert_array_equal(moved.reshape(SIDE, SIDE), expected)


def test_zero_shift_is_a_copy_and_shifting_past_the_edge_empties_the_image():
    images = np.arange(2 * SIDE * SIDE, dtype=np.uint8).reshape(2, -1)
    out = shift_images(images, np.array([[0, 0], [SIDE, 0]]))
    np.testing.assert_array_equal(out[0], images[0])
    assert out is not images and not np.shares_memory(out, images)
    assert not out[1].any()


def test_same_seed_same_augmented_epoch():
    images = np.random.default_rng(2).integers(0, 256, (30, SIDE * SIDE)).astype(np.uint8)

    def epoch(seed):
        return shift_images(images, random_shifts(len(images), 2, np.random.default_rng(seed)))

    np.testing.assert_array_equal(epoch(5), epoch(5))


@pytest.mark.parametrize(
    "shape,shifts", [((4, 48), np.zeros((4, 2), int)), ((4, 49), np.zeros((3, 2), int))]
)
def test_not_square_or_wrong_shifts_is_refused(shape, shifts):
    with pytest.raises(ValueError, match="square images"):
        shift_images(np.zeros(shape, np.uint8), shifts)
