"""Activation functions (tutorial formula 1 and friends), each with its derivative beside it.

Every activation gives its value ``forward(z)`` and its derivative computed *from its output*
``derivative(y)`` -- exactly as the tutorial writes sigmoid'(x) = y (1 - y).  ``backward(y, g)``
turns dE/dy into dE/dz; for the element-wise functions that is ``g * derivative(y)``, for
softmax it is the Jacobian-vector product.

Arrays follow one convention: rows are samples, ``z`` and ``y`` have shape (n_samples, n_units).
All functions are numerically stable for inputs of +-1000 in float32 and float64 (no overflow
warnings, no NaN or inf).

Each class is the one owner of what others need to know about it: its registry ``name``, its
settings (``params()``, saved with a model), the integer ``code`` of its branch in the compiled
kernels (``bpnn.fast._kernels``; None: no compiled branch), whether it belongs only to the output
layer (``output_only``), whether its derivative has a kink at 0 (``kink``: the gradient check
keeps inputs away from it), its ONNX form (``onnx_op``, or ``onnx`` for several nodes) and
whether its outputs are class probabilities already (``probability``; ``probabilities`` turns
outputs into them).
``HIDDEN_ACTIVATIONS`` and ``hidden_activation`` are built from those.

Not here: losses (``bpnn.losses``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "HIDDEN_ACTIVATIONS",
    "Activation",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "get_activation",
    "hidden_activation",
]


def _floating(z) -> np.ndarray:
    """z as a floating-point array (integers become float64)."""
    z = np.asarray(z)
    return z if z.dtype.kind == "f" else z.astype(np.float64)


class Activation:
    """Base class: an element-wise function f with f' expressed through y = f(z)."""

    name = "activation"
    code: int | None = None  # its branch in the compiled kernels (bpnn.fast._kernels)
    output_only = False  # True: only the output layer may use it (softmax)
    kink = False  # True: f' jumps at z = 0 (ReLU), so a central difference must stay away
    onnx_op: str | None = None  # the ONNX operator computing it; None: identity (no node)
    probability = False  # True: its outputs are class probabilities as they are (softmax)

    def forward(self, z: np.ndarray) -> np.ndarray:
        """y = f(z), element by element: z (n_samples, n_units) -> y, the same shape."""
        raise NotImplementedError

    def derivative(self, y: np.ndarray) -> np.ndarray:
        """dy/dz, computed from the output y (n_samples, n_units) -> the same shape."""
        raise NotImplementedError

    def backward(self, y: np.ndarray, grad_y: np.ndarray) -> np.ndarray:
        """dE/dz from dE/dy = grad_y; both (n_samples, n_units)."""
        return grad_y * self.derivative(y)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.forward(z)

    def params(self) -> dict:
        """The activation's own settings (saved with a model so it comes back the same); the
        compiled kernels take at most one, the first."""
        return {}

    def onnx_attrs(self) -> dict:
        """The attributes of its ONNX node (by default its settings, named as ONNX names them)."""
        return self.params()

    def onnx(self, op, x: str) -> str:
        """Add its ONNX nodes after tensor ``x`` (N, units); returns the output tensor's name.
        ``op(op_type, inputs, **attributes)`` adds one node and returns its output's name."""
        return op(self.onnx_op, [x], **self.onnx_attrs()) if self.onnx_op else x

    def probabilities(self, y: np.ndarray) -> np.ndarray:
        """Outputs y (n, k) as class probabilities (n, k) float64, each row summing to 1.

        Outputs that are not probabilities (sigmoid, say) are clipped at 0 and normalised by
        their sum, which ranks the classes as y does; a row of zeros becomes 1/k each.
        """
        y = np.clip(np.asarray(y, dtype=np.float64), 0, None)
        total = y.sum(axis=1, keepdims=True)
        return np.where(total > 0, y / np.where(total > 0, total, 1), 1 / y.shape[1])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


class Sigmoid(Activation):
    """y = 1 / (1 + exp(-z)); y' = y (1 - y)  (tutorial formula 1)."""

    name = "sigmoid"
    code = 0
    onnx_op = "Sigmoid"

    def forward(self, z):
        # formula 1: y = sigmoid(z) = 1 / (1 + exp(-z)); written 0.5 (1 + tanh(z/2)), the same
        # function, it never overflows, unlike exp(-z).
        return 0.5 * (1.0 + np.tanh(0.5 * _floating(z)))

    def derivative(self, y):
        return y * (1.0 - y)


