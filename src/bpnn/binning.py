"""Numeric feature encodings by quantile bins (Gorishniy et al. 2022, "On Embeddings for
Numerical Features in Tabular Deep Learning"): the numbers behind ``--preprocessing ple`` and
``--preprocessing quantile``.

Per feature j, ``fit_edges`` takes the training split's quantiles at 0, 1/T, ..., 1 (values that
occur in the data: numpy's "lower" method, so a 0/1 feature gets the edges 0 and 1) and keeps the
distinct ones: edges b_0 < b_1 < ... < b_k (k <= T bins; a feature with few distinct values gets
fewer, a constant one none).  Both encodings are built from the bin fractions

    z_t = (x - b_t) / (b_{t+1} - b_t),   t = 0..k-1

- piecewise-linear encoding (PLE): T outputs per feature, output t = z_t clipped to [0, 1],
  except that the first bin is not clipped below and the last not above (so values beyond the
  training range still move the encoding); bins past k are 0.  Shape (n, d) -> (n, d*T).
- quantile: one output per feature, the training split's empirical CDF, piecewise linear between
  the edges: u = c_0 + sum_t (c_{t+1} - c_t) * clip(z_t, 0, 1), with c_i the quantile level of
  edge i (the mean level where several quantiles share a value), mapped to mean 0 and variance 1
  as (u - 1/2) * sqrt(12).  Shape (n, d) -> (n, d).

``Tables`` holds the dense (d, T) arrays both are computed from (also the ONNX export's
constants).  Not here: choosing or storing the preprocessing (``bpnn.preprocessing``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Tables", "fit_edges", "tables"]

UNIFORM_STD = np.sqrt(12.0)  # 1 / the standard deviation of U(0, 1)


def fit_edges(X: np.ndarray, bins: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per feature of X (n, d): the distinct quantile edges (k_j + 1,) and their levels in [0, 1]
    (the mean level of the quantiles equal to each edge), from ``bins`` + 1 quantiles."""
    X = np.asarray(X, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, bins + 1)
    q = np.quantile(X, levels, axis=0, method="lower")  # (bins + 1, d): values that occur
    edges, cdf = [], []
    for j in range(X.shape[1]):
        values, inverse = np.unique(q[:, j], return_inverse=True)
        edges.append(values)
        cdf.append(np.bincount(inverse, weights=levels) / np.bincount(inverse))
    return edges, cdf


@dataclass
class Tables:
    """Dense per-bin arrays, each (d, T): bin starts, 1/width (0 for unused bins), the clip
    bounds of z (-inf/+inf for PLE's open ends), and the CDF rise over each bin; base (d,): the
    CDF level at each feature's first edge."""

    start: np.ndarray
    inv_width: np.ndarray
    low: np.ndarray
    high: np.ndarray
    rise: np.ndarray
    base: np.ndarray

    def fractions(self, X: np.ndarray) -> np.ndarray:
        """Clipped bin fractions (n, d, T) of X (n, d), float64."""
        z = np.asarray(X, dtype=np.float64)[:, :, None] - self.start
        z *= self.inv_width  # (in place: the same numbers, one (n, d, T) array instead of four)
        np.maximum(z, self.low, out=z)
        return np.minimum(z, self.high, out=z)

    def ple(self, X: np.ndarray) -> np.ndarray:
        """Piecewise-linear encoding (n, d*T) of X (n, d)."""
        return self.fractions(X).reshape(len(X), -1)

    def quantile(self, X: np.ndarray) -> np.ndarray:
        """The standardised empirical CDF (n, d) of X (n, d)."""
        u = self.base + np.einsum("ndt,dt->nd", self.fractions(X), self.rise)
        return (u - 0.5) * UNIFORM_STD


def tables(edges: list, cdf: list | None, bins: int, open_ends: bool) -> Tables:
    """The dense arrays for per-feature ``edges`` (and their ``cdf`` levels, for quantile) with
    ``bins`` columns per feature; ``open_ends``: PLE's unclipped first and last bins."""
    d = len(edges)
    start, inv_width = np.zeros((d, bins)), np.zeros((d, bins))
    low, high, rise = np.zeros((d, bins)), np.zeros((d, bins)), np.zeros((d, bins))
    base = np.zeros(d)
    for j, b in enumerate(edges):
        b = np.asarray(b, dtype=np.float64)
        k = len(b) - 1  # bins in use; the rest stay 0 (start 0, 1/width 0, clipped to [0, 0])
        start[j, :k], inv_width[j, :k] = b[:-1], 1.0 / np.diff(b)
        low[j, :k], high[j, :k] = 0.0, 1.0
        if open_ends and k:
            low[j, 0], high[j, k - 1] = -np.inf, np.inf
        if cdf is not None:
            c = np.asarray(cdf[j], dtype=np.float64)
            base[j] = c[0]
            rise[j, :k] = np.diff(c)
    return Tables(start, inv_width, low, high, rise, base)
