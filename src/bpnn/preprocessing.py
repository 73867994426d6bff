"""Preprocessing: how raw features become network inputs, chosen explicitly and stored in the model.

Three kinds, each plain data (``to_dict``/``from_dict``) saved in every model file, so that
loading a model and predicting applies exactly what training applied -- a model never guesses:

- ``none``: the features as they are (cast to the network's float type).
- ``scale``: every feature times one factor (MNIST's 1/255 for grey levels 0..255).
- ``standardize``: (x - mean) / std per feature, with the mean and standard deviation of the
  training split (a constant feature gets std 1, so it maps to 0 and not to NaN).

``resolve(kind, X)`` applies the documented rule for ``"auto"``: uint8 features are pixel-like
and get ``scale`` 1/255; any other features get ``standardize``.  Image models also record their
``image_shape`` (and the ink convention, for ``bpnn.imaging``).

Not here: targets (``bpnn.targets``), finding and reading data (``bpnn.data``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import FormatError

__all__ = ["KINDS", "Preprocessing", "resolve"]

KINDS = ("none", "scale", "standardize")
PIXEL_SCALE = 1 / 255


@dataclass
class Preprocessing:
    """One preprocessing step; ``apply`` maps X (n, d) to float inputs (n, d)."""

    kind: str = "none"
    scale: float = 1.0
    mean: np.ndarray | None = None  # (d,) for standardize
    std: np.ndarray | None = None  # (d,) for standardize
    image_shape: list | None = None  # [h, w] when the features are the pixels of an image
    extra: dict = field(default_factory=dict)  # other recorded facts (e.g. the ink convention)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown preprocessing {self.kind!r}; choose one of {', '.join(KINDS)} or auto"
            )
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"the preprocessing scale must be a positive number, got {self.scale}")
        if self.image_shape is not None and not _is_shape(self.image_shape):
            raise ValueError(f"image_shape must be [height, width], got {self.image_shape!r}")
        if self.kind == "standardize":
            if self.mean is None or self.std is None:
                raise ValueError("standardize needs a mean and a standard deviation per feature")
            self.mean = np.asarray(self.mean, dtype=np.float64)
            self.std = np.asarray(self.std, dtype=np.float64)
            if self.mean.shape != self.std.shape or self.mean.ndim != 1:
                raise ValueError("standardize needs mean and std of the same shape (d,)")
            if not (
                np.isfinite(self.mean).all()
                and np.isfinite(self.std).all()
                and (self.std > 0).all()
            ):
                raise ValueError("standardize needs finite means and positive standard deviations")

    @classmethod
    def fit(
        cls,
        kind: str,
        X: np.ndarray,
        scale: float | None = None,
        image_shape=None,
        extra: dict | None = None,
    ) -> Preprocessing:
        """The preprocessing ``kind`` with its numbers taken from the training features X (n, d)."""
        common = {"image_shape": image_shape, "extra": dict(extra or {})}
        if kind == "standardize":
            Xf = np.asarray(X, dtype=np.float64)
            std = Xf.std(axis=0)
            return cls(
                "standardize", mean=Xf.mean(axis=0), std=np.where(std > 0, std, 1.0), **common
            )
        if kind == "scale":
            return cls("scale", scale=PIXEL_SCALE if scale is None else float(scale), **common)
        return cls(kind, **common)

    @property
    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std), (d,) each, of standardisation (a ValueError for the other kinds)."""
        if self.mean is None or self.std is None:
            raise ValueError(f"{self.kind!r} preprocessing has no mean and std")
        return self.mean, self.std

    def apply(self, X: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Inputs (n, d) of ``dtype`` for raw features X (n, d): a new array, X is not changed."""
        dtype = np.dtype(dtype)
        if self.kind == "standardize":
            mean, std = self.moments
            if X.shape[-1] != mean.shape[0]:
                raise ValueError(
                    f"features have {X.shape[-1]} columns, the preprocessing "
                    f"expects {mean.shape[0]}"
                )
            return ((np.asarray(X, dtype=np.float64) - mean) / std).astype(dtype)
        out = np.asarray(X).astype(dtype)  # a copy, even when the type already matches
        if self.kind == "scale":
            out *= dtype.type(self.scale)  # float(x) * scale, rounded as the fast paths do
        return out

    def pixel_scale(self, X: np.ndarray) -> float | None:
        """The factor the fast paths can apply to uint8 X themselves (saving a float copy of the
        whole set), or None when X must go through ``apply`` first."""
        if X.dtype != np.uint8 or self.kind == "standardize":
            return None
        return self.scale if self.kind == "scale" else 1.0

    def describe(self) -> str:
        """One line for the log: what is done to the features."""
        if self.kind == "standardize":
            return (
                f"standardize ({len(self.moments[0])} features: mean and std of the training split)"
            )
        if self.kind == "scale":
            return f"scale x{self.scale:.6g}"
        return "none (features used as they are)"

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "scale": self.scale, **self.extra}
        if self.kind == "standardize":
            mean, std = self.moments
            data.update(mean=mean.tolist(), std=std.tolist())
        if self.image_shape is not None:
            data["image_shape"] = list(self.image_shape)
        return data

    @classmethod
    def from_dict(cls, data, source: str = "model") -> Preprocessing:
        """Read ``to_dict`` output (and bpnn 0.1's MNIST-only form, which had no ``kind``)."""
        if not isinstance(data, dict):
            raise FormatError(
                f"{source}: preprocessing must be an object, got {type(data).__name__}"
            )
        data = dict(data)
        kind = data.pop("kind", "scale")
        known = {k: data.pop(k) for k in ("scale", "mean", "std", "image_shape") if k in data}
        scale = known.get("scale", 1.0)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool):
            raise FormatError(
                f"{source}: bad preprocessing (scale must be a number, got {scale!r})"
            )
        try:
            return cls(
                kind,
                scale=float(scale),
                mean=known.get("mean"),
                std=known.get("std"),
                image_shape=known.get("image_shape"),
                extra=data,
            )
        except (TypeError, ValueError) as exc:
            raise FormatError(f"{source}: bad preprocessing ({exc})") from None


def _is_shape(value) -> bool:
    """Whether ``value`` is [height, width]: two whole numbers >= 1."""
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in value
        )
    )


def resolve(kind: str, X: np.ndarray, scale: float | None = None, **options) -> Preprocessing:
    """``Preprocessing.fit(kind, X, scale, **options)`` with ``"auto"`` decided by the documented
    rule (uint8 -> scale 1/255, anything else -> standardize); X: the training features (n, d)."""
    if kind == "auto":
        kind = "scale" if np.asarray(X).dtype == np.uint8 else "standardize"
    if kind not in KINDS:
        raise ValueError(f"unknown preprocessing {kind!r}; choose one of auto, {', '.join(KINDS)}")
    return Preprocessing.fit(kind, X, scale, **options)
