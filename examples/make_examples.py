"""Regenerate the example digit images in this folder (``python examples/make_examples.py``).

Each is drawn with Pillow from a few pen strokes, deterministic (seeded):

- ``seven.jpg``: photo-like: a blue pen "7" on off-white paper, unevenly lit (darker towards one
  corner), slightly blurred and noisy, colour JPEG at 480x400.
- ``two.png``: a drawing-app export: a dark "2" on a transparent background (RGBA PNG).
- ``four.gif``: chalk on a blackboard: a light "4" on dark green, palette GIF.

``bpnn predict MODEL examples/*`` should read 7, 2 and 4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent

# Strokes in unit coordinates (x right, y down), as a hand would draw them.
SEVEN = [[(0.27, 0.24), (0.45, 0.22), (0.72, 0.21), (0.62, 0.40), (0.52, 0.60), (0.45, 0.82)]]
TWO = [
    [
        (0.30, 0.33),
        (0.36, 0.20),
        (0.50, 0.15),
        (0.64, 0.20),
        (0.68, 0.33),
        (0.60, 0.48),
        (0.45, 0.64),
        (0.30, 0.82),
        (0.50, 0.81),
        (0.72, 0.82),
    ]
]
FOUR = [
    [(0.34, 0.16), (0.30, 0.40), (0.29, 0.55), (0.50, 0.55), (0.72, 0.54)],
    [(0.63, 0.18), (0.62, 0.50), (0.62, 0.86)],
]


def smooth(points, rounds: int = 3):
    """Chaikin corner cutting: a hand-like curve through the control points."""
    pts = np.asarray(points, dtype=float)
    for _ in range(rounds):
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        pts = np.vstack([pts[:1], np.column_stack([q, r]).reshape(-1, 2), pts[-1:]])
    return pts


def draw_strokes(size, strokes, width, fill, rng, mode="L", background=0):
    """The strokes drawn with a round pen on a ``mode`` image; points jittered by the hand."""
    w, h = size
    img = Image.new(mode, size, background)
    draw = ImageDraw.Draw(img)
    side = min(w, h)
    for stroke in strokes:
        pts = smooth(np.asarray(stroke) + rng.normal(0, 0.006, (len(stroke), 2)))
        xy = [(x * side + (w - side) / 2, y * side + (h - side) / 2) for x, y in pts]
        draw.line(xy, fill=fill, width=width, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round pen ends
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=fill)
    return img


def photo_seven(rng) -> Image.Image:
    size = (480, 400)
    mask = draw_strokes(size, SEVEN, 22, 255, rng).filter(ImageFilter.GaussianBlur(1.5))
    ink = np.asarray(mask, dtype=float)[..., None] / 255 * 0.85
    paper = np.array([236, 230, 214], dtype=float)
    pen = np.array([35, 45, 110], dtype=float)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    light = 1.02 - 0.25 * (xx / size[0]) * (yy / size[1])  # shadow towards one corner
    rgb = (paper * (1 - ink) + pen * ink) * light[..., None]
    rgb += rng.normal(0, 5, rgb.shape)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    return img.rotate(-3, resample=Image.Resampling.BICUBIC, fillcolor=(232, 226, 210))


def transparent_two(rng) -> Image.Image:
    size = (256, 256)
    alpha = draw_strokes(size, TWO, 18, 255, rng)
    img = Image.new("RGBA", size, (20, 20, 20, 0))
    img.putalpha(alpha)
    return img


def chalk_four(rng) -> Image.Image:
    size = (240, 240)
    chalk = np.asarray(draw_strokes(size, FOUR, 16, 255, rng), dtype=float) / 255
    chalk *= rng.uniform(0.7, 1.0, chalk.shape)  # grainy chalk
    board = np.array([30, 60, 40], dtype=float)
    rgb = board * (1 - chalk[..., None]) + 235 * chalk[..., None]
    img = Image.fromarray(rgb.astype(np.uint8), "RGB")
    return img.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)


def main() -> None:
    rng = np.random.default_rng(2024)
    photo_seven(rng).save(HERE / "seven.jpg", quality=70)
    transparent_two(rng).save(HERE / "two.png", optimize=True)
    chalk_four(rng).save(HERE / "four.gif")
    for name in ("seven.jpg", "two.png", "four.gif"):
        print(f"{name}: {(HERE / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
