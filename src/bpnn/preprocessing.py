"""Preprocessing: how raw features become network inputs, chosen explicitly and stored in the model.

Five kinds, each plain data (``to_dict``/``from_dict``) saved in every model file, so that
loading a model and predicting applies exactly what training applied -- a model never guesses:

- ``none``: the features as they are (cast to the network's float type).
- ``scale``: every feature times one factor (MNIST's 1/255 for grey levels 0..255).
- ``standardize``: (x - mean) / std per feature, with the mean and standard deviation of the
  training split (a constant feature gets std 1, so it maps to 0 and not to NaN); a feature
  whose training values are all 0 or 1 (a one-hot level, a yes/no column, a missing-value
  indicator) is kept as it is (mean 0, std 1 stored), and the count is stated.
- ``quantile``: per feature, the training split's empirical CDF from ``bins`` + 1 quantiles
  (default 64), piecewise linear, scaled to mean 0 and variance 1 (``bpnn.binning``).
- ``ple``: piecewise-linear encoding (Gorishniy et al. 2022): ``bins`` quantile bins per feature
  (default 16), each feature becoming ``bins`` inputs, so the network takes d * bins inputs for
  d raw features (``input_width``; ``n_features`` is the raw width).

The quantile edges (and CDF levels) are stored as plain lists per feature.

``resolve(kind, X)`` applies the documented rule for ``"auto"``: uint8 features are pixel-like
and get ``scale`` 1/255; any other features get ``standardize``.  Image models also record their
``image_shape`` (and the ink convention, for ``bpnn.imaging``).

Not here: targets (``bpnn.targets``), finding and reading data (``bpnn.data``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .binning import Tables, fit_edges, tables
from .errors import FormatError

__all__ = ["DEFAULT_BINS", "KINDS", "Preprocessing", "input_width", "resolve"]

KINDS = ("none", "scale", "standardize", "quantile", "ple")
BINNED = ("quantile", "ple")
PIXEL_SCALE = 1 / 255
DEFAULT_BINS = {"quantile": 64, "ple": 16}
MAX_BINS = 1024


def input_width(kind: str, n_features: int, bins: int | None = None) -> int:
    """The network's input width for ``n_features`` raw features under ``kind``."""
    return n_features * (bins or DEFAULT_BINS["ple"]) if kind == "ple" else n_features


