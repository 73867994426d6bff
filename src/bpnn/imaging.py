"""From an image file to what an MNIST network reads: how ``predict`` and ``serve`` prepare images.

MNIST digits were made like this: grey levels, ink light on a dark background, the digit cropped,
its longer side scaled to 20 pixels keeping the aspect ratio (anti-aliased), and placed in a 28x28
field so that its centre of mass sits at pixel (14, 14).  ``image_to_mnist`` does the same to any
PNG, JPEG, BMP or GIF (first frame): colour or grey, any size, with or without transparency, dark
ink on light paper or light ink on a dark background.

- ``load_image(source)``: a Pillow image from a path, bytes or a binary file, safely and turned
  upright (EXIF orientation): only the four formats above, a pixel limit checked from the header
  before anything is decoded (Pillow's decompression-bomb warning is turned into an error too),
  and whatever Pillow raises on a damaged file (in its data, its metadata or its EXIF) becomes an
  ``ImageError``.
- ``image_to_mnist(image) -> (28, 28) uint8``: 0 = background, 255 = ink, as in the MNIST files.
- ``mnist_to_input``, ``check_pixels``: 28x28 grey levels -> network input
  (784,) scaled as the model's metadata says.
- ``grey_image``: a checked array of grey levels (the page's canvas) as an image for
  ``image_to_mnist``.
- ``check_model``, ``digit_probabilities``: is the model one that reads 28x28 digits, and its ten
  probabilities (softmax outputs as they are; sigmoid outputs normalised to sum to 1).

Photos: the background is estimated locally (a coarse minimum of the ink map), so gentle uneven
lighting is flattened; a 3x3 median removes speckle noise in images larger than 64 pixels.  Left
out: deskewing, segmenting several digits, and perspective correction.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from .errors import BpnnError, FormatError
from .evaluation import UNSURE_BELOW, probabilities
from .limits import MAX_GREY_SIDE, MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS
from .modelinfo import ModelInfo
from .targets import Targets

__all__ = [
    "FORMATS",
    "MAX_PIXELS",
    "BlankImage",
    "ImageError",
    "ImageTooLarge",
    "NotAnImage",
    "check_model",
    "check_pixels",
    "digit_probabilities",
    "grey_image",
    "image_to_mnist",
    "load_image",
    "mnist_to_input",
]

FORMATS = ("PNG", "JPEG", "BMP", "GIF")
MAX_PIXELS = MAX_IMAGE_PIXELS
WORK_SIDE = 1024  # larger images are reduced to this longer side first (the result is 20 px)
BOX, FIELD, CENTRE = 20, 28, 14.0  # MNIST: 20x20 box, 28x28 field, centre of mass at (14, 14)
MIN_CONTRAST = 0.2  # ink must differ from the background by 20% of the grey range


class ImageError(FormatError):
    """An image that cannot be used: unreadable, not an image, too large, or blank."""


class NotAnImage(ImageError):
    """The bytes are not a PNG, JPEG, BMP or GIF image."""


class ImageTooLarge(ImageError):
    """More pixels than allowed (a possible decompression bomb)."""


class BlankImage(ImageError):
    """No ink: the image is one flat colour (or nearly)."""


# ---- reading ------------------------------------------------------------------------------
def load_image(source, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Open and decode ``source`` (a path, bytes, or a binary file object): the first frame,
    turned as its EXIF orientation says.

    Raises NotAnImage, ImageTooLarge or ImageError with a message naming ``name`` (default:
    the path, or "image").  The pixel limit is checked from the header, before decoding (for a
    JPEG, on the reduced scale it is decoded at); a file or bytes over MAX_IMAGE_FILE_BYTES are
    refused unread.
    """
    if isinstance(source, (str, os.PathLike)):
        name = name or str(source)
        path = Path(source)
        if not path.is_file():
            raise ImageError(
                f"{name}: no such file" if not path.exists() else f"{name}: not a file"
            )
        _check_size(path.stat().st_size, name)
        with open(path, "rb") as f:
            return _decode(f, max_pixels, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        _check_size(len(source), name or "image")
        source = io.BytesIO(bytes(source))
    return _decode(source, max_pixels, name or "image")


def _check_size(size: int, name: str) -> None:
    if size > MAX_IMAGE_FILE_BYTES:
        raise ImageTooLarge(
            f"{name}: {size:,} bytes is more than an image may hold ({MAX_IMAGE_FILE_BYTES:,})"
        )


def _decode(fp, max_pixels: int, name: str) -> Image.Image:
    """The upright first frame of the image in ``fp``; every failure an ImageError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data" and the like
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fp, formats=list(FORMATS))
            if img.format == "JPEG":  # decode at a reduced scale when the image is large
                img.draft(img.mode, (WORK_SIDE, WORK_SIDE))
            if img.width * img.height > max_pixels:
                raise ImageTooLarge(
                    f"{name}: {img.width}x{img.height} image has more than {max_pixels:,} pixels"
                )
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # phone photos: the orientation tag
            return img
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise NotAnImage(f"{name}: not a PNG, JPEG, BMP or GIF image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"{name}: {exc}") from None
    except Exception as exc:  # Pillow's plugins report damage with any exception type
        raise ImageError(f"{name}: cannot read the image ({_one_line(exc)})") from None


def _one_line(exc: Exception) -> str:
    """An exception as a short single line: its message, else its type's name."""
    text = " ".join(str(exc).split())
    return (text[:200] + "...") if len(text) > 200 else (text or type(exc).__name__)


# ---- preprocessing ------------------------------------------------------------------------
def image_to_mnist(image: Image.Image) -> np.ndarray:
    """A digit image (upright, as ``load_image`` gives it) as MNIST would hold it: (28, 28)
    uint8, 0 = background, 255 = ink.

    Raises BlankImage when there is no ink to find.
    """
    ink, strong = _ink_map(_grey(image))
    rows, cols = np.nonzero(ink >= strong)  # crop to the clear strokes, not to faint smudges
    if rows.size == 0:
        raise BlankImage("no digit found: the image is blank")
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return _place(_fit(crop, BOX), FIELD, CENTRE)


def _grey(img: Image.Image) -> np.ndarray:
    """Grey levels in [0, 1], (H, W) float32, at most WORK_SIDE on the longer side.

    Transparent pixels are composited onto a background that contrasts with the visible pixels,
    so both dark strokes and light strokes on a transparent canvas survive.
    """
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit and float greys
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255, 0, 255).astype(np.uint8))
    img = img.convert("RGBA").convert("LA") if _has_alpha(img) else img.convert("L")
    if max(img.size) > WORK_SIDE:
        scale = WORK_SIDE / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.BOX)
    if img.mode == "L":
        return _denoise(img)
    grey, alpha = (np.asarray(band, dtype=np.float32) / 255 for band in img.split())
    seen = alpha.sum()
    shown = (grey * alpha).sum() / seen if seen > 0 else 1.0
    backdrop = 1.0 if shown < 0.5 else 0.0
    flat = grey * alpha + backdrop * (1 - alpha)
    return _denoise(Image.fromarray(np.round(flat * 255).astype(np.uint8)))


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _denoise(img: Image.Image) -> np.ndarray:
    """3x3 median against speckle (not on tiny images, whose strokes are 1-2 pixels wide)."""
    if min(img.size) >= 64:
        img = img.filter(ImageFilter.MedianFilter(3))
    return np.asarray(img, dtype=np.float32) / 255


