"""Activation functions (tutorial formula 1 and friends), each with its derivative beside it.

Every activation gives its value ``forward(z)`` and its derivative computed *from its output*
``derivative(y)`` -- exactly as the tutorial writes sigmoid'(x) = y (1 - y).  ``backward(y, g)``
turns dE/dy into dE/dz; for the element-wise functions that is ``g * derivative(y)``, for
softmax it is the Jacobian-vector product.

Arrays follow one convention: rows are samples, ``z`` and ``y`` have shape (n_samples, n_units).
All functions are numerically stable for inputs of +-1000 in float32 and float64 (no overflow
warnings, no NaN or inf).

Not here: losses (``bpnn.losses``) and anything with parameters.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
]


def _floating(z) -> np.ndarray:
    """z as a floating-point array (integers become float64)."""
    z = np.asarray(z)
    return z if z.dtype.kind == "f" else z.astype(np.float64)


class Activation:
    """Base class: an element-wise function f with f' expressed through y = f(z)."""

    name = "activation"
    elementwise = True

    def forward(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, y: np.ndarray) -> np.ndarray:
        """dy/dz, computed from the output y (same shape as y)."""
        raise NotImplementedError

    def backward(self, y: np.ndarray, grad_y: np.ndarray) -> np.ndarray:
        """dE/dz from dE/dy = grad_y; both (n_samples, n_units)."""
        return grad_y * self.derivative(y)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.forward(z)

    def params(self) -> dict:
        """The activation's own settings (saved with a model so it comes back the same)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """y = 1 / (1 + exp(-z)); y' = y (1 - y)  (tutorial formula 1)."""

    name = "sigmoid"

    def forward(self, z):
        # 0.5 (1 + tanh(z/2)) is the same function and never overflows, unlike exp(-z).
        return 0.5 * (1.0 + np.tanh(0.5 * _floating(z)))

    def derivative(self, y):
        return y * (1.0 - y)


class Tanh(Activation):
    """y = tanh(z); y' = 1 - y^2."""

    name = "tanh"

    def forward(self, z):
        return np.tanh(z)

    def derivative(self, y):
        return 1.0 - y * y


class ReLU(Activation):
    """y = max(0, z); y' = 1 where y > 0, else 0."""

    name = "relu"

    def forward(self, z):
        return np.maximum(z, 0)

    def derivative(self, y):
        return (y > 0).astype(y.dtype)

    def backward(self, y, grad_y):
        return np.where(y > 0, grad_y, 0).astype(grad_y.dtype, copy=False)


class LeakyReLU(Activation):
    """y = z for z > 0, alpha z otherwise; y' = 1 or alpha (the sign of y is the sign of z)."""

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01):
        if not 0 < alpha < 1:
            raise ValueError(f"leaky ReLU slope must be in (0, 1), got {alpha}")
        self.alpha = alpha

    def forward(self, z):
        return np.where(z > 0, z, self.alpha * z)

    def derivative(self, y):
        return np.where(y > 0, 1.0, self.alpha).astype(y.dtype)

    def params(self) -> dict:
        return {"alpha": self.alpha}

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class Identity(Activation):
    """y = z; y' = 1 (a linear output, for regression)."""

    name = "identity"

    def forward(self, z):
        return np.array(z, copy=True)

    def derivative(self, y):
        return np.ones_like(y)

    def backward(self, y, grad_y):
        return grad_y


class Softmax(Activation):
    """y_i = exp(z_i) / sum_k exp(z_k), row by row; for the output layer only.

    Its derivative is a matrix (dy_i/dz_j = y_i (delta_ij - y_j)), so ``derivative`` gives the
    diagonal and ``backward`` applies the whole Jacobian: dE/dz = y * (g - sum(g * y)).
    """

    name = "softmax"
    elementwise = False

    def forward(self, z):
        z = _floating(z)
        e = np.exp(z - z.max(axis=-1, keepdims=True))  # shift: exp never sees a positive number
        return e / e.sum(axis=-1, keepdims=True)

    def derivative(self, y):
        return y * (1.0 - y)

    def backward(self, y, grad_y):
        return y * (grad_y - np.sum(grad_y * y, axis=-1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softmax)
}


def get_activation(name: str | Activation, params: dict | None = None) -> Activation:
    """Return an activation instance for a registry name and its ``params`` (or pass an
    instance through)."""
    if isinstance(name, Activation):
        return name
    try:
        cls = ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
        ) from None
    try:
        return cls(**(params or {}))
    except TypeError:
        raise ValueError(f"activation {name!r} takes no settings {params!r}") from None