class Tanh(Activation):
    """y = tanh(z); y' = 1 - y^2."""

    name = "tanh"
    code = 1
    onnx_op = "Tanh"

    def forward(self, z):
        return np.tanh(z)

    def derivative(self, y):
        return 1.0 - y * y


class ReLU(Activation):
    """y = max(0, z); y' = 1 where y > 0, else 0."""

    name = "relu"
    code = 2
    kink = True
    onnx_op = "Relu"

    def forward(self, z):
        return np.maximum(z, 0)

    def derivative(self, y):
        return (y > 0).astype(y.dtype)

    def backward(self, y, grad_y):
        return np.where(y > 0, grad_y, 0).astype(grad_y.dtype, copy=False)


class LeakyReLU(Activation):
    """y = z for z > 0, alpha z otherwise; y' = 1 or alpha (the sign of y is the sign of z)."""

    name = "leaky_relu"
    code = 3
    kink = True
    onnx_op = "LeakyRelu"

    def __init__(self, alpha: float = 0.01):
        if not 0 < alpha < 1:
            raise ValueError(f"leaky ReLU slope must be in (0, 1), got {alpha}")
        self.alpha = float(alpha)

    def forward(self, z):
        return np.where(z > 0, z, self.alpha * z)

    def derivative(self, y):
        return np.where(y > 0, 1.0, self.alpha).astype(y.dtype)

    def params(self) -> dict:
        return {"alpha": self.alpha}


class Identity(Activation):
    """y = z; y' = 1 (a linear output, for regression)."""

    name = "identity"
    code = 4

    def forward(self, z):
        return np.array(z, copy=True)

    def derivative(self, y):
        return np.ones_like(y)

    def backward(self, y, grad_y):
        return grad_y


class Softplus(Activation):
    """y = log(1 + exp(z)), a smooth ReLU; y' = sigmoid(z) = 1 - exp(-y)."""

    name = "softplus"
    code = 5

    def forward(self, z):
        z = _floating(z)
        # max(z, 0) + log(1 + exp(-|z|)): exp never sees a positive number
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))

    def derivative(self, y):
        # e^y = 1 + e^z, so sigmoid(z) = e^z / (1 + e^z) = 1 - e^-y (expm1 keeps small y exact)
        return -np.expm1(-y)

    def onnx(self, op, x):
        # ONNX Runtime runs its Softplus operator in float32 only; relu(z) - log(sigmoid(|z|))
        # is log(1 + e^z) too, in any dtype, and never overflows
        return op("Sub", [op("Relu", [x]), op("Log", [op("Sigmoid", [op("Abs", [x])])])])


class Softmax(Activation):
    """y_i = exp(z_i) / sum_k exp(z_k), row by row; for the output layer only.

    Its derivative is a matrix (dy_i/dz_j = y_i (delta_ij - y_j)): ``backward`` applies the whole
    Jacobian, dE/dz = y * (g - sum(g * y)); ``derivative`` refuses (an element-wise derivative
    would be only the diagonal, wrong for any use).  The compiled kernels have no softmax branch:
    cross-entropy computes it from the logits (``bpnn.losses``).
    """

    name = "softmax"
    output_only = True
    onnx_op = "Softmax"
    probability = True

    def forward(self, z):
        z = _floating(z)
        e = np.exp(z - z.max(axis=-1, keepdims=True))  # shift: exp never sees a positive number
        return e / e.sum(axis=-1, keepdims=True)

    def derivative(self, y):
        raise TypeError(
            "softmax has no element-wise derivative (its Jacobian is a matrix): use "
            "Softmax.backward(y, dE/dy), or softmax cross-entropy, whose delta is y - t"
        )

    def onnx_attrs(self) -> dict:
        return {"axis": 1}  # normalise each row (sample)

    def backward(self, y, grad_y):
        return y * (grad_y - np.sum(grad_y * y, axis=-1, keepdims=True))

    def probabilities(self, y):
        return np.asarray(y, dtype=np.float64)  # each row sums to 1 already


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softplus, Softmax)
}
HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(
    name for name, cls in ACTIVATIONS.items() if not cls.output_only
)


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


def hidden_activation(name: str | Activation, params: dict | None = None) -> Activation:
    """``get_activation`` for a hidden layer: an output-only activation (softmax) is refused."""
    act = get_activation(name, params)
    if act.output_only:
        raise ValueError(
            f"{act.name} is for the output layer only; choose another hidden activation: "
            f"{', '.join(HIDDEN_ACTIVATIONS)}"
        )
    return act