def _ink_map(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """(H, W) float32 in [0, 1]: 0 where there is no ink, up to 1 in the strokes; and the level
    above which a pixel is clearly ink (Otsu's threshold on this scale)."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    ink = 1 - grey if np.median(border) > 0.5 else grey  # light paper: invert
    ink = np.clip(ink - _background(ink), 0, None)
    if ink.max() < MIN_CONTRAST:
        raise BlankImage("no digit found: the image is blank (no ink that stands out)")
    t = _otsu(ink)
    strong = ink[ink > t]
    top = float(np.percentile(strong, 90)) if strong.size else float(ink.max())
    low = t / 2  # below half the threshold is paper noise
    span = max(top - low, 1e-6)
    return np.clip((ink - low) / span, 0, 1), (t - low) / span


def _background(ink: np.ndarray, grid: int = 8) -> np.ndarray:
    """A smooth estimate of the background level: minimum over coarse blocks, 3x3 minimum of
    those (so a block full of stroke still sees paper), bilinear back to full size."""
    h, w = ink.shape
    if min(h, w) < 2 * grid:
        return np.full_like(ink, ink.min())
    ys = np.linspace(0, h, grid + 1).astype(int)
    xs = np.linspace(0, w, grid + 1).astype(int)
    blocks = np.array(
        [
            [ink[ys[i] : ys[i + 1], xs[j] : xs[j + 1]].min() for j in range(grid)]
            for i in range(grid)
        ],
        dtype=np.float32,
    )
    padded = np.pad(blocks, 1, mode="edge")
    low = np.min([padded[i : i + grid, j : j + grid] for i in range(3) for j in range(3)], axis=0)
    field = Image.fromarray(low).resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(field, dtype=np.float32)


def _otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the level that best separates two groups (paper and ink)."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, float(values.max())))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        m0 = s0 / w0
        m1 = (s0[-1] - s0) / w1
        between = w0 * w1 * (m0 - m1) ** 2
    return float(centres[np.nanargmax(np.where(w1 > 0, between, np.nan))])


def _fit(crop: np.ndarray, box: int) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio (anti-aliased by a
    triangle filter, which does not ring as Lanczos does)."""
    h, w = crop.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray(crop.astype(np.float32))
    return np.clip(np.asarray(img.resize(size, Image.Resampling.BILINEAR)), 0, 1)


def _place(small: np.ndarray, field: int, centre: float) -> np.ndarray:
    """Put ``small`` in a field x field array so its centre of mass lands on (centre, centre);
    the shift is limited so no ink falls outside the field."""
    h, w = small.shape
    mass = small.sum()
    cy = (small.sum(axis=1) @ np.arange(h)) / mass
    cx = (small.sum(axis=0) @ np.arange(w)) / mass
    top = int(np.clip(round(centre - cy), 0, field - h))
    left = int(np.clip(round(centre - cx), 0, field - w))
    out = np.zeros((field, field), dtype=np.uint8)
    out[top : top + h, left : left + w] = np.round(small * 255).astype(np.uint8)
    return out


# ---- to the network -----------------------------------------------------------------------
def check_pixels(values) -> np.ndarray:
    """784 grey levels (0 = background .. 255 = ink, row by row) as a checked (784,) float64.

    ValueError, with what is wrong, for a wrong length, non-numbers, NaN/inf or out-of-range values.
    """
    return _check_levels(values, FIELD * FIELD, "pixels", "28x28")


def grey_image(values, width, height) -> Image.Image:
    """A picture sent as ``width`` x ``height`` grey levels (0..255, row by row, any paper and
    ink) as a Pillow "L" image for ``image_to_mnist``: the draw-a-digit page sends its canvas so.

    ValueError for sides that are not whole numbers from 1 to MAX_GREY_SIDE, or bad levels.
    """
    for side, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_GREY_SIDE:
            raise ValueError(f"{side} must be a whole number from 1 to {MAX_GREY_SIDE}")
    levels = _check_levels(values, width * height, "grey", f"{width}x{height}")
    return Image.fromarray(np.rint(levels).astype(np.uint8).reshape(height, width), mode="L")


def _check_levels(values, n: int, what: str, shape: str) -> np.ndarray:
    """``n`` grey levels 0..255 named ``what`` as a checked (n,) float64; ValueError if not."""
    if not isinstance(values, (list, tuple, np.ndarray)):
        raise ValueError(f"{what} must be a list of {n} grey levels")
    if len(values) != n:
        raise ValueError(f"{what} must hold {n} grey levels ({shape}), got {len(values)}")
    if not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{what} must all be numbers")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except OverflowError:  # an integer beyond float range
        raise ValueError(f"{what} must be grey levels in 0..255, got a huge number") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} must be finite numbers (got NaN or infinity)")
    if arr.min() < 0 or arr.max() > 255:
        raise ValueError(
            f"{what} must be grey levels in 0..255, got values from {arr.min():g} to {arr.max():g}"
        )
    return arr


