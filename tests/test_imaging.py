"""bpnn.imaging: from any image file to a 28x28 MNIST-style digit, with synthetic Pillow images."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

import bpnn
from bpnn import imaging, limits
from bpnn.errors import BpnnError

# A "7"-like shape: asymmetric, so a flip or a wrong inversion would show.
SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]


def strokes(size=(300, 240), ink=0, paper=255, mode="L", width=14, shape=SEVEN):
    """A digit drawn with straight pen strokes on a ``mode`` image (no anti-aliasing)."""
    w, h = size
    img = Image.new(mode, size, paper)
    side = min(w, h)
    pts = [(x * side + (w - side) / 2, y * side + (h - side) / 2) for x, y in shape]
    ImageDraw.Draw(img).line(pts, fill=ink, width=width, joint="curve")
    return img


def encoded(img, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def centre_of_mass(grid):
    g = grid.astype(float)
    r = np.arange(g.shape[0])
    return (g.sum(1) @ r) / g.sum(), (g.sum(0) @ r) / g.sum()


def ink_box(grid):
    rows, cols = np.nonzero(grid > 0)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


@pytest.fixture(scope="module")
def reference():
    return imaging.image_to_mnist(strokes())


def test_output_is_mnist_like(reference):
    assert reference.shape == (28, 28) and reference.dtype == np.uint8
    assert reference.max() == 255 and reference[0].max() == 0 and reference[:, 0].max() == 0
    # dark ink became light: the top bar of the 7 is bright, the lower left corner is background
    assert reference[:12].sum() > reference[20:, :10].sum()


def test_light_on_dark_equals_dark_on_light(reference):
    inverted = imaging.image_to_mnist(strokes(ink=255, paper=0))
    assert np.abs(inverted.astype(int) - reference).max() <= 1
    coloured = imaging.image_to_mnist(strokes(ink=(250, 250, 120), paper=(20, 30, 90), mode="RGB"))
    assert np.abs(coloured.astype(int) - reference).max() <= 2


@pytest.mark.parametrize("ink", [(0, 0, 0, 255), (255, 255, 255, 255), (200, 30, 30, 255)])
def test_rgba_transparency_is_composited(reference, ink):
    # The transparent pixels' colour equals the ink colour: only compositing tells them apart.
    img = strokes(ink=ink, paper=ink[:3] + (0,), mode="RGBA")
    assert np.abs(imaging.image_to_mnist(img).astype(int) - reference).max() <= 2


def test_la_transparency_is_composited(reference):
    img = strokes(ink=(0, 255), paper=(0, 0), mode="LA")
    assert np.abs(imaging.image_to_mnist(img).astype(int) - reference).max() <= 1


def test_palette_gif_transparency_is_composited(reference):
    img = strokes(ink=1, paper=0, mode="P")
    img.putpalette([0, 0, 0] * 2 + [255, 255, 255] * 254)  # index 0 and 1 both black
    data = encoded(img, "GIF", transparency=0)
    loaded = imaging.load_image(data)
    assert loaded.format == "GIF" and "transparency" in loaded.info
    assert np.abs(imaging.image_to_mnist(loaded).astype(int) - reference).max() <= 1


@pytest.mark.parametrize(
    "fmt,kw,tol", [("PNG", {}, 1), ("BMP", {}, 1), ("GIF", {}, 1), ("JPEG", {"quality": 90}, 40)]
)
def test_file_formats(reference, fmt, kw, tol):
    data = encoded(strokes(mode="RGB", paper=(255, 255, 255), ink=(0, 0, 0)), fmt, **kw)
    img = imaging.load_image(data)
    assert img.format == fmt
    grid = imaging.image_to_mnist(img)
    assert np.abs(grid.astype(int) - reference).mean() <= tol / 10
    if fmt != "JPEG":  # lossless formats: every pixel within tol (JPEG: the mean above)
        assert np.abs(grid.astype(int) - reference).max() <= tol


def test_sixteen_bit_grey_png(reference):
    arr = np.asarray(strokes(), dtype=np.uint16) * 257  # 0..65535
    img = imaging.load_image(encoded(Image.fromarray(arr), "PNG"))
    assert img.mode.startswith("I")
    assert np.abs(imaging.image_to_mnist(img).astype(int) - reference).max() <= 1


@pytest.mark.parametrize("size,expect", [((200, 50), (5, 20)), ((40, 160), (20, 5))])
def test_aspect_ratio_kept_longer_side_20(size, expect):
    img = Image.new("L", (400, 400), 255)
    x, y = 100, 120
    ImageDraw.Draw(img).rectangle([x, y, x + size[0] - 1, y + size[1] - 1], fill=0)
    h, w = ink_box(imaging.image_to_mnist(img))
    assert abs(h - expect[0]) <= 1 and abs(w - expect[1]) <= 1


@pytest.mark.parametrize(
    "shape", [SEVEN, [(0.2, 0.2), (0.2, 0.8), (0.7, 0.8)], [(0.8, 0.1), (0.1, 0.5), (0.8, 0.9)]]
)
@pytest.mark.parametrize("size", [(300, 240), (90, 400), (1000, 700)])
def test_centre_of_mass_at_14_14(shape, size):
    grid = imaging.image_to_mnist(strokes(size=size, shape=shape, width=max(4, min(size) // 20)))
    cy, cx = centre_of_mass(grid)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert max(ink_box(grid)) in (19, 20, 21)


def test_position_and_size_in_the_image_do_not_matter(reference):
    page = Image.new("L", (1000, 800), 255)
    page.paste(strokes(), (650, 30))  # a small digit in a corner of a page
    assert np.abs(imaging.image_to_mnist(page).astype(int) - reference).max() <= 1
    huge = Image.new("L", (3000, 2400), 255)  # reduced to 1024 px first: resampling differs
    huge.paste(strokes(), (2500, 2000))
    assert np.abs(imaging.image_to_mnist(huge).astype(int) - reference).mean() < 8


def test_uneven_light_noise_and_jpeg_still_give_the_digit(reference, rng):
    clean = np.asarray(strokes(size=(600, 480), width=28), dtype=float)
    yy, xx = np.mgrid[0:480, 0:600]
    light = 1.0 - 0.35 * (xx / 600) * (yy / 480)  # a shadow across one corner
    photo = (0.15 * 255 + clean * 0.75) * light + rng.normal(0, 6, clean.shape)
    data = encoded(
        Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).convert("RGB"), "JPEG", quality=70
    )
    grid = imaging.image_to_mnist(imaging.load_image(data))
    mine, ref = grid > 100, reference > 100
    assert (mine & ref).sum() / (mine | ref).sum() > 0.6  # the strokes overlap
    assert grid[reference == 0].mean() < 20  # and the paper stayed dark


def test_pixel_limit_checked_before_decoding():
    data = encoded(Image.new("L", (200, 100), 255), "PNG")
    with pytest.raises(imaging.ImageTooLarge, match="200x100"):
        imaging.load_image(data, max_pixels=10_000)
    assert imaging.load_image(data, max_pixels=20_000).size == (200, 100)


def test_pixel_limit_is_sized_for_a_digit():
    """A 16-bit 4000x4000 PNG is 35 kB and would cost hundreds of MB: refused unread."""
    assert imaging.MAX_PIXELS == limits.MAX_IMAGE_PIXELS <= 4_000_000
    data = encoded(Image.new("I;16", (4000, 4000)), "PNG")
    assert len(data) < 100_000
    with pytest.raises(imaging.ImageTooLarge, match="4000x4000"):
        imaging.load_image(data)


def png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    """A PNG of a 7 with one extra chunk (before the image data), CRC and all."""
    data = encoded(strokes(), "PNG")
    chunk = struct.pack(">I", len(payload)) + kind + payload
    chunk += struct.pack(">I", zlib.crc32(kind + payload))
    return data[:33] + chunk + data[33:]  # 33: signature and IHDR


@pytest.mark.parametrize("exif", [b"garbage!", b"MM\x00*\xff\xff\xff\xff", b"II*\x00\x08"])
def test_broken_exif_is_an_image_error_or_ignored(reference, exif):
    """Damaged EXIF in a PNG eXIf chunk: an ImageError naming the file, or the digit is read."""
    try:
        grid = imaging.image_to_mnist(
            imaging.load_image(png_with_chunk(b"eXIf", exif), name="x.png")
        )
    except imaging.ImageError as exc:
        assert str(exc).startswith("x.png: cannot read the image") and "\n" not in str(exc)
    else:
        assert np.abs(grid.astype(int) - reference).max() <= 1


def test_any_pillow_exception_is_an_image_error(monkeypatch):
    def explode(*args, **kwargs):
        raise KeyError("something deep inside a plugin")

    monkeypatch.setattr(imaging.ImageOps, "exif_transpose", explode)
    with pytest.raises(imaging.ImageError, match="cannot read the image"):
        imaging.load_image(encoded(strokes(), "PNG"))


def test_pillow_bomb_warning_is_an_error(monkeypatch):
    data = encoded(Image.new("L", (60, 60), 255), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # 3600 px: warning range
    with pytest.raises(imaging.ImageTooLarge):
        imaging.load_image(data, max_pixels=10**9)


def test_text_file_and_other_formats_refused(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    with pytest.raises(imaging.NotAnImage, match="notes.png"):
        imaging.load_image(text)
    for fmt in ("TIFF", "PPM", "ICO"):  # Pillow reads these, but they are not allowed here
        with pytest.raises(imaging.NotAnImage):
            imaging.load_image(encoded(strokes(size=(64, 64)), fmt))


def test_missing_and_truncated_files(tmp_path):
    with pytest.raises(imaging.ImageError, match="no such file"):
        imaging.load_image(tmp_path / "absent.png")
    data = encoded(strokes(mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)), "PNG")
    with pytest.raises(imaging.ImageError) as info:
        imaging.load_image(data[: len(data) // 2], name="half.png")
    assert "half.png" in str(info.value) and not isinstance(info.value, imaging.NotAnImage)


@pytest.mark.parametrize(
    "img",
    [
        Image.new("L", (100, 80), 255),
        Image.new("RGB", (50, 50), (90, 140, 20)),
        Image.new("RGBA", (40, 40), (0, 0, 0, 0)),
        Image.new("L", (28, 28), 0),
    ],
)
def test_blank_images_are_an_error(img):
    with pytest.raises(imaging.BlankImage, match="blank"):
        imaging.image_to_mnist(img)


def test_check_pixels():
    good = list(range(256)) * 3 + [0] * 16
    out = imaging.check_pixels(good)
    assert out.shape == (784,) and out.dtype == np.float64 and out[255] == 255
    assert np.allclose(imaging.mnist_to_input(out), out / 255)
    bad = [
        ([0] * 783, "784"),
        ([0] * 783 + [float("nan")], "finite"),
        ([0] * 783 + [float("inf")], "finite"),
        ([0] * 783 + [256], "0..255"),
        ([-1] + [0] * 783, "0..255"),
        (["0"] * 784, "numbers"),
        ([True] * 784, "numbers"),
        ({"a": 1}, "list"),
        ("0" * 784, "list"),
    ]
    for values, message in bad:
        with pytest.raises(ValueError, match=message):
            imaging.check_pixels(values)


def test_check_model_and_probabilities(rng):
    soft = bpnn.Network([784, 8, 10], activation="relu", loss="cross_entropy", seed=rng)
    sig = bpnn.Network([784, 8, 10], seed=rng)
    x = rng.random(784)
    assert (
        imaging.check_model(soft, {"preprocessing": bpnn.modelfile.MNIST_PREPROCESSING}) == 1 / 255
    )
    assert np.allclose(imaging.digit_probabilities(soft, x), soft.predict(x))
    p = imaging.digit_probabilities(sig, x)
    assert np.isclose(p.sum(), 1) and np.argmax(p) == np.argmax(sig.predict(x))
    with pytest.raises(BpnnError, match="784"):
        imaging.check_model(bpnn.Network([100, 10], seed=rng), {})
    with pytest.raises(BpnnError, match="dark-on-light"):
        imaging.check_model(
            soft, {"preprocessing": {"image_shape": [28, 28], "ink": "dark-on-light"}}
        )


def test_file_over_the_byte_limit_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(imaging, "MAX_IMAGE_FILE_BYTES", 1000)
    data = encoded(strokes(), "BMP")  # 216 kB
    path = tmp_path / "big.bmp"
    path.write_bytes(data)
    for source in (path, data):
        with pytest.raises(imaging.ImageTooLarge, match="more than an image may hold"):
            imaging.load_image(source)
