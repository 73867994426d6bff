"""Weight initialisers, looked up by name.

- ``uniform``: the tutorial's uniform(-0.1, 0.1) for every weight;
- ``xavier`` (Glorot & Bengio 2010): uniform(-r, r), r = sqrt(6 / (fan_in + fan_out)), good for
  sigmoid and tanh;
- ``he`` (He et al. 2015): normal(0, sqrt(2 / fan_in)), good for ReLU.

Biases start at zero, as in the tutorial's vectorised code.  Every function takes an explicit
``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["INITIALISERS", "init_weights"]


def uniform(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    return rng.uniform(-0.1, 0.1, size=(n_out, n_in))


def xavier(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    r = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-r, r, size=(n_out, n_in))


def he(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))


INITIALISERS = {"uniform": uniform, "xavier": xavier, "he": he}


def init_weights(name: str, rng: np.random.Generator, n_out: int, n_in: int, dtype) -> np.ndarray:
    """A weight matrix of shape (n_out, n_in) drawn by the named initialiser."""
    try:
        fn = INITIALISERS[name]
    except KeyError:
        raise ValueError(
            f"unknown init {name!r}; choose one of {', '.join(INITIALISERS)}"
        ) from None
    return fn(rng, n_out, n_in).astype(dtype)