def mnist_to_input(grid: np.ndarray, scale: float = 1 / 255) -> np.ndarray:
    """(28, 28) or (784,) grey levels -> the network's input row, (784,) float64."""
    return np.asarray(grid, dtype=np.float64).reshape(FIELD * FIELD) * scale


def check_model(net, meta: ModelInfo | dict) -> float:
    """BpnnError unless the model (its network and metadata) reads 28x28 light-on-dark digits;
    returns its input scale."""
    prep = ModelInfo.coerce(meta).preprocessing or {}
    if net.n_inputs != FIELD * FIELD or prep.get("image_shape", [FIELD, FIELD]) != [FIELD, FIELD]:
        raise BpnnError(
            f"this model takes {net.n_inputs} inputs; reading images needs a model "
            f"of 28x28 = 784 pixels"
        )
    if prep.get("kind", "scale") not in ("scale", "none"):
        raise BpnnError(
            f"this model's inputs are {prep.get('kind')!r}-preprocessed; reading images "
            f"needs a model of pixels scaled by a factor"
        )
    if prep.get("ink", "light-on-dark") != "light-on-dark":
        raise BpnnError(
            f"this model expects {prep['ink']!r} images; bpnn prepares light-on-dark ones"
        )
    scale = prep.get("scale", 1 / 255)
    if not isinstance(scale, (int, float)) or isinstance(scale, bool):
        raise BpnnError(f"bad input scale {scale!r} in the model's metadata")
    if not (math.isfinite(scale) and scale > 0):
        raise BpnnError(f"bad input scale {scale!r} in the model's metadata")
    return scale