@dataclass
class Preprocessing:
    """One preprocessing step; ``apply`` maps X (n, d) to float inputs (n, d)."""

    kind: str = "none"
    scale: float = 1.0
    mean: np.ndarray | None = None  # (d,) for standardize
    std: np.ndarray | None = None  # (d,) for standardize
    image_shape: list | None = None  # [h, w] when the features are the pixels of an image
    extra: dict = field(default_factory=dict)  # other recorded facts (e.g. the ink convention)
    bins: int | None = None  # quantile and ple: bins per feature
    edges: list | None = None  # quantile and ple: per feature, its distinct edges (k_j + 1,)
    cdf: list | None = None  # quantile: per feature, the CDF level of each edge
    _tables: Tables | None = field(default=None, init=False, repr=False, compare=False)

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
        if self.kind in BINNED:
            self._check_bins()

    def _check_bins(self) -> None:
        """Edges: per feature, 1..bins+1 finite increasing numbers; cdf levels likewise in
        [0, 1], one per edge (quantile only)."""
        if not (isinstance(self.bins, (int, np.integer)) and 1 <= self.bins <= MAX_BINS):
            raise ValueError(f"{self.kind} needs a number of bins in 1..{MAX_BINS}")
        if not isinstance(self.edges, (list, tuple)) or not self.edges:
            raise ValueError(f"{self.kind} needs the bin edges of each feature")
        self.edges = [_increasing(b, self.bins + 1, "bin edges") for b in self.edges]
        if self.kind == "quantile":
            if not isinstance(self.cdf, (list, tuple)) or len(self.cdf) != len(self.edges):
                raise ValueError("quantile needs the CDF levels of each feature's edges")
            self.cdf = [np.asarray(c, dtype=np.float64) for c in self.cdf]
            for c, b in zip(self.cdf, self.edges):
                if c.shape != b.shape or not ((c >= 0) & (c <= 1)).all() or (np.diff(c) < 0).any():
                    raise ValueError("quantile CDF levels must rise in [0, 1], one per edge")

    @property
    def n_features(self) -> int | None:
        """The raw feature width this preprocessing was fitted on (None: any width)."""
        if self.kind in BINNED:
            return len(self.edges or [])
        return None if self.mean is None else len(self.mean)

    @property
    def ple_bins(self) -> int:
        """The bins a feature of a piecewise-linear encoding, each feature's consecutive inputs
        (what the compiled small-net loop trains through their differences); 0 for the other
        kinds."""
        return int(self.bins or 0) if self.kind == "ple" else 0

    def width(self, n_features: int) -> int:
        """The network's input width for ``n_features`` raw features."""
        return input_width(self.kind, n_features, self.bins)

    def tables(self) -> Tables:
        """The dense (d, bins) arrays of quantile and ple (``bpnn.binning.Tables``)."""
        if self._tables is None:
            if self.kind not in BINNED:
                raise ValueError(f"{self.kind!r} preprocessing has no bins")
            cdf = self.cdf if self.kind == "quantile" else None
            self._tables = tables(self.edges or [], cdf, int(self.bins or 1), self.kind == "ple")
        return self._tables

    @classmethod
    def fit(
        cls,
        kind: str,
        X: np.ndarray,
        scale: float | None = None,
        image_shape=None,
        extra: dict | None = None,
        bins: int | None = None,
    ) -> Preprocessing:
        """The preprocessing ``kind`` with its numbers taken from the training features X (n, d);
        bins: quantile's and ple's (default ``DEFAULT_BINS``)."""
        common = {"image_shape": image_shape, "extra": dict(extra or {})}
        if kind in BINNED:
            bins = int(bins or DEFAULT_BINS[kind])
            edges, cdf = fit_edges(X, bins)
            cdf_or_none = cdf if kind == "quantile" else None
            return cls(kind, bins=bins, edges=edges, cdf=cdf_or_none, **common)
        if kind == "standardize":
            Xf = np.asarray(X, dtype=np.float64)
            if Xf.ndim != 2:
                raise ValueError(f"standardize needs features of shape (n, d), got {Xf.shape}")
            mean, std = Xf.mean(axis=0), Xf.std(axis=0)
            flags = _indicators(Xf) & (std > 0)  # a constant column still maps to 0
            extra = common["extra"]
            if flags.any():  # stated in the model file and the log (absent: none kept)
                extra["indicators_kept"] = int(flags.sum())
            return cls(
                "standardize",
                mean=np.where(flags, 0.0, mean),
                std=np.where(flags, 1.0, np.where(std > 0, std, 1.0)),
                image_shape=image_shape,
                extra=extra,
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
        if self.kind in BINNED:
            if X.shape[-1] != self.n_features:
                raise ValueError(
                    f"features have {X.shape[-1]} columns, the preprocessing "
                    f"expects {self.n_features}"
                )
            t = self.tables()
            return (t.ple(X) if self.kind == "ple" else t.quantile(X)).astype(dtype)
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
        if X.dtype != np.uint8 or self.kind not in ("none", "scale"):
            return None
        return self.scale if self.kind == "scale" else 1.0

    def describe(self) -> str:
        """One line for the log: what is done to the features."""
        if self.kind == "standardize":
            kept = self.extra.get("indicators_kept")
            return (
                f"standardize ({len(self.moments[0])} features: mean and std of the training "
                + (f"split; {kept} 0/1 columns kept as they are)" if kept else "split)")
            )
        if self.kind == "scale":
            return f"scale x{self.scale:.6g}"
        if self.kind == "quantile":
            return (
                f"quantile ({self.n_features} features: CDF of the training split, "
                f"{self.bins} bins)"
            )
        if self.kind == "ple":
            return (
                f"ple ({self.n_features} features x {self.bins} piecewise-linear bins "
                "from the training split's quantiles)"
            )
        return "none (features used as they are)"

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "scale": self.scale, **self.extra}
        if self.kind == "standardize":
            mean, std = self.moments
            data.update(mean=mean.tolist(), std=std.tolist())
        if self.kind in BINNED:
            data.update(bins=self.bins, edges=[b.tolist() for b in self.edges or []])
            if self.cdf is not None:
                data["cdf"] = [c.tolist() for c in self.cdf]
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
        names = ("scale", "mean", "std", "image_shape", "bins", "edges", "cdf")
        known = {k: data.pop(k) for k in names if k in data}
        kept = data.get("indicators_kept", 1)
        if not isinstance(kept, int) or isinstance(kept, bool) or kept < 1:
            raise FormatError(
                f"{source}: bad preprocessing (indicators_kept must be a count, got {kept!r})"
            )
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
                bins=known.get("bins"),
                edges=known.get("edges"),
                cdf=known.get("cdf"),
            )
        except (TypeError, ValueError) as exc:
            raise FormatError(f"{source}: bad preprocessing ({exc})") from None


def _indicators(X: np.ndarray) -> np.ndarray:
    """(d,) bool: the columns of X (n, d) whose every value is 0 or 1 (one-hot levels, yes/no
    columns, missing-value indicators).  Standardize leaves them as they are, as a scaler on
    the numeric columns only does: a rare level's indicator standardized is about
    1/sqrt(share) when set (7 for 2% of the rows), and outweighed the real numbers in the first
    layer (README "The defaults": slid's R^2 0.3667 -> 0.3725, males' 0.2843 -> 0.2895)."""
    out = np.ones(X.shape[1], dtype=bool)
    for start in range(0, X.shape[0], 65536):  # bounded scratch for a table of any length
        part = X[start : start + 65536]
        out &= ((part == 0) | (part == 1)).all(axis=0)
    return out


def _is_shape(value) -> bool:
    """Whether ``value`` is [height, width]: two whole numbers >= 1."""
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in value
        )
    )


def _increasing(values, most: int, what: str) -> np.ndarray:
    """values as a 1-D float64 array of 1..most finite, strictly increasing numbers."""
    b = np.asarray(values, dtype=np.float64)
    if b.ndim != 1 or not 1 <= len(b) <= most:
        raise ValueError(f"{what} must be lists of 1 to {most} numbers")
    if not np.isfinite(b).all() or (np.diff(b) <= 0).any():
        raise ValueError(f"{what} must be finite and increasing")
    return b


def resolve(kind: str, X: np.ndarray, scale: float | None = None, **options) -> Preprocessing:
    """``Preprocessing.fit(kind, X, scale, **options)`` with ``"auto"`` decided by the documented
    rule (uint8 -> scale 1/255, anything else -> standardize); X: the training features (n, d)."""
    if kind == "auto":
        kind = "scale" if np.asarray(X).dtype == np.uint8 else "standardize"
    if kind not in KINDS:
        raise ValueError(f"unknown preprocessing {kind!r}; choose one of auto, {', '.join(KINDS)}")
    return Preprocessing.fit(kind, X, scale, **options)