def digit_probabilities(net, x: np.ndarray) -> np.ndarray:
    """Probabilities of each class for one input row x (784,): (n_outputs,) summing to 1.

    Softmax outputs are probabilities already; other outputs (sigmoid with squared error) are
    normalised by their sum, which ranks the classes the same way
    (``bpnn.evaluation.probabilities``).
    """
    return probabilities(net, net.predict(x)[None, :])[0]


def model_targets(net, meta: ModelInfo | dict) -> Targets:
    """The model's own classes or values (its metadata's targets; bpnn 0.1: digits 0..k-1)."""
    info = ModelInfo.coerce(meta)
    return Targets.from_dict(info.targets, net.n_outputs)


def model_answer(
    net, targets: Targets, x: np.ndarray, top: int | None = None, unsure_below: float = UNSURE_BELOW
) -> dict:
    """What the model says of one input row x (784,), in its own terms.

    A classifier: ``digit`` (its most likely class, as the model names it: an int or a string),
    ``probability``, ``unsure`` (that probability is below ``unsure_below``), ``unsure_below``,
    ``index`` (that class's position in ``classes``), ``classes`` and ``probabilities``
    (n_outputs,); with ``top``, the ``top`` most likely as {digit, probability}.  A regressor:
    ``value`` (one target) or ``values`` (k), in its own units.
    """
    if targets.task == "regress":
        values = np.atleast_1d(targets.decode(net.predict(x)[None, :])[0])
        return {"value": float(values[0])} if len(values) == 1 else {"values": values.tolist()}
    probs = digit_probabilities(net, x)
    classes = targets.labels.tolist()
    order = np.argsort(-probs, kind="stable")
    best = int(order[0])
    answer = {
        "digit": classes[best],
        "probability": float(probs[best]),
        "unsure": bool(probs[best] < unsure_below),
        "unsure_below": unsure_below,
        "index": best,
        "classes": classes,
        "probabilities": [float(p) for p in probs],
    }
    if top is not None:
        answer["top"] = [
            {"digit": classes[k], "probability": float(probs[k])} for k in order[:top].tolist()
        ]
    return answer
